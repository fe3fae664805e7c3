/**
 * @module One committed version of a zone in a compact in-memory form (issue 27's replica): each tree of
 * nodes (`stored-node.ts`: the main tree and the NSEC3 chain) is ONE byte array of nodes in canonical order
 * (RFC 4034 §6.1) and one offset per node, so a zone costs about its wire size plus a few octets per node,
 * not an object per record (a `StoredNode` with its `Name`, arrays and records is some 300 octets per record
 * in V8). A lookup is a binary search over the offsets, comparing sort keys in place, and decodes only the
 * node it hands out (and its neighbours): names and rdata are views into the array, nothing is copied.
 *
 * The lookups every store derives from (`locating-zone-store.ts`) are answered by {@link CompactZoneStore}, a
 * `LocatingZoneStore` whose hosts decide which zones exist and which version they hold (`findZone`, the
 * port-53 front's replica in `transfer-service/server/replica/`); the engine is the same code as the Worker's.
 *
 * A node in the array, in order: the sort key's length (u16, its top bit set when the owner follows) and the
 * sort key (`Name.sortKey()`, memcmp order is canonical order); only when the owner has upper-case letters,
 * the owner as stored (uncompressed wire name, the case the primary sent), since a lower-case owner is the
 * key read back (`ownerFromKey`); the number of records (u16); then each record as in a record stream
 * without its owner: type, class (u16), TTL (u32), RDLENGTH (u16), RDATA. Records are in the node order
 * `normalizeRecords` gives (type, then rdata).
 *
 * Runtime-neutral (no Node or Workers APIs), like the rest of `answer/`.
 */
import { compareBytes } from "../../dns/bytes.ts";
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { keyHasPrefix, wireSortKey, WireNameError } from "../../dns/sort-key.ts";
import { CLASS_AT, FIXED_FIELDS, RecordFrames, RecordStreamError, TYPE_AT } from "../../contract/record-stream.ts";
import { closestEncloserOf } from "../closest-encloser.ts";
import type { ClosestEncloser, ZoneInfo } from "../zone-store.ts";
import { groupIntoNodes, type NodesByTree } from "./canonical-nodes.ts";
import { LocatingZoneStore, type Neighbourhood } from "./locating-zone-store.ts";
import { addRecord, makeNode, RECORD_FIXED, recordListSize, sameRecord, treeOf, TREE_MAIN, TREE_NSEC3, writeRecordList } from "./stored-node.ts";
import type { OwnedRecord, StoredNode, StoredRecord, Tree } from "./stored-node.ts";

/** Fixed octets of a record after its owner: type, class, TTL, RDLENGTH. */
/** What a typed array or object costs besides its contents (V8, measured order of magnitude). */
const ARRAY_OVERHEAD = 64;
/** The key length's flag: the owner's own spelling follows the key. */
const OWNER_FOLLOWS = 0x8000;

/** True when a label has an ASCII upper-case letter (then the owner's spelling is kept beside the key). */
function hasUpper(name: Name): boolean {
  for (const label of name.labels) for (const b of label) if (b >= 0x41 && b <= 0x5a) return true;
  return false;
}

/** Octets of a node in the packed form. */
function nodeSize(node: StoredNode): number {
  return 2 + node.key.length + (hasUpper(node.name) ? node.name.wireLength : 0) + recordListSize(node.records);
}

/** Writes a node at `pos` (see the module comment); returns the offset past it. */
function writeNode(data: Uint8Array, view: DataView, pos: number, node: StoredNode): number {
  if (node.records.length > 0xffff) throw new RangeError(`${node.name} holds more than 65535 records`);
  const spelled = hasUpper(node.name);
  view.setUint16(pos, node.key.length | (spelled ? OWNER_FOLLOWS : 0));
  data.set(node.key, pos + 2);
  pos += 2 + node.key.length;
  if (spelled) {
    for (const label of node.name.labels) {
      data[pos++] = label.length;
      data.set(label, pos);
      pos += label.length;
    }
    data[pos++] = 0;
  }
  return writeRecordList(data, view, pos, node.records);
}

