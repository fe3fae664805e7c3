/**
 * @module The unit of storage: an owner name with all its records, and the canonical orders the store
 * keeps them in (RFC 4034 §6.1 for names, §6.3 for the records of a node).
 */
import { compareBytes } from "../../dns/bytes.ts";
import type { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";

/** One resource record without its owner (the node carries it). `rdata` is uncompressed wire form. */
export interface StoredRecord {
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

/** An owner name and its records, sorted by type and then rdata. */
export interface StoredNode {
  name: Name;
  /** `name.sortKey()`: memcmp order of keys is canonical order of names. */
  key: Uint8Array;
  records: StoredRecord[];
}

/** The main name tree, and the NSEC3 chain kept apart so its hash lookup is a predecessor lookup too. */
export const TREE_MAIN = 0;
export const TREE_NSEC3 = 1;
export type Tree = typeof TREE_MAIN | typeof TREE_NSEC3;

/**
 * NSEC3 records and the RRSIGs that cover them (type covered = first two octets of RRSIG rdata, RFC 4034
 * §3.1) live in the NSEC3 tree: RFC 5155 §7.1 hashed owners are not names of the zone for lookups.
 */
export function treeOf(type: number, rdata: Uint8Array): Tree {
  if (type === RRType.NSEC3) return TREE_NSEC3;
  if (type === RRType.RRSIG && rdata.length >= 2 && ((rdata[0]! << 8) | rdata[1]!) === RRType.NSEC3) return TREE_NSEC3;
  return TREE_MAIN;
}

/**
 * Where `key` is or would be in `nodes` (sorted by key; stored nodes, or anything keyed the same way, as the
 * overlay's entries): the index of the first node whose key is not below it, and whether that node is `key`'s own.
 */
export function nodeIndex(nodes: readonly { readonly key: Uint8Array }[], key: Uint8Array): { index: number; found: boolean } {
  let lo = 0, hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(nodes[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: lo < nodes.length && compareBytes(nodes[lo]!.key, key) === 0 };
}

/** Record order inside a node: type, then rdata octets (RFC 4034 §6.3 for an RRset), then class. */
export function compareRecords(a: StoredRecord, b: StoredRecord): number {
  return a.type - b.type || compareBytes(a.rdata, b.rdata) || a.class - b.class;
}

export function sameRecord(a: StoredRecord, b: StoredRecord): boolean {
  return a.type === b.type && a.class === b.class && compareBytes(a.rdata, b.rdata) === 0;
}

/** Sorts records in place and drops exact duplicates (same type, class and rdata; the first TTL wins). */
export function normalizeRecords(records: StoredRecord[]): StoredRecord[] {
  records.sort(compareRecords);
  let w = 0;
  for (let r = 0; r < records.length; r++) {
    if (w > 0 && sameRecord(records[w - 1]!, records[r]!)) continue;
    records[w++] = records[r]!;
  }
  records.length = w;
  return records;
}

export function makeNode(name: Name, records: StoredRecord[]): StoredNode {
  return { name, key: name.sortKey(), records };
}

/** A record with its owner, as it travels in a record stream (the contract's `StreamRecord`). */
export interface OwnedRecord extends StoredRecord {
  name: Name;
}

/** The fixed part of a record in a node's record list: type, class (u16), TTL (u32), RDLENGTH (u16). */
export const RECORD_FIXED = 10;

/**
 * Octets of a node's record list as both packed forms hold it (the D1 block, `workers/store/block-codec.ts`,
 * and the replica's compact zone, `compact-zone.ts`): a u16 count, then each record as in a record stream
 * without its owner.
 */
export function recordListSize(records: readonly StoredRecord[]): number {
  let n = 2;
  for (const r of records) n += RECORD_FIXED + r.rdata.length;
  return n;
}

/** Writes a record list (see `recordListSize`) at `pos`; returns the offset past it. */
export function writeRecordList(out: Uint8Array, view: DataView, pos: number, records: readonly StoredRecord[]): number {
  view.setUint16(pos, records.length);
  pos += 2;
  for (const r of records) {
    view.setUint16(pos, r.type);
    view.setUint16(pos + 2, r.class);
    view.setUint32(pos + 4, r.ttl);
    view.setUint16(pos + 8, r.rdata.length);
    out.set(r.rdata, pos + RECORD_FIXED);
    pos += RECORD_FIXED + r.rdata.length;
  }
  return pos;
}

/**
 * An IXFR addition applied to a node's records (RFC 1995), by the Worker's changesets and the replica alike: a
 * record already there (same type, class and rdata) takes the new TTL; otherwise it is added and the records
 * put back in node order. True when the node gained a record.
 */
export function addRecord(records: StoredRecord[], r: StoredRecord): boolean {
  const record = { type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata };
  const k = records.findIndex((x) => sameRecord(x, r));
  if (k >= 0) {
    records[k] = record;
    return false;
  }
  records.push(record);
  normalizeRecords(records);
  return true;
}
