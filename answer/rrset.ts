/**
 * @module RRsets (RFC 2181 §5): the records of one owner, class and type, carried together, with the RRSIGs
 * that cover them (RFC 4034 §3: an RRSIG belongs to the RRset of its Type Covered field). The engine moves
 * whole RRsets between sections and decides at the end whether their signatures go along (DO=1, RFC 4035
 * §3.1.1), so a lookup never has to be redone for DNSSEC.
 */
import { RRClass, RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import type { ZoneNode, ZoneRecord } from "./zone-store.ts";

export interface RRset {
  /** The owner as it is written in the answer: the query's spelling for the query name (case preserved). */
  name: Name;
  type: number;
  class: number;
  records: readonly ZoneRecord[];
  /** RRSIGs whose Type Covered is `type`; sent only with DO=1. */
  sigs: readonly ZoneRecord[];
}

/** RFC 4034 §3.1.1: the first two octets of RRSIG rdata name the type it covers. */
export function typeCovered(rrsig: ZoneRecord): number {
  return rrsig.rdata.length >= 2 ? (rrsig.rdata[0]! << 8) | rrsig.rdata[1]! : -1;
}

/** The RRset of `type` at `node` (class IN unless told), owned by `owner`; null when there is none. */
export function rrsetAt(node: ZoneNode, type: number, owner: Name = node.name, cls: number = RRClass.IN): RRset | null {
  const records: ZoneRecord[] = [];
  const sigs: ZoneRecord[] = [];
  for (const r of node.records) {
    if (r.class !== cls) continue;
    if (r.type === type) records.push(r);
    else if (r.type === RRType.RRSIG && typeCovered(r) === type) sigs.push(r);
  }
  return records.length > 0 ? { name: owner, type, class: cls, records, sigs } : null;
}

/**
 * Every RRset at `node`, in order of type, each with its RRSIGs. RRSIGs are not an RRset of their own here
 * (they ride with what they cover), except for a signature whose covered RRset is absent, which is kept as an
 * RRSIG RRset so that nothing stored is lost from an ANY answer.
 */
export function rrsetsAt(node: ZoneNode, owner: Name = node.name, cls: number = RRClass.IN): RRset[] {
  const types = new Set<number>();
  for (const r of node.records) if (r.class === cls && r.type !== RRType.RRSIG) types.add(r.type);
  const out: RRset[] = [];
  for (const type of [...types].sort((a, b) => a - b)) out.push(rrsetAt(node, type, owner, cls)!);
  const orphans = node.records.filter((r) => r.class === cls && r.type === RRType.RRSIG && !types.has(typeCovered(r)));
  if (orphans.length > 0) out.push({ name: owner, type: RRType.RRSIG, class: cls, records: orphans, sigs: [] });
  return out;
}

/** The RRset of RRSIG records at `node` itself (a query for type RRSIG): all of them, as stored. */
export function rrsigsAt(node: ZoneNode, owner: Name = node.name, cls: number = RRClass.IN): RRset | null {
  const records = node.records.filter((r) => r.class === cls && r.type === RRType.RRSIG);
  return records.length > 0 ? { name: owner, type: RRType.RRSIG, class: cls, records, sigs: [] } : null;
}

/** The smallest TTL in an RRset (RFC 2181 §5.2 wants them equal; a transfer may carry them unequal). */
export function minTtl(rrset: RRset): number {
  let ttl = Number.MAX_SAFE_INTEGER;
  for (const r of rrset.records) if (r.ttl < ttl) ttl = r.ttl;
  return ttl;
}