/** True when the wire name at [from, to) has an ASCII upper-case letter in a label. */
function hasUpperAt(buf: Uint8Array, from: number, to: number): boolean {
  for (let pos = from; pos < to - 1; pos += buf[pos]! + 1) {
    for (let i = pos + 1; i <= pos + buf[pos]!; i++) if (buf[i]! >= 0x41 && buf[i]! <= 0x5a) return true;
  }
  return false;
}

/**
 * The lower-case owner a sort key stands for (`dns/sort-key.ts`: labels root-first, each ended by 0x00, with
 * 0x00 and 0x01 escaped as 0x01 0x01 and 0x01 0x02). Labels without an escape are views into the key.
 */
function ownerFromKey(key: Uint8Array): Name {
  const labels: Uint8Array[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    if (b === 1) {
      escaped = true;
      i++;
    } else if (b === 0) {
      if (!escaped) labels.push(key.subarray(start, i));
      else {
        const out: number[] = [];
        for (let j = start; j < i; j++) out.push(key[j] === 1 ? key[++j]! - 1 : key[j]!);
        labels.push(Uint8Array.from(out));
      }
      start = i + 1;
      escaped = false;
    }
  }
  return Name.fromLabels(labels.reverse());
}

/** A changeset that does not fit the version it is applied to (the primary's history and ours differ). */
export class ChangesetMismatch extends Error {
  override readonly name = "ChangesetMismatch";
}

/** One tree of one zone version: nodes in canonical order, packed. Immutable once built. */
export class CompactTree {
  private readonly view: DataView;

