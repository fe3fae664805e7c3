/**
 * @module An RRset (RFC 2181 §5): the records sharing owner, class and type. RRSIGs are grouped by the
 * type they cover (RFC 4035 §2.2: each signs one RRset, and their TTLs follow that RRset's), so an RRSIG
 * "set" here is (owner, RRSIG, covered type).
 *
 * Two records are the same record when their canonical rdata is equal (RFC 4034 §6.3: names in rdata of
 * the RFC 4034 §6.2 types compare without case); an RRset never holds the same record twice (RFC 2181 §5).
 * Rdata bytes are kept exactly as first received.
 *
 * RFC 2181 §5.2 forbids different TTLs within an RRset; a set keeps the TTL of its first record, as BIND
 * does, and counts the records that disagreed so the caller can report them.
 */
import { RRType } from "../constants.ts";
import type { Name } from "../name.ts";
import type { ZoneRecord } from "../zonefile/parser.ts";
import { canonicalFormOf } from "./canonical-order.ts";

/** A string identifying canonical rdata, for Maps. */
function rdataKey(canonical: Uint8Array): string {
  let key = "";
  for (let i = 0; i < canonical.length; i += 0x2000) key += String.fromCharCode(...canonical.subarray(i, i + 0x2000));
  return key;
}

/** The type an RRSIG rdata covers (its first two octets), or undefined for a too-short rdata. */
export function coveredType(rdata: Uint8Array): number | undefined {
  return rdata.length >= 2 ? (rdata[0]! << 8) | rdata[1]! : undefined;
}

export class RRset {
  private readonly byKey = new Map<string, Uint8Array>();
  /** Records whose TTL differed from the set's (RFC 2181 §5.2). */
  ttlConflicts = 0;

  constructor(
    readonly name: Name,
    readonly type: number,
    readonly rrclass: number,
    public ttl: number,
    /** For an RRSIG set, the type its signatures cover. */
    readonly covered?: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Adds `rdata`; false when the set already holds that record. */
  add(rdata: Uint8Array, ttl: number): boolean {
    const key = rdataKey(canonicalFormOf(this.type, rdata));
    if (this.byKey.has(key)) return false;
    if (this.byKey.size === 0) this.ttl = ttl;
    else if (ttl !== this.ttl) this.ttlConflicts++;
    this.byKey.set(key, rdata);
    return true;
  }

  /** Removes the record with this (canonically equal) rdata; false when absent. */
  delete(rdata: Uint8Array): boolean {
    return this.byKey.delete(rdataKey(canonicalFormOf(this.type, rdata)));
  }

  has(rdata: Uint8Array): boolean {
    return this.byKey.has(rdataKey(canonicalFormOf(this.type, rdata)));
  }

  /**
   * The rdatas in canonical order (RFC 4034 §6.3), as stored. The keys are canonical rdata as strings of
   * char codes 0–255, so string order is octet order, shorter prefix first.
   */
  rdatas(): Uint8Array[] {
    const entries = [...this.byKey.entries()];
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return entries.map(([, rdata]) => rdata);
  }

  /** The set as records, in canonical order. */
  *records(): Generator<ZoneRecord> {
    for (const rdata of this.rdatas()) yield { name: this.name, type: this.type, class: this.rrclass, ttl: this.ttl, rdata };
  }

  /** Sort key within a node: type, and for RRSIG the covered type (which is also its rdata order). */
  get typeKey(): number {
    return this.type === RRType.RRSIG ? RRType.RRSIG * 0x10000 + (this.covered ?? 0) : this.type * 0x10000;
  }
}
