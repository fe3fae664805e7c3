/**
 * @module IXFR changesets (RFC 1995 §4) applied to the nodes they touch, once, for every holder of a version
 * (issue 28, session 10): the replica's compact zone (`compact-zone.ts` `withChanges`), the Worker's apply
 * through the overlay (`workers/store/changeset-apply.ts`), and the transfer-service computing the changed
 * nodes for the Worker from the replica that holds the IXFR's base version (`ixfrNodes`), so that the Worker
 * stores them without reading a block.
 *
 * The rules (`stored-node.ts` `addRecord`, `sameRecord`): changesets in order, each one's deletions before its
 * additions; a deletion must find its record (type, class, rdata), else the primary's history and ours differ
 * (`ChangesetMismatch`: "inconsistent", fall back to AXFR); an addition of a record already there only takes
 * its TTL; a node left without records is gone (a tombstone).
 *
 * The changed nodes travel to the Worker in this framing (`encodeChangedNodes`, `decodeChangedNodes`; one
 * entry per owner the changesets touch, sorted by tree, then sort key):
 *
 *   u8  format (1)
 *   per owner:
 *     u8  flags: bit 0 the tree (1: the NSEC3 chain), bit 1 unchanged (the changesets leave the owner as
 *         the base version had it: checked by the Worker, not written)
 *     owner name, uncompressed wire form, case as stored
 *     u16 record count (0: the owner is gone, or never was)
 *     per record: u16 type, u16 class, u32 ttl, u16 rdlength, rdata (the D1 block's node layout)
 *
 * Runtime-neutral (no Node or Workers APIs), like the rest of `answer/`.
 */
import { compareBytes } from "../../dns/bytes.ts";
import { Name } from "../../dns/name.ts";
import { EarliestExpiry } from "./rrsig-expiry.ts";
import { addRecord, makeNode, RECORD_FIXED, recordListSize, sameRecord, treeOf, TREE_MAIN, TREE_NSEC3, writeRecordList } from "./stored-node.ts";
import type { OwnedRecord, StoredNode, StoredRecord, Tree } from "./stored-node.ts";

/** One changeset's records: its deletions (the old SOA first), then its additions (the new SOA first). */
export interface ChangesetRecords {
  deletions: readonly OwnedRecord[];
  additions: readonly OwnedRecord[];
}

/** A changeset that does not fit the version it is applied to (the primary's history and ours differ). */
export class ChangesetMismatch extends Error {
  override readonly name = "ChangesetMismatch";
  constructor(
    message: string,
    /** The changeset (0-based) whose deletion found nothing, and the record it deletes. */
    readonly changeset: number,
    readonly record: OwnedRecord,
  ) {
    super(message);
  }
}

/** An owner the changesets touch: its node in the base version (null: none), and after every changeset. */
export interface TouchedOwner {
  tree: Tree;
  key: Uint8Array;
  before: StoredNode | null;
  /** The node after the changesets; no records: the owner is gone. Its records are a fresh array. */
  node: StoredNode;
}

/** The base version's node at `key` in `tree` (`name` is the owner as the changeset spells it), or null. */
export type NodeLookup = (tree: Tree, key: Uint8Array, name: Name) => StoredNode | null;