  private constructor(
    /** The nodes, back to back (see the module comment). */
    readonly data: Uint8Array,
    /** `offsets[i]` is where node i starts; `offsets[count]` is the end. */
    readonly offsets: Uint32Array,
    /** Records held (the sum of every node's count). */
    readonly records: number,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  static readonly empty = new CompactTree(new Uint8Array(0), new Uint32Array(1), 0);

  /** A tree already packed (`CompactZone.fromStream`). */
  static packed(data: Uint8Array, offsets: Uint32Array, records: number): CompactTree {
    return new CompactTree(data, offsets, records);
  }

  /** Packs nodes that are already in canonical order with normalized records (`canonical-nodes.ts`). */
  static fromNodes(nodes: readonly StoredNode[]): CompactTree {
    if (nodes.length === 0) return CompactTree.empty;
    let size = 0;
    let records = 0;
    for (const node of nodes) {
      size += nodeSize(node);
      records += node.records.length;
    }
    const data = new Uint8Array(size);
    const view = new DataView(data.buffer);
    const offsets = new Uint32Array(nodes.length + 1);
    let pos = 0;
    for (let i = 0; i < nodes.length; i++) {
      offsets[i] = pos;
      pos = writeNode(data, view, pos, nodes[i]!);
    }
    offsets[nodes.length] = pos;
    return new CompactTree(data, offsets, records);
  }

  /**
   * A copy with `changed` nodes (in canonical order, each replacing the node of its key or added; one without
   * records removes it): the untouched nodes are copied as bytes, only the changed ones are encoded.
   */
  withNodes(changed: readonly StoredNode[]): CompactTree {
    const count = this.count;
    let size = 0;
    let nodes = 0;
    let records = this.records;
    // First pass: sizes.
    for (let i = 0, j = 0; i < count || j < changed.length; ) {
      const c = j < changed.length ? (i < count ? this.compareKey(i, changed[j]!.key) : 1) : -1;
      if (c < 0) {
        size += this.offsets[i + 1]! - this.offsets[i]!;
        nodes++;
        i++;
        continue;
      }
      const node = changed[j++]!;
      if (c === 0) {
        records -= this.recordsAt(i);
        i++;
      }
      if (node.records.length === 0) continue;
      size += nodeSize(node);
      records += node.records.length;
      nodes++;
    }
    if (nodes === 0) return CompactTree.empty;
    const data = new Uint8Array(size);
    const view = new DataView(data.buffer);
    const offsets = new Uint32Array(nodes + 1);
    let pos = 0;
    let k = 0;
    for (let i = 0, j = 0; i < count || j < changed.length; ) {
      const c = j < changed.length ? (i < count ? this.compareKey(i, changed[j]!.key) : 1) : -1;
      if (c < 0) {
        offsets[k++] = pos;
        data.set(this.data.subarray(this.offsets[i]!, this.offsets[i + 1]!), pos);
        pos += this.offsets[i + 1]! - this.offsets[i]!;
        i++;
        continue;
      }
      const node = changed[j++]!;
      if (c === 0) i++;
      if (node.records.length === 0) continue;
      offsets[k++] = pos;
      pos = writeNode(data, view, pos, node);
    }
    offsets[nodes] = pos;
    return new CompactTree(data, offsets, records);
  }

  /** The record count of node i. */
  private recordsAt(i: number): number {
    let pos = this.offsets[i]!;
    const keyField = this.view.getUint16(pos);
    pos += 2 + (keyField & ~OWNER_FOLLOWS);
    if ((keyField & OWNER_FOLLOWS) !== 0) {
      while (this.data[pos] !== 0) pos += this.data[pos]! + 1;
      pos++;
    }
    return this.view.getUint16(pos);
  }

  /** Nodes held. */
  get count(): number {
    return this.offsets.length - 1;
  }

  /** Octets held, the arrays' overhead included. */
  get bytes(): number {
    return this.data.byteLength + this.offsets.byteLength + 2 * ARRAY_OVERHEAD;
  }

  /** memcmp of node i's sort key against `key`, in place. */
  private compareKey(i: number, key: Uint8Array): number {
    const at = this.offsets[i]!;
    const len = this.view.getUint16(at) & ~OWNER_FOLLOWS;
    const data = this.data;
    const n = Math.min(len, key.length);
    for (let j = 0; j < n; j++) {
      const d = data[at + 2 + j]! - key[j]!;
      if (d !== 0) return d;
    }
    return len - key.length;
  }

  /**
   * Node index by sort key (open addressing, linear probing; index + 1, 0 = empty), built at the first exact
   * lookup of this version: most questions name a node that exists, and a hash probe touches a couple of
   * cache lines where the binary search over a large zone touches two (offset and key) per step, ~17 steps
   * for 100k nodes, each a cache miss on a busy machine. 8 octets a node.
   */
  private table: Int32Array | undefined;

  /** FNV-1a of a key's octets. */
  private static hash(key: Uint8Array, from: number, to: number): number {
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
    return h >>> 0;
  }

  /** Slots of the node index (a power of two, at least twice the nodes). */
  private get tableSlots(): number {
    let size = 16;
    while (size < this.count * 2) size *= 2;
    return size;
  }

  /** Octets of the node index once built (the main tree's is, at its first lookup). */
  get tableBytes(): number {
    return this.count === 0 ? 0 : this.tableSlots * 4 + ARRAY_OVERHEAD;
  }

  private buildTable(): Int32Array {
    const size = this.tableSlots;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.count; i++) {
      const at = this.offsets[i]!;
      const len = this.view.getUint16(at) & ~OWNER_FOLLOWS;
      let slot = CompactTree.hash(this.data, at + 2, at + 2 + len) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = i + 1;
    }
    return table;
  }

  /** The index of the node whose sort key is `key`, or -1: the same answer as `search(key)` when found. */
  find(key: Uint8Array): number {
    if (this.count === 0) return -1;
    const table = (this.table ??= this.buildTable());
    const mask = table.length - 1;
    for (let slot = CompactTree.hash(key, 0, key.length) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      if (this.compareKey(entry - 1, key) === 0) return entry - 1;
    }
  }

  /** Where `key` is or would be: the first node not below it, and whether it is `key`'s own. */
  search(key: Uint8Array): { index: number; found: boolean } {
    let lo = 0, hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareKey(mid, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: lo < this.count && this.compareKey(lo, key) === 0 };
  }

