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
import { RRType } from "../../constants.ts";
import type { Name } from "../../name.ts";
import type { ZoneRecord } from "../../zonefile/parser.ts";
import { canonicalFormOf } from "./canonical-order.ts";

/**
 * Octets as a string of char codes 0–255. Used both as the identity of canonical rdata and as the stored
 * form of rdata: a short string costs a fraction of a Uint8Array's ~200 octets of overhead, which matters
 * for a million records.
 */
function octetString(bytes: Uint8Array): string {
  if (bytes.length <= 0x2000) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x2000) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  return out;
}

function octetsOf(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The type an RRSIG rdata covers (its first two octets), or undefined for a too-short rdata. */
export function coveredType(rdata: Uint8Array): number | undefined {
  return rdata.length >= 2 ? (rdata[0]! << 8) | rdata[1]! : undefined;
}

/** Above this many records, a set also keeps a Map from key to position (most sets hold one or two). */
const INDEX_THRESHOLD = 8;

export class RRset {
  /**
   * Canonical rdata and rdata as received, as octet strings, side by side (arrays: a Map per set costs too
   * much). When the two are equal (no names, or names already lowercase), both slots hold one string.
   */
  private keys: string[] = [];
  private values: string[] = [];
  private index: Map<string, number> | undefined;
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
    return this.keys.length;
  }

  private keyOf(rdata: Uint8Array): string {
    return octetString(canonicalFormOf(this.type, rdata));
  }

  private find(key: string): number {
    if (this.index !== undefined) return this.index.get(key) ?? -1;
    return this.keys.indexOf(key);
  }

  /** Adds `rdata`; false when the set already holds that record. */
  add(rdata: Uint8Array, ttl: number): boolean {
    const canonical = canonicalFormOf(this.type, rdata);
    const key = octetString(canonical);
    if (this.find(key) >= 0) return false;
    if (this.keys.length === 0) this.ttl = ttl;
    else if (ttl !== this.ttl) this.ttlConflicts++;
    this.keys.push(key);
    this.values.push(canonical === rdata ? key : octetString(rdata));
    if (this.index !== undefined) this.index.set(key, this.keys.length - 1);
    else if (this.keys.length > INDEX_THRESHOLD) this.index = new Map(this.keys.map((k, i) => [k, i]));
    return true;
  }

  /** Removes the record with this (canonically equal) rdata; false when absent. */
  delete(rdata: Uint8Array): boolean {
    const at = this.find(this.keyOf(rdata));
    if (at < 0) return false;
    this.keys.splice(at, 1);
    this.values.splice(at, 1);
    this.index = this.keys.length > INDEX_THRESHOLD ? new Map(this.keys.map((k, i) => [k, i])) : undefined;
    return true;
  }

  has(rdata: Uint8Array): boolean {
    return this.find(this.keyOf(rdata)) >= 0;
  }

  /**
   * The rdatas in canonical order (RFC 4034 §6.3), as stored. The keys are canonical rdata as strings of
   * char codes 0–255, so string order is octet order, shorter prefix first.
   */
  rdatas(): Uint8Array[] {
    if (this.keys.length === 1) return [octetsOf(this.values[0]!)];
    const order = this.keys.map((_, i) => i);
    order.sort((a, b) => (this.keys[a]! < this.keys[b]! ? -1 : this.keys[a]! > this.keys[b]! ? 1 : 0));
    return order.map((i) => octetsOf(this.values[i]!));
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