/** A sort key as a string, for a Map. */
function keyString(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/**
 * Applies `changesets` in order to the nodes they touch, each read once from the base version (`lookup`).
 * Returns every touched owner, sorted by tree then key, and the change in the version's record count.
 * @throws ChangesetMismatch for a deletion of a record the version (as changed so far) does not have.
 */
export function applyToNodes(lookup: NodeLookup, changesets: readonly ChangesetRecords[]): { owners: TouchedOwner[]; recordDelta: number } {
  const touched = new Map<string, TouchedOwner>();
  const at = (r: OwnedRecord): TouchedOwner => {
    const tree = treeOf(r.type, r.rdata);
    const key = r.name.sortKey();
    const id = `${tree}:${keyString(key)}`;
    let t = touched.get(id);
    if (t !== undefined) return t;
    const before = lookup(tree, key, r.name);
    const node = before ? { name: before.name, key, records: before.records.slice() } : makeNode(r.name, []);
    t = { tree, key, before, node };
    touched.set(id, t);
    return t;
  };
  let recordDelta = 0;
  changesets.forEach((changeset, i) => {
    for (const r of changeset.deletions) {
      const records = at(r).node.records;
      const k = records.findIndex((x) => sameRecord(x, r));
      if (k < 0) throw new ChangesetMismatch(`changeset ${i} deletes ${r.name} type ${r.type}, which the version does not have`, i, r);
      records.splice(k, 1);
      recordDelta--;
    }
    for (const r of changeset.additions) if (addRecord(at(r).node.records, r)) recordDelta++;
  });
  const owners = [...touched.values()].sort((a, b) => a.tree - b.tree || compareBytes(a.key, b.key));
  return { owners, recordDelta };
}

function sameRecords(a: readonly StoredRecord[], b: readonly StoredRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.type !== y.type || x.class !== y.class || x.ttl !== y.ttl || compareBytes(x.rdata, y.rdata) !== 0) return false;
  }
  return true;
}

/** Whether the changesets left the owner as it was (records in node order on both sides, so compared in turn). */
export function unchanged(owner: TouchedOwner): boolean {
  if (!owner.before) return owner.node.records.length === 0;
  return sameRecords(owner.before.records, owner.node.records);
}

/** The earliest RRSIG expiration (ms) among a node's records, or null. */
export function nodeExpiry(node: StoredNode | null, now = Date.now()): number | null {
  if (!node) return null;
  const expiry = new EarliestExpiry(now);
  for (const r of node.records) expiry.record(r.type, r.rdata);
  return expiry.ms;
}

// --- The framing of the changed nodes (see the module comment). ---

export const CHANGED_NODES_FORMAT = 1;
const FLAG_NSEC3 = 1;
const FLAG_UNCHANGED = 2;

/** One owner as the framing carries it. */
export interface ChangedNode {
  tree: Tree;
  /** The changesets leave the owner as it was (the Worker checks it and writes nothing for it). */
  unchanged: boolean;
  node: StoredNode;
}

/** A framing that cannot be read (the Worker answers 400 `bad-nodes` naming it). */
export class ChangedNodesError extends Error {
  override readonly name = "ChangedNodesError";
}