  /**
   * Node 0 decoded, kept: in the main tree that is the apex (every owner is at or below it, and an ancestor
   * sorts first), which nearly every answer reads (the walk down from the apex, the SOA of a negative answer).
   * The engine only reads nodes, so one decoded copy serves every query of this version.
   */
  private first: StoredNode | undefined;

  /** Node i, decoded: its name, key and rdata are views into the array. */
  node(i: number): StoredNode | null {
    if (i < 0 || i >= this.count) return null;
    if (i === 0) return (this.first ??= this.decode(0));
    return this.decode(i);
  }

  /** The owner of node i as stored (no records decoded): the closest encloser needs only the neighbours' names. */
  nameAt(i: number): Name | undefined {
    if (i < 0 || i >= this.count) return undefined;
    if (i === 0) return this.node(0)!.name;
    const data = this.data;
    const pos = this.offsets[i]!;
    const keyField = this.view.getUint16(pos);
    const keyLength = keyField & ~OWNER_FOLLOWS;
    if ((keyField & OWNER_FOLLOWS) === 0) return ownerFromKey(data.subarray(pos + 2, pos + 2 + keyLength));
    const labels: Uint8Array[] = [];
    for (let at = pos + 2 + keyLength, len = data[at]!; len !== 0; len = data[at]!) {
      labels.push(data.subarray(at + 1, at + 1 + len));
      at += len + 1;
    }
    return Name.fromLabels(labels);
  }

  private decode(i: number): StoredNode {
    const data = this.data;
    const view = this.view;
    let pos = this.offsets[i]!;
    const keyField = view.getUint16(pos);
    const keyLength = keyField & ~OWNER_FOLLOWS;
    const key = data.subarray(pos + 2, pos + 2 + keyLength);
    pos += 2 + keyLength;
    let name: Name;
    if ((keyField & OWNER_FOLLOWS) !== 0) {
      const labels: Uint8Array[] = [];
      for (let len = data[pos]!; len !== 0; len = data[pos]!) {
        labels.push(data.subarray(pos + 1, pos + 1 + len));
        pos += len + 1;
      }
      pos++;
      name = Name.fromLabels(labels);
    } else name = ownerFromKey(key);
    const count = view.getUint16(pos);
    pos += 2;
    const records: StoredRecord[] = new Array<StoredRecord>(count);
    for (let r = 0; r < count; r++) {
      const length = view.getUint16(pos + 8);
      records[r] = { type: view.getUint16(pos), class: view.getUint16(pos + 2), ttl: view.getUint32(pos + 4), rdata: data.subarray(pos + RECORD_FIXED, pos + RECORD_FIXED + length) };
      pos += RECORD_FIXED + length;
    }
    return { name, key, records };
  }

  /** The node at `key` and its canonical neighbours. */
  locate(key: Uint8Array): Neighbourhood {
    const { index, found } = this.search(key);
    return { match: found ? this.node(index) : null, before: this.node(index - 1), after: this.node(found ? index + 1 : index) };
  }

  last(): StoredNode | null {
    return this.node(this.count - 1);
  }

  /** Every node in canonical order (for copy-on-write changes and tests; allocates a node each). */
  *nodes(): IterableIterator<StoredNode> {
    for (let i = 0; i < this.count; i++) yield this.node(i)!;
  }
}

/** A zone's version, packed: both trees. */
export class CompactZone {
  private constructor(readonly trees: Readonly<Record<Tree, CompactTree>>) {}

  /** Groups and orders records as every store does (`canonical-nodes.ts`), then packs them. */
  static fromRecords(records: readonly OwnedRecord[]): CompactZone {
    return CompactZone.fromNodes(groupIntoNodes(records));
  }

