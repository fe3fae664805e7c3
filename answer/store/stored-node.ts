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
 * Where `key` is or would be in `nodes` (sorted by key): the index of the first node whose key is not below
 * it, and whether that node is `key`'s own.
 */
export function nodeIndex(nodes: readonly StoredNode[], key: Uint8Array): { index: number; found: boolean } {
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