/** The framing of `nodes` (given in the order they are to travel). */
export function encodeChangedNodes(nodes: readonly ChangedNode[]): Uint8Array {
  let size = 1;
  for (const n of nodes) {
    if (n.node.records.length > 0xffff) throw new RangeError(`${n.node.name} holds more than 65535 records`);
    size += 1 + n.node.name.wireLength + recordListSize(n.node.records);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = CHANGED_NODES_FORMAT;
  let pos = 1;
  for (const n of nodes) {
    out[pos++] = (n.tree === TREE_NSEC3 ? FLAG_NSEC3 : 0) | (n.unchanged ? FLAG_UNCHANGED : 0);
    for (const label of n.node.name.labels) {
      out[pos++] = label.length;
      out.set(label, pos);
      pos += label.length;
    }
    out[pos++] = 0;
    pos = writeRecordList(out, view, pos, n.node.records);
  }
  return out;
}

/**
 * The owners of an {@link encodeChangedNodes} framing; names, records and rdata are views into `bytes`.
 * @throws ChangedNodesError naming the owner (by position) at fault.
 */
export function decodeChangedNodes(bytes: Uint8Array): ChangedNode[] {
  if (bytes.length < 1 || bytes[0] !== CHANGED_NODES_FORMAT) throw new ChangedNodesError(`not a changed-nodes framing (format octet ${bytes[0] ?? "missing"})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ChangedNode[] = [];
  let pos = 1;
  const need = (n: number, what: string) => {
    if (pos + n > bytes.length) throw new ChangedNodesError(`owner ${out.length}: cut short in its ${what}`);
  };
  while (pos < bytes.length) {
    const flags = bytes[pos++]!;
    if ((flags & ~(FLAG_NSEC3 | FLAG_UNCHANGED)) !== 0) throw new ChangedNodesError(`owner ${out.length}: unknown flags ${flags}`);
    const labels: Uint8Array[] = [];
    for (;;) {
      need(1, "name");
      const len = bytes[pos++]!;
      if (len === 0) break;
      if (len > 63) throw new ChangedNodesError(`owner ${out.length}: a label of ${len} octets (compressed or malformed name)`);
      need(len, "name");
      labels.push(bytes.subarray(pos, pos + len));
      pos += len;
    }
    let name: Name;
    try {
      name = Name.fromLabels(labels);
    } catch (err) {
      throw new ChangedNodesError(`owner ${out.length}: ${(err as Error).message}`);
    }
    need(2, "record count");
    const count = view.getUint16(pos);
    pos += 2;
    const records: StoredRecord[] = new Array<StoredRecord>(count);
    for (let r = 0; r < count; r++) {
      need(RECORD_FIXED, "records");
      const length = view.getUint16(pos + 8);
      need(RECORD_FIXED + length, "records");
      records[r] = { type: view.getUint16(pos), class: view.getUint16(pos + 2), ttl: view.getUint32(pos + 4), rdata: bytes.subarray(pos + RECORD_FIXED, pos + RECORD_FIXED + length) };
      pos += RECORD_FIXED + length;
    }
    out.push({ tree: (flags & FLAG_NSEC3) !== 0 ? TREE_NSEC3 : TREE_MAIN, unchanged: (flags & FLAG_UNCHANGED) !== 0, node: makeNode(name, records) });
  }
  return out;
}

// --- The service's side: the changed nodes from the version it holds. ---

/** A version the changed nodes are computed from: a lookup per owner, and a walk over every RRSIG expiration. */
export interface NodeSource {
  lookup: NodeLookup;
  /** The earliest RRSIG expiration (ms) over the version's nodes except those at `skip` (per tree, sort keys), or null. */
  earliestExcept(skip: readonly [readonly Uint8Array[], readonly Uint8Array[]], now: number): number | null;
}

/** What the Worker needs to store an IXFR's new version without reading a block. */
export interface IxfrNodes {
  /** Every touched owner, in the framing's order. */
  nodes: ChangedNode[];
  /** The change in the version's record count. */
  recordDelta: number;
  /** The earliest RRSIG expiration among the replaced owners' old nodes (the changed ones), or null. */
  replacedExpiry: number | null;
  /**
   * With `replacedExpiry` (a replaced node may have held the version's earliest RRSIG expiration: then the new
   * earliest may be later, and only the whole version says which): the new version's earliest, exactly.
   * Undefined without: the least of the old one and the changed nodes' is exact then.
   */
  earliestAfter?: number | null;
}

/**
 * The changed nodes of `changesets` applied to the version `source` holds, with what the Worker's earliest
 * RRSIG bookkeeping needs (see {@link IxfrNodes}).
 * @throws ChangesetMismatch as {@link applyToNodes}.
 */
export function ixfrNodes(source: NodeSource, changesets: readonly ChangesetRecords[], now = Date.now()): IxfrNodes {
  const { owners, recordDelta } = applyToNodes(source.lookup, changesets);
  const nodes: ChangedNode[] = [];
  let replacedExpiry: number | null = null;
  let newExpiry: number | null = null;
  const skip: [Uint8Array[], Uint8Array[]] = [[], []];
  for (const o of owners) {
    const same = unchanged(o);
    nodes.push({ tree: o.tree, unchanged: same, node: o.node });
    if (same) continue;
    skip[o.tree].push(o.key);
    const was = nodeExpiry(o.before, now);
    if (was !== null && (replacedExpiry === null || was < replacedExpiry)) replacedExpiry = was;
    const is = nodeExpiry(o.node, now);
    if (is !== null && (newExpiry === null || is < newExpiry)) newExpiry = is;
  }
  const out: IxfrNodes = { nodes, recordDelta, replacedExpiry };
  if (replacedExpiry !== null) {
    // Whether a replaced node held the earliest expiration is the Worker's to decide, with its own figure
    // (`changeset-apply.ts`); it then takes this one instead of reading blocks for it. One walk over the version.
    const rest = source.earliestExcept(skip, now);
    out.earliestAfter = rest === null ? newExpiry : newExpiry === null ? rest : Math.min(rest, newExpiry);
  }
  return out;
}