  /**
   * Packs a record stream (`contract/record-stream.ts`, as `/internal/v1` sends a version) without an object
   * per record: records are indexed by offset with one sort key each, ordered (tree, owner, type, rdata,
   * class, then stream order: the first of two equal records keeps its TTL, the first record of an owner
   * gives its spelling, as `groupIntoNodes` does), and copied — a record after its owner is laid out in a
   * stream exactly as in a packed node.
   * @throws RecordStreamError for a malformed stream, an owner outside `apex`, more than `maxRecords`.
   */
  static fromStream(stream: Uint8Array, apex: Name, maxRecords = Number.MAX_SAFE_INTEGER): CompactZone {
    const apexKey = apex.sortKey().slice();
    const frames = new RecordFrames(stream);
    const keys: Uint8Array[] = [];
    let owners = new Uint32Array(1024);
    let bodies = new Uint32Array(1024);
    let ends = new Uint32Array(1024);
    let trees = new Uint8Array(1024);
    let n = 0;
    while (frames.next()) {
      if (n >= maxRecords) throw new RecordStreamError(`more than ${maxRecords} records`, frames.owner);
      let key: Uint8Array;
      try {
        key = wireSortKey(stream, frames.owner, frames.body).key;
      } catch (err) {
        if (err instanceof WireNameError) throw new RecordStreamError(err.message, frames.owner);
        throw err;
      }
      if (!keyHasPrefix(key, apexKey)) throw new RecordStreamError(`an owner is outside ${apex}`, frames.owner);
      if (n === owners.length) {
        const grow = <T extends Uint32Array | Uint8Array>(a: T, make: (size: number) => T): T => {
          const b = make(a.length * 2);
          b.set(a);
          return b;
        };
        owners = grow(owners, (k) => new Uint32Array(k));
        bodies = grow(bodies, (k) => new Uint32Array(k));
        ends = grow(ends, (k) => new Uint32Array(k));
        trees = grow(trees, (k) => new Uint8Array(k));
      }
      const type = frames.type;
      const at = frames.rdataAt;
      trees[n] = type === RRType.NSEC3 || (type === RRType.RRSIG && frames.end - at >= 2 && ((stream[at]! << 8) | stream[at + 1]!) === RRType.NSEC3) ? TREE_NSEC3 : TREE_MAIN;
      keys.push(key);
      owners[n] = frames.owner;
      bodies[n] = frames.body;
      ends[n] = frames.end;
      n++;
    }
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    const u16 = (at: number) => view.getUint16(at);
    /** Record order: tree, key, type, rdata, class, stream order (a stable sort of indices). */
    const compare = (a: number, b: number): number => {
      let c = trees[a]! - trees[b]! || compareBytes(keys[a]!, keys[b]!) || u16(bodies[a]! + TYPE_AT) - u16(bodies[b]! + TYPE_AT);
      if (c !== 0) return c;
      const ra = bodies[a]! + FIXED_FIELDS, rb = bodies[b]! + FIXED_FIELDS;
      const la = ends[a]! - ra, lb = ends[b]! - rb;
      const m = Math.min(la, lb);
      for (let i = 0; i < m; i++) {
        c = stream[ra + i]! - stream[rb + i]!;
        if (c !== 0) return c;
      }
      return la - lb || u16(bodies[a]! + CLASS_AT) - u16(bodies[b]! + CLASS_AT) || a - b;
    };
    const order = Array.from({ length: n }, (_, i) => i).sort(compare);
    /** Same record (type, class, rdata): the later one is dropped. */
    const same = (a: number, b: number): boolean => {
      if (ends[a]! - bodies[a]! !== ends[b]! - bodies[b]! || u16(bodies[a]! + TYPE_AT) !== u16(bodies[b]! + TYPE_AT) || u16(bodies[a]! + CLASS_AT) !== u16(bodies[b]! + CLASS_AT)) return false;
      for (let i = bodies[a]! + FIXED_FIELDS, j = bodies[b]! + FIXED_FIELDS; i < ends[a]!; i++, j++) if (stream[i] !== stream[j]) return false;
      return true;
    };
    const built: CompactTree[] = [];
    let i = 0;
    for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
      // Nodes of this tree: [start, end) ranges of `order`, duplicates marked by -1.
      const nodeStarts: number[] = [];
      let size = 0;
      let records = 0;
      while (i < n && trees[order[i]!] === tree) {
        const start = i;
        const key = keys[order[i]!]!;
        let first = order[i]!;
        let count = 0;
        let previous = -1;
        for (; i < n && trees[order[i]!] === tree && (i === start || compareBytes(keys[order[i]!]!, key) === 0); i++) {
          const r = order[i]!;
          // Equal records sort together, the earliest in the stream first: it is the one kept.
          if (previous >= 0 && same(previous, r)) {
            order[i] = -1 - r;
            continue;
          }
          previous = r;
          if (r < first) first = r;
          count++;
          size += ends[r]! - bodies[r]!;
        }
        if (count > 0xffff) throw new RangeError(`an owner holds more than 65535 records`);
        nodeStarts.push(start);
        // The owner's spelling: the first record of it in the stream (kept only when it has upper case).
        const spelled = hasUpperAt(stream, owners[first]!, bodies[first]!);
        size += 2 + key.length + (spelled ? bodies[first]! - owners[first]! : 0) + 2;
        records += count;
      }
      const end = i;
      if (nodeStarts.length === 0) {
        built.push(CompactTree.empty);
        continue;
      }
      const data = new Uint8Array(size);
      const out = new DataView(data.buffer);
      const offsets = new Uint32Array(nodeStarts.length + 1);
      let pos = 0;
      for (let k = 0; k < nodeStarts.length; k++) {
        const from = nodeStarts[k]!;
        const to = k + 1 < nodeStarts.length ? nodeStarts[k + 1]! : end;
        let first = Number.MAX_SAFE_INTEGER;
        let count = 0;
        for (let j = from; j < to; j++) {
          if (order[j]! < 0) continue;
          if (order[j]! < first) first = order[j]!;
          count++;
        }
        const key = keys[first]!;
        offsets[k] = pos;
        const spelled = hasUpperAt(stream, owners[first]!, bodies[first]!);
        out.setUint16(pos, key.length | (spelled ? OWNER_FOLLOWS : 0));
        data.set(key, pos + 2);
        pos += 2 + key.length;
        if (spelled) {
          data.set(stream.subarray(owners[first]!, bodies[first]!), pos);
          pos += bodies[first]! - owners[first]!;
        }
        out.setUint16(pos, count);
        pos += 2;
        for (let j = from; j < to; j++) {
          const r = order[j]!;
          if (r < 0) continue;
          data.set(stream.subarray(bodies[r]!, ends[r]!), pos);
          pos += ends[r]! - bodies[r]!;
        }
      }
      offsets[nodeStarts.length] = pos;
      built.push(CompactTree.packed(data, offsets, records));
    }
    return new CompactZone({ [TREE_MAIN]: built[0]!, [TREE_NSEC3]: built[1]! } as Record<Tree, CompactTree>);
  }

  /**
   * A new version: this one with IXFR changesets applied in order (RFC 1995 §4), copy-on-write — this version
   * is left as it is, and only the nodes the changesets touch are decoded and encoded again. The rules are the
   * Worker's (`workers/store/changeset-apply.ts`): a deletion must find its record (type, class, rdata), an
   * addition of a record already there only takes its TTL, a node left without records is gone.
   * @throws ChangesetMismatch for a deletion of a record this version does not have.
   */
  withChanges(changesets: ReadonlyArray<{ deletions: readonly OwnedRecord[]; additions: readonly OwnedRecord[] }>): CompactZone {
    const touched: [Map<string, StoredNode>, Map<string, StoredNode>] = [new Map(), new Map()];
    const nodeFor = (tree: Tree, name: Name, create: boolean): StoredNode | undefined => {
      const key = name.sortKey().slice();
      const id = String.fromCharCode(...key);
      let node = touched[tree].get(id);
      if (node) return node;
      const packed = this.trees[tree];
      const at = packed.search(key);
      if (at.found) {
        const old = packed.node(at.index)!;
        node = { name: old.name, key: old.key, records: [...old.records] };
      } else if (create) node = makeNode(name, []);
      else return undefined;
      touched[tree].set(id, node);
      return node;
    };
    for (const changeset of changesets) {
      for (const r of changeset.deletions) {
        const node = nodeFor(treeOf(r.type, r.rdata), r.name, false);
        const k = node ? node.records.findIndex((x) => sameRecord(x, r)) : -1;
        if (!node || k < 0) throw new ChangesetMismatch(`a changeset deletes ${r.name} type ${r.type}, which this version does not have`);
        node.records.splice(k, 1);
      }
      for (const r of changeset.additions) {
        addRecord(nodeFor(treeOf(r.type, r.rdata), r.name, true)!.records, r);
      }
    }
    const next = (tree: Tree): CompactTree => {
      const changed = [...touched[tree].values()].sort((a, b) => compareBytes(a.key, b.key));
      return changed.length === 0 ? this.trees[tree] : this.trees[tree].withNodes(changed);
    };
    return new CompactZone({ [TREE_MAIN]: next(TREE_MAIN), [TREE_NSEC3]: next(TREE_NSEC3) } as Record<Tree, CompactTree>);
  }

  /** The SOA serial at `apex`, or null when there is no single SOA there. */
  serial(apex: Name): number | null {
    const node = this.trees[TREE_MAIN].node(this.trees[TREE_MAIN].search(apex.sortKey()).index);
    if (!node || compareBytes(node.key, apex.sortKey()) !== 0) return null;
    const soas = node.records.filter((r) => r.type === RRType.SOA);
    if (soas.length !== 1) return null;
    const rdata = soas[0]!.rdata;
    if (rdata.length < 20) return null;
    return new DataView(rdata.buffer, rdata.byteOffset + rdata.length - 20, 4).getUint32(0);
  }

  static fromNodes(nodes: NodesByTree): CompactZone {
    return new CompactZone({ [TREE_MAIN]: CompactTree.fromNodes(nodes[TREE_MAIN]), [TREE_NSEC3]: CompactTree.fromNodes(nodes[TREE_NSEC3]) } as Record<Tree, CompactTree>);
  }

  get records(): number {
    return this.trees[TREE_MAIN].records + this.trees[TREE_NSEC3].records;
  }

  get bytes(): number {
    // The main tree's node index is built at its first lookup; counted from the start, so the bound holds.
    return this.trees[TREE_MAIN].bytes + this.trees[TREE_MAIN].tableBytes + this.trees[TREE_NSEC3].bytes + ARRAY_OVERHEAD;
  }
}

/**
 * The answer engine's store over compact zones. The host says which zone a name falls in and which packed
 * version that zone's `ZoneInfo` stands for (`zoneData`); every lookup is then a binary search in it.
 */
export abstract class CompactZoneStore extends LocatingZoneStore {
  /** The packed version `zone` (as `findZone` handed it out) stands for. */
  protected abstract zoneData(zone: ZoneInfo): CompactZone;

  async locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood> {
    return this.zoneData(zone).trees[tree].locate(name.sortKey());
  }

  async lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null> {
    return this.zoneData(zone).trees[tree].last();
  }

  // The two lookups that need one node of the neighbourhood decode only that one (the engine asks `node`
  // several times per answer: the apex's SOA and NS, glue, targets); the rest is `LocatingZoneStore`'s.
  override async node(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    const index = tree.find(name.sortKey());
    return index >= 0 ? tree.node(index) : null;
  }

  /**
   * `LocatingZoneStore`'s closest encloser without decoding what it does not use: the node itself when the
   * name has one; otherwise only the neighbours' names, and then the one node that is the encloser (when it
   * is not an empty non-terminal). Same result, object for object in what the engine reads.
   */
  override async closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser> {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    const key = name.sortKey();
    const exact = tree.find(key);
    if (exact >= 0) return { name, node: tree.node(exact) };
    const { index } = tree.search(key);
    const encloser = closestEncloserOf(name, zone.name, tree.nameAt(index - 1), tree.nameAt(index));
    const at = tree.find(encloser.sortKey());
    return { name: encloser, node: at >= 0 ? tree.node(at) : null };
  }

  override async predecessor(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    return tree.node(tree.search(name.sortKey()).index - 1);
  }
}
