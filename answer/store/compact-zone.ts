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
import { compareBytes, isResizable, resizableBuffer, type ResizableBuffer } from "../../dns/bytes.ts";
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import { CLASS_AT, encodeRecordStream, FIXED_FIELDS, RecordFrames, RecordStreamError, TYPE_AT } from "../../contract/record-stream.ts";
import { closestEncloserOf } from "../closest-encloser.ts";
import type { ClosestEncloser, ZoneInfo } from "../zone-store.ts";
import { groupIntoNodes, type NodesByTree } from "./canonical-nodes.ts";
import { LocatingZoneStore, type Neighbourhood } from "./locating-zone-store.ts";
import { applyToNodes } from "./changed-nodes.ts";
import type { NodeSource } from "./changed-nodes.ts";
import { EarliestExpiry, resolveSignatureTime } from "./rrsig-expiry.ts";
import { compareRecords, RECORD_FIXED, recordListSize, TREE_MAIN, TREE_NSEC3, writeRecordList } from "./stored-node.ts";
import type { OwnedRecord, StoredNode, StoredRecord, Tree } from "./stored-node.ts";

/** Fixed octets of a record after its owner: type, class, TTL, RDLENGTH. */
/** What a typed array or object costs besides its contents (V8, measured order of magnitude). */
const ARRAY_OVERHEAD = 64;
/** Packed pieces a `CompactZoneBuilder` holds before it merges them into one. */
const MAX_RUNS = 512;
/** The first word of a replica snapshot (`CompactZone.toParts`): "BSZ1". */
const SNAPSHOT_MAGIC = 0x315a5342;
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

/** Scratch for `writeSortKey`'s label offsets. */
const labelStarts = new Int32Array(128);

/** Whether the name `writeSortKey` last wrote had an ASCII upper-case letter (its spelling is then kept). */
let sortKeyHadUpper = false;

/**
 * The sort key (`dns/sort-key.ts`: labels root-first, lower case, 0x00 and 0x01 escaped, each ended by 0x00)
 * of the checked, uncompressed wire name at `at`, written into `out` at `to`; its length, or -1 past 127 labels.
 * Whether the name had upper case is left in `sortKeyHadUpper`, which spares a caller a second walk over it.
 */
function writeSortKey(buf: Uint8Array, at: number, out: Uint8Array, to: number): number {
  let labels = 0;
  for (let pos = at; buf[pos]! !== 0; pos += buf[pos]! + 1) {
    if (labels === 128) return -1;
    labelStarts[labels++] = pos;
  }
  let k = to;
  let upper = false;
  for (let l = labels - 1; l >= 0; l--) {
    const start = labelStarts[l]!;
    const end = start + buf[start]!;
    for (let i = start + 1; i <= end; i++) {
      let b = buf[i]!;
      if (b >= 0x41 && b <= 0x5a) {
        b |= 0x20;
        upper = true;
      }
      if (b <= 1) {
        out[k++] = 1;
        out[k++] = b + 1;
      } else out[k++] = b;
    }
    out[k++] = 0;
  }
  sortKeyHadUpper = upper;
  return k - to;
}

/**
 * Octets [from, to) of `data` as a view: the same as `data.subarray(from, to)`, made by the constructor, which
 * skips subarray's species lookup (about half the cost per view; a node decode makes several, issue 27).
 */
function viewOf(data: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + from, to - from);
}

/** True when `buf` holds `prefix` at `at`. */
function sameBytes(buf: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** True when `length` octets at `a` and at `b` of `buf` are the same. */
function sameOctets(buf: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
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
      if (!escaped) labels.push(viewOf(key, start, i));
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

// Issue 28 (session 10): the changesets' rules live in `changed-nodes.ts`, shared with the Worker and the service.
export { ChangesetMismatch } from "./changed-nodes.ts";

/**
 * The nodes of one tree version with the earliest RRSIG expirations (issue 28, session 11), so that "the earliest
 * expiration but at these nodes" (`CompactZone.nodeSource`, asked for nearly every IXFR of a signed zone) costs
 * in proportion to the change, not a walk over the version's every record (20-27 ms on 1M records). Built by one
 * walk when first asked, then carried through `withNodes` (the changed nodes out, theirs in when below `bound`).
 * Exact: every node whose earliest expiration is below `bound` is listed, so the least listed one that is not
 * skipped is the answer; only when every listed node is skipped is the version walked again.
 */
interface LowExpiries {
  /** The moment (s since the epoch) the wire times were read against (RFC 4034 §3.1.5). */
  readonly nowSeconds: number;
  /** Every node whose earliest expiration (s) is below this is listed; Infinity: every node with an RRSIG is. */
  readonly bound: number;
  /** The listed nodes' sort keys (`keyString`), by their earliest expiration, ascending. */
  readonly keys: readonly string[];
  /** Their earliest expirations (s), in the same order. */
  readonly times: Float64Array;
  /**
   * No RRSIG of the tree expires before `lo` or after `hi` (s; removals leave them as bounds): while the moment
   * asked for is within 2^31 s of both, every wire time reads as it did at `nowSeconds` (RFC 1982).
   */
  readonly lo: number;
  readonly hi: number;
}

const TWO_31 = 2 ** 31;
/** Offset of the expiration in RRSIG rdata: type covered (2), algorithm (1), labels (1), original TTL (4). */
const RRSIG_EXPIRATION_AT = 8;

/** A sort key as a string, for a Set or Map. */
function keyString(key: Uint8Array, from = 0, to = key.length): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/** Whether the times of `low` read the same at `nowSeconds` (see `LowExpiries.lo`). */
function readsAlike(low: LowExpiries, nowSeconds: number): boolean {
  return low.lo > low.hi || (low.lo >= nowSeconds - TWO_31 && low.hi < nowSeconds + TWO_31);
}

/** The least and greatest RRSIG expiration (s) among a decoded node's records, read at `nowSeconds`; null without. */
function nodeTimes(node: StoredNode, nowSeconds: number): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const r of node.records) {
    if (r.type !== RRType.RRSIG || r.rdata.length < RRSIG_EXPIRATION_AT + 8) continue;
    const t = resolveSignatureTime(new DataView(r.rdata.buffer, r.rdata.byteOffset, r.rdata.byteLength).getUint32(RRSIG_EXPIRATION_AT), nowSeconds);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return lo === Infinity ? null : [lo, hi];
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
   * records removes it): only the changed nodes are encoded. Each is placed by a binary search, and the
   * untouched nodes between two of them are copied as one run of bytes with their offsets shifted, so an IXFR
   * of 1,000 changes on a million nodes costs a copy of the tree and 1,000 searches, not a comparison and a
   * view per node (issue 27: ~0.2-0.8 s per such IXFR before, in the process that answers port 53).
   */
  withNodes(changed: readonly StoredNode[]): CompactTree {
    const count = this.count;
    const offsets = this.offsets;
    // Where each changed node goes: the first stored node at or after its key, and whether it replaces it.
    const at = new Int32Array(changed.length);
    const replaces = new Uint8Array(changed.length);
    let size = offsets[count]! - offsets[0]!;
    let nodes = count;
    let records = this.records;
    for (let j = 0; j < changed.length; j++) {
      const node = changed[j]!;
      const { index, found } = this.search(node.key);
      at[j] = index;
      if (found) {
        replaces[j] = 1;
        size -= offsets[index + 1]! - offsets[index]!;
        records -= this.recordsAt(index);
        nodes--;
      }
      if (node.records.length === 0) continue;
      size += nodeSize(node);
      records += node.records.length;
      nodes++;
    }
    if (nodes === 0) return CompactTree.empty;
    const data = new Uint8Array(size);
    const view = new DataView(data.buffer);
    const out = new Uint32Array(nodes + 1);
    let pos = 0;
    let k = 0;
    /** Copies the stored nodes [from, to) as one run. */
    const run = (from: number, to: number): void => {
      if (to <= from) return;
      const start = offsets[from]!;
      const end = offsets[to]!;
      data.set(this.data.subarray(start, end), pos);
      const shift = pos - start;
      for (let i = from; i < to; i++) out[k++] = offsets[i]! + shift;
      pos += end - start;
    };
    let i = 0;
    for (let j = 0; j < changed.length; j++) {
      run(i, at[j]!);
      i = Math.max(i, at[j]! + replaces[j]!);
      const node = changed[j]!;
      if (node.records.length === 0) continue;
      out[k++] = pos;
      pos = writeNode(data, view, pos, node);
    }
    run(i, count);
    out[nodes] = pos;
    const next = new CompactTree(data, out, records);
    if (this.low !== undefined) next.low = CompactTree.lowAfter(this.low, changed);
    return next;
  }

  /** The record count of node i. */
  private recordsAt(i: number): number {
    return this.view.getUint16(this.countAt(this.offsets[i]!));
  }

  /** Where the record count of the node starting at `pos` is: past its key and, when spelled apart, its owner. */
  private countAt(pos: number): number {
    const keyField = this.view.getUint16(pos);
    pos += 2 + (keyField & ~OWNER_FOLLOWS);
    if ((keyField & OWNER_FOLLOWS) !== 0) {
      while (this.data[pos] !== 0) pos += this.data[pos]! + 1;
      pos++;
    }
    return pos;
  }

  /**
   * The earliest expirations of this version (`LowExpiries`), once built or carried from the version before.
   * Issue 28, session 11.
   */
  private low: LowExpiries | undefined;

  /** How many nodes `LowExpiries` lists at most (a test lowers it to reach the walk). */
  private static lowListed = 4096;
  /** Walks over a whole tree for its expirations, since the process started (a test counts them). */
  private static expiryWalks = 0;

  /**
   * The earliest RRSIG expiration (ms since the epoch) over this tree's nodes but those at `skip` (sort keys),
   * read at `nowMs`, or null when none holds an RRSIG. From `LowExpiries`: a look at the few nodes that hold the
   * earliest ones, not a walk, unless the skipped nodes hold every node listed.
   */
  expiriesExcept(skip: readonly Uint8Array[], nowMs: number): number | null {
    const nowSeconds = Math.floor(nowMs / 1000);
    let low = this.low;
    if (low === undefined || !readsAlike(low, nowSeconds)) low = this.low = this.lowExpiries(nowSeconds);
    const skipped = new Set<string>();
    for (const key of skip) skipped.add(keyString(key));
    const least = (from: LowExpiries): number | null | undefined => {
      for (let j = 0; j < from.keys.length; j++) if (!skipped.has(from.keys[j]!)) return from.times[j]! * 1000;
      return from.bound === Infinity ? null : undefined;
    };
    let ms = least(low);
    // Every listed node is skipped (the IXFRs since the list was made replaced them all): list this version's
    // earliest again, one walk, and look once more.
    if (ms === undefined && low.keys.length < CompactTree.lowListed) {
      low = this.low = this.lowExpiries(nowSeconds);
      ms = least(low);
    }
    if (ms !== undefined) return ms;
    // Still: this IXFR replaces more nodes than are listed, all of them among the earliest (rare). A walk.
    CompactTree.expiryWalks++;
    const expiry = new EarliestExpiry(nowMs);
    const data = this.data;
    const view = this.view;
    for (let i = 0; i < this.count; i++) {
      const at = this.offsets[i]!;
      if (skipped.size > 0 && skipped.has(keyString(data, at + 2, at + 2 + (view.getUint16(at) & ~OWNER_FOLLOWS)))) continue;
      let pos = this.countAt(at);
      const n = view.getUint16(pos);
      pos += 2;
      for (let r = 0; r < n; r++) {
        expiry.recordAt(view, pos);
        pos += RECORD_FIXED + view.getUint16(pos + 8);
      }
    }
    return expiry.ms;
  }

  /**
   * One walk over the tree: the `lowListed` nodes with the earliest expirations (a max-heap while walking), read
   * at `nowSeconds`.
   */
  private lowExpiries(nowSeconds: number): LowExpiries {
    CompactTree.expiryWalks++;
    const size = CompactTree.lowListed;
    const heapTimes = new Float64Array(size);
    const heapNodes = new Int32Array(size);
    let held = 0;
    let lo = Infinity, hi = -Infinity;
    const data = this.data;
    const view = this.view;
    for (let i = 0; i < this.count; i++) {
      let pos = this.countAt(this.offsets[i]!);
      const n = view.getUint16(pos);
      pos += 2;
      let least = Infinity;
      for (let r = 0; r < n; r++) {
        const length = view.getUint16(pos + 8);
        if (view.getUint16(pos) === RRType.RRSIG && length >= RRSIG_EXPIRATION_AT + 8) {
          const t = resolveSignatureTime(view.getUint32(pos + RECORD_FIXED + RRSIG_EXPIRATION_AT), nowSeconds);
          if (t < least) least = t;
          if (t > hi) hi = t;
        }
        pos += RECORD_FIXED + length;
      }
      if (least === Infinity) continue;
      if (least < lo) lo = least;
      if (held < size) {
        // Sift up.
        let c = held++;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (heapTimes[p]! >= least) break;
          heapTimes[c] = heapTimes[p]!;
          heapNodes[c] = heapNodes[p]!;
          c = p;
        }
        heapTimes[c] = least;
        heapNodes[c] = i;
      } else if (least < heapTimes[0]!) {
        // Replace the greatest, sift down.
        let c = 0;
        for (;;) {
          let m = 2 * c + 1;
          if (m >= held) break;
          if (m + 1 < held && heapTimes[m + 1]! > heapTimes[m]!) m++;
          if (heapTimes[m]! <= least) break;
          heapTimes[c] = heapTimes[m]!;
          heapNodes[c] = heapNodes[m]!;
          c = m;
        }
        heapTimes[c] = least;
        heapNodes[c] = i;
      }
    }
    // Full: a node left out had an expiration at or after the greatest kept (the heap's top), none before it.
    const bound = held < size ? Infinity : heapTimes[0]!;
    const order = Array.from({ length: held }, (_, k) => k).sort((a, b) => heapTimes[a]! - heapTimes[b]!);
    const keys = order.map((k) => {
      const at = this.offsets[heapNodes[k]!]!;
      return keyString(data, at + 2, at + 2 + (view.getUint16(at) & ~OWNER_FOLLOWS));
    });
    return { nowSeconds, bound, keys, times: Float64Array.from(order, (k) => heapTimes[k]!), lo, hi };
  }

  /** `low` with the `changed` nodes (decoded, as `withNodes` takes them) replacing theirs: the version after. */
  private static lowAfter(low: LowExpiries, changed: readonly StoredNode[]): LowExpiries {
    const out = new Set<string>();
    const added: { key: string; time: number }[] = [];
    let lo = low.lo, hi = low.hi;
    for (const node of changed) {
      const key = keyString(node.key);
      out.add(key);
      const times = nodeTimes(node, low.nowSeconds);
      if (times === null) continue;
      if (times[0] < lo) lo = times[0];
      if (times[1] > hi) hi = times[1];
      if (times[0] < low.bound) added.push({ key, time: times[0] });
    }
    added.sort((a, b) => a.time - b.time);
    const keys: string[] = [];
    const times: number[] = [];
    let a = 0;
    for (let j = 0; j < low.keys.length; j++) {
      const key = low.keys[j]!;
      if (out.has(key)) continue;
      const time = low.times[j]!;
      for (; a < added.length && added[a]!.time < time; a++) {
        keys.push(added[a]!.key);
        times.push(added[a]!.time);
      }
      keys.push(key);
      times.push(time);
    }
    for (; a < added.length; a++) {
      keys.push(added[a]!.key);
      times.push(added[a]!.time);
    }
    return { nowSeconds: low.nowSeconds, bound: low.bound, keys, times: Float64Array.from(times), lo, hi };
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
    return this.compareKeyAt(this.offsets[i]!, key);
  }

  /** memcmp of the sort key of the node starting at `at` against `key`, in place. */
  private compareKeyAt(at: number, key: Uint8Array): number {
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
   * Node index by sort key (open addressing, linear probing), built at the first exact lookup of this version:
   * most questions name a node that exists, and a hash probe touches a couple of cache lines where the binary
   * search over a large zone touches two (offset and key) per step, ~17 steps for 100k nodes, each a cache
   * miss on a busy machine. A slot holds the node's offset in `data` + 1 (0 = empty), so a probe reads the
   * slot and then the node's key, not the offsets array in between: one dependent cache miss fewer per exact
   * lookup (issue 27, session 9). 8 octets a node.
   */
  private table: Uint32Array | undefined;

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

  private buildTable(): Uint32Array {
    const size = this.tableSlots;
    const table = new Uint32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.count; i++) {
      const at = this.offsets[i]!;
      const len = this.view.getUint16(at) & ~OWNER_FOLLOWS;
      let slot = CompactTree.hash(this.data, at + 2, at + 2 + len) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = at + 1;
    }
    return table;
  }

  /**
   * Where the node whose sort key is `key` starts in `data` (for `nodeAt`), or -1: `offsets[search(key).index]`
   * when found.
   */
  findOffset(key: Uint8Array): number {
    if (this.count === 0) return -1;
    const table = (this.table ??= this.buildTable());
    const mask = table.length - 1;
    for (let slot = CompactTree.hash(key, 0, key.length) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      if (this.compareKeyAt(entry - 1, key) === 0) return entry - 1;
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
    if (i === 0) return (this.first ??= this.decode(this.offsets[0]!));
    return this.decode(this.offsets[i]!);
  }

  /** The node starting at `offset` in `data` (as `findOffset` gives it), decoded; or null for -1. */
  nodeAt(offset: number): StoredNode | null {
    if (offset < 0) return null;
    if (offset === this.offsets[0]) return (this.first ??= this.decode(offset));
    return this.decode(offset);
  }

  /** The owner of node i as stored (no records decoded): the closest encloser needs only the neighbours' names. */
  nameAt(i: number): Name | undefined {
    if (i < 0 || i >= this.count) return undefined;
    if (i === 0) return this.node(0)!.name;
    const data = this.data;
    const pos = this.offsets[i]!;
    const keyField = this.view.getUint16(pos);
    const keyLength = keyField & ~OWNER_FOLLOWS;
    if ((keyField & OWNER_FOLLOWS) === 0) return ownerFromKey(viewOf(data, pos + 2, pos + 2 + keyLength));
    const labels: Uint8Array[] = [];
    for (let at = pos + 2 + keyLength, len = data[at]!; len !== 0; len = data[at]!) {
      labels.push(viewOf(data, at + 1, at + 1 + len));
      at += len + 1;
    }
    return Name.fromLabels(labels);
  }

  /** The node starting at `pos`, decoded. */
  private decode(pos: number): StoredNode {
    const data = this.data;
    const view = this.view;
    const keyField = view.getUint16(pos);
    const keyLength = keyField & ~OWNER_FOLLOWS;
    const key = viewOf(data, pos + 2, pos + 2 + keyLength);
    pos += 2 + keyLength;
    let name: Name;
    if ((keyField & OWNER_FOLLOWS) !== 0) {
      const labels: Uint8Array[] = [];
      for (let len = data[pos]!; len !== 0; len = data[pos]!) {
        labels.push(viewOf(data, pos + 1, pos + 1 + len));
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
      records[r] = { type: view.getUint16(pos), class: view.getUint16(pos + 2), ttl: view.getUint32(pos + 4), rdata: viewOf(data, pos + RECORD_FIXED, pos + RECORD_FIXED + length) };
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

  /** The sort key of node i, a view into the array (this module's builders). */
  keyAt(i: number): Uint8Array {
    const at = this.offsets[i]!;
    return this.data.subarray(at + 2, at + 2 + (this.view.getUint16(at) & ~OWNER_FOLLOWS));
  }

  /**
   * The nodes of every tree in one (`CompactZoneBuilder.finish`): `trees` in stream order, so a node several
   * have takes the earliest one's spelling and, of equal records, its TTL (as `fromStream`). A k-way merge over the
   * trees' heads: a run of nodes below every other head is copied as bytes at once (a primary that sends in
   * canonical order makes it one copy per tree), so no intermediate merge is ever made.
   */
  static mergeAll(trees: readonly CompactTree[]): CompactTree {
    const live = trees.filter((t) => t.count > 0);
    if (live.length <= 1) return live[0] ?? CompactTree.empty;
    let size = 0;
    let count = 0;
    let records = 0;
    for (const t of live) {
      size += t.data.length;
      count += t.count;
      records += t.records;
    }
    let data = new Uint8Array(size);
    const view = new DataView(data.buffer);
    let offsets = new Uint32Array(count + 1);
    let pos = 0;
    let k = 0;
    const at = new Array<number>(live.length).fill(0);
    // A binary heap of tree indices by head key, then by index (stream order).
    const heap: number[] = [];
    const less = (x: number, y: number): boolean => {
      const c = compareBytes(live[x]!.keyAt(at[x]!), live[y]!.keyAt(at[y]!));
      return c < 0 || (c === 0 && x < y);
    };
    const push = (x: number): void => {
      let i = heap.push(x) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    };
    const pop = (): number => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      return top;
    };
    for (let x = 0; x < live.length; x++) push(x);
    while (heap.length > 0) {
      const x = pop();
      const t = live[x]!;
      const key = t.keyAt(at[x]!);
      if (heap.length > 0 && compareBytes(live[heap[0]!]!.keyAt(at[heap[0]!]!), key) === 0) {
        // One owner in several trees: its records merged, the earliest tree's first.
        const same = [x];
        while (heap.length > 0 && compareBytes(live[heap[0]!]!.keyAt(at[heap[0]!]!), key) === 0) same.push(pop());
        same.sort((a, b) => a - b);
        const first = live[same[0]!]!.node(at[same[0]!]!)!;
        let merged = first.records;
        for (const y of same.slice(1)) {
          const other = live[y]!.node(at[y]!)!.records;
          const out: StoredRecord[] = [];
          let p = 0;
          let q = 0;
          while (p < merged.length || q < other.length) {
            const d = p === merged.length ? 1 : q === other.length ? -1 : compareRecords(merged[p]!, other[q]!);
            if (d <= 0) out.push(merged[p++]!);
            else out.push(other[q++]!);
            if (d === 0) q++;
          }
          records -= merged.length + other.length - out.length;
          merged = out;
        }
        offsets[k++] = pos;
        pos = writeNode(data, view, pos, { name: first.name, key: first.key, records: merged });
        for (const y of same) if (++at[y]! < live[y]!.count) push(y);
        continue;
      }
      // Every node of this tree below the next head goes at once.
      const to = heap.length === 0 ? t.count : t.search(live[heap[0]!]!.keyAt(at[heap[0]!]!)).index;
      const start = t.offsets[at[x]!]!;
      const end = t.offsets[to]!;
      data.set(t.data.subarray(start, end), pos);
      const delta = pos - start;
      for (let n = at[x]!; n < to; n++) offsets[k++] = t.offsets[n]! + delta;
      pos += end - start;
      at[x] = to;
      if (to < t.count) push(x);
    }
    offsets[k] = pos;
    if (data.length - pos > data.length >> 4) data = data.slice(0, pos);
    else data = data.subarray(0, pos);
    if (k + 1 < offsets.length) offsets = offsets.slice(0, k + 1);
    return new CompactTree(data, offsets, records);
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
    // Every record's sort key in one arena (offset and length per record), not an array each: a key per
    // record was most of this function's garbage. A record with the previous one's owner shares its key.
    let arena = new Uint8Array(Math.max(1024, stream.length));
    let used = 0;
    let keyAt = new Uint32Array(1024);
    let keyLen = new Uint16Array(1024);
    let owners = new Uint32Array(1024);
    let bodies = new Uint32Array(1024);
    let ends = new Uint32Array(1024);
    let trees = new Uint8Array(1024);
    let n = 0;
    while (frames.next()) {
      if (n >= maxRecords) throw new RecordStreamError(`more than ${maxRecords} records`, frames.owner);
      if (n === owners.length) {
        const grow = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, make: (size: number) => T): T => {
          const b = make(a.length * 2);
          b.set(a);
          return b;
        };
        owners = grow(owners, (k) => new Uint32Array(k));
        bodies = grow(bodies, (k) => new Uint32Array(k));
        ends = grow(ends, (k) => new Uint32Array(k));
        trees = grow(trees, (k) => new Uint8Array(k));
        keyAt = grow(keyAt, (k) => new Uint32Array(k));
        keyLen = grow(keyLen, (k) => new Uint16Array(k));
      }
      const owner = frames.owner;
      const length = frames.body - owner;
      const previous = n > 0 ? owners[n - 1]! : -1;
      if (previous >= 0 && bodies[n - 1]! - previous === length && sameOctets(stream, previous, owner, length)) {
        keyAt[n] = keyAt[n - 1]!;
        keyLen[n] = keyLen[n - 1]!;
      } else {
        // A key is at most twice the owner's octets (each escaped octet takes two).
        if (used + 2 * length > arena.length) {
          const bigger = new Uint8Array(Math.max(arena.length * 2, used + 2 * length));
          bigger.set(arena.subarray(0, used));
          arena = bigger;
        }
        const keyLength = writeSortKey(stream, owner, arena, used);
        if (keyLength < 0) throw new RecordStreamError("a name has more than 127 labels", owner);
        if (keyLength < apexKey.length || !sameBytes(arena, used, apexKey)) throw new RecordStreamError(`an owner is outside ${apex}`, owner);
        keyAt[n] = used;
        keyLen[n] = keyLength;
        used += keyLength;
      }
      const type = frames.type;
      const at = frames.rdataAt;
      trees[n] = type === RRType.NSEC3 || (type === RRType.RRSIG && frames.end - at >= 2 && ((stream[at]! << 8) | stream[at + 1]!) === RRType.NSEC3) ? TREE_NSEC3 : TREE_MAIN;
      owners[n] = owner;
      bodies[n] = frames.body;
      ends[n] = frames.end;
      n++;
    }
    const keys = arena;
    /** memcmp of two records' sort keys in the arena. */
    const compareKeys = (a: number, b: number): number => {
      const pa = keyAt[a]!, pb = keyAt[b]!;
      if (pa === pb) return 0;
      const la = keyLen[a]!, lb = keyLen[b]!;
      const m = la < lb ? la : lb;
      for (let i = 0; i < m; i++) {
        const d = keys[pa + i]! - keys[pb + i]!;
        if (d !== 0) return d;
      }
      return la - lb;
    };
    const keyOf = (r: number): Uint8Array => keys.subarray(keyAt[r]!, keyAt[r]! + keyLen[r]!);
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    const u16 = (at: number) => view.getUint16(at);
    /** Record order: tree, key, type, rdata, class, stream order (a stable sort of indices). */
    const compare = (a: number, b: number): number => {
      let c = trees[a]! - trees[b]! || compareKeys(a, b) || u16(bodies[a]! + TYPE_AT) - u16(bodies[b]! + TYPE_AT);
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
        const head = order[i]!;
        const key = keyOf(head);
        let first = order[i]!;
        let count = 0;
        let previous = -1;
        for (; i < n && trees[order[i]!] === tree && (i === start || compareKeys(order[i]!, head) === 0); i++) {
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
        const key = keyOf(first);
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
    return this.withOwners(applyToNodes(this.nodeSource().lookup, changesets).owners);
  }

  /** A new version with `owners` (`changed-nodes.ts`, sorted by tree then key) replacing theirs. */
  withOwners(owners: ReadonlyArray<{ tree: Tree; node: StoredNode }>): CompactZone {
    const next = (tree: Tree): CompactTree => {
      const changed = owners.filter((o) => o.tree === tree).map((o) => o.node);
      return changed.length === 0 ? this.trees[tree] : this.trees[tree].withNodes(changed);
    };
    return new CompactZone({ [TREE_MAIN]: next(TREE_MAIN), [TREE_NSEC3]: next(TREE_NSEC3) } as Record<Tree, CompactTree>);
  }

  /** This version as `changed-nodes.ts` reads a base version (issue 28: the service's changed nodes for the Worker). */
  nodeSource(): NodeSource {
    return {
      lookup: (tree, key) => {
        const packed = this.trees[tree];
        const at = packed.search(key);
        return at.found ? packed.node(at.index) : null;
      },
      earliestExcept: (skip, now) => {
        // Issue 28, session 11: each tree keeps its earliest expirations (`LowExpiries`), carried through
        // `withOwners`, so this costs in proportion to the change, not a walk over the version.
        let earliest: number | null = null;
        for (const tree of [TREE_MAIN, TREE_NSEC3] as Tree[]) {
          const ms = this.trees[tree].expiriesExcept(skip[tree], now);
          if (ms !== null && (earliest === null || ms < earliest)) earliest = ms;
        }
        return earliest;
      },
    };
  }

  /** The SOA serial at `apex`, or null when there is no single SOA there. */
  serial(apex: Name): number | null {
    const node = this.trees[TREE_MAIN].node(this.trees[TREE_MAIN].search(apex.sortKey()).index);
    if (!node || compareBytes(node.key, apex.sortKey()) !== 0) return null;
    const soas = node.records.filter((r) => r.type === RRType.SOA);
    if (soas.length !== 1) return null;
    const rdata = soas[0]!.rdata;
    if (rdata.length < 20) return null;
    return soaSerial(rdata);
  }

  /** A version of two packed trees (`CompactZoneBuilder`). */
  static fromTrees(main: CompactTree, nsec3: CompactTree): CompactZone {
    return new CompactZone({ [TREE_MAIN]: main, [TREE_NSEC3]: nsec3 } as Record<Tree, CompactTree>);
  }

  /** The records of `zones` in stream order, as one version: see `CompactTree.mergeAll`. */
  static mergeAll(zones: readonly CompactZone[]): CompactZone {
    return new CompactZone({
      [TREE_MAIN]: CompactTree.mergeAll(zones.map((z) => z.trees[TREE_MAIN])),
      [TREE_NSEC3]: CompactTree.mergeAll(zones.map((z) => z.trees[TREE_NSEC3])),
    } as Record<Tree, CompactTree>);
  }

  /**
   * The version as octets, for another process of the same host (the replica's snapshot file): a header
   * (magic, then per tree its records, nodes and data octets, u32 each, this host's byte order), then per
   * tree its offsets and its data padded to 4 octets. Parts, not one array: the caller writes them in turn.
   */
  toParts(): Uint8Array[] {
    const trees = [this.trees[TREE_MAIN], this.trees[TREE_NSEC3]];
    const header = new Uint32Array([SNAPSHOT_MAGIC, ...trees.flatMap((t) => [t.records, t.count, t.data.length])]);
    const parts: Uint8Array[] = [new Uint8Array(header.buffer)];
    for (const t of trees) {
      parts.push(new Uint8Array(t.offsets.buffer, t.offsets.byteOffset, t.offsets.byteLength), t.data);
      if (t.data.length % 4 !== 0) parts.push(new Uint8Array(4 - (t.data.length % 4)));
    }
    return parts;
  }

  /**
   * A version from `toParts`' octets: the data arrays are views into `bytes` (kept), the offsets copied.
   * @throws RangeError when the octets are not such a snapshot.
   */
  static fromBytes(bytes: Uint8Array): CompactZone {
    if (bytes.length < 28) throw new RangeError("a replica snapshot is shorter than its header");
    // Copies (aligned) of the words: `Uint8Array.prototype.slice`, since a Node Buffer's own `slice` is a view.
    const copy = (from: number, to: number) => Uint8Array.prototype.slice.call(bytes, from, to).buffer;
    const header = new Uint32Array(copy(0, 28));
    if (header[0] !== SNAPSHOT_MAGIC) throw new RangeError("not a replica snapshot");
    let pos = 28;
    const trees: CompactTree[] = [];
    for (let t = 0; t < 2; t++) {
      const [records, count, length] = [header[1 + t * 3]!, header[2 + t * 3]!, header[3 + t * 3]!];
      const offsetsEnd = pos + (count + 1) * 4;
      if (offsetsEnd + length > bytes.length) throw new RangeError("a replica snapshot is cut short");
      const offsets = new Uint32Array(copy(pos, offsetsEnd));
      if (offsets[count] !== length) throw new RangeError("a replica snapshot's offsets do not end at its data's end");
      const data = bytes.subarray(offsetsEnd, offsetsEnd + length);
      pos = offsetsEnd + length + ((4 - (length % 4)) % 4);
      trees.push(count === 0 ? CompactTree.empty : CompactTree.packed(data, offsets, records));
    }
    return new CompactZone({ [TREE_MAIN]: trees[0]!, [TREE_NSEC3]: trees[1]! } as Record<Tree, CompactTree>);
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
 * version that zone's `ZoneInfo` stands for (`zoneData`); every lookup is then a binary search in it. Nothing
 * here waits: every lookup returns its value, so the engine answers in the same call (`answer/awaitable.ts`).
 */
export abstract class CompactZoneStore extends LocatingZoneStore {
  /** The packed version `zone` (as `findZone` handed it out) stands for. */
  protected abstract zoneData(zone: ZoneInfo): CompactZone;

  locate(zone: ZoneInfo, tree: Tree, name: Name): Neighbourhood {
    return this.zoneData(zone).trees[tree].locate(name.sortKey());
  }

  lastNode(zone: ZoneInfo, tree: Tree): StoredNode | null {
    return this.zoneData(zone).trees[tree].last();
  }

  // The two lookups that need one node of the neighbourhood decode only that one (the engine asks `node`
  // several times per answer: the apex's SOA and NS, glue, targets); the rest is `LocatingZoneStore`'s.
  override node(zone: ZoneInfo, name: Name): StoredNode | null {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    return tree.nodeAt(tree.findOffset(name.sortKey()));
  }

  /**
   * `LocatingZoneStore`'s closest encloser without decoding what it does not use: the node itself when the
   * name has one; otherwise only the neighbours' names, and then the one node that is the encloser (when it
   * is not an empty non-terminal). Same result, object for object in what the engine reads.
   */
  override closestEncloser(zone: ZoneInfo, name: Name): ClosestEncloser {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    const key = name.sortKey();
    const exact = tree.findOffset(key);
    if (exact >= 0) return { name, node: tree.nodeAt(exact) };
    const { index } = tree.search(key);
    const encloser = closestEncloserOf(name, zone.name, tree.nameAt(index - 1), tree.nameAt(index));
    return { name: encloser, node: tree.nodeAt(tree.findOffset(encloser.sortKey())) };
  }

  override predecessor(zone: ZoneInfo, name: Name): StoredNode | null {
    const tree = this.zoneData(zone).trees[TREE_MAIN];
    return tree.node(tree.search(name.sortKey()).index - 1);
  }
}

/**
 * One tree packed by appending: a piece of the stream whose nodes all sort after the last one appended goes
 * on the end as bytes (`CompactZoneBuilder`), so a stream in canonical order packs into one buffer, with
 * neither runs nor a merge's output beside it.
 *
 * The buffer is a resizable ArrayBuffer where the runtime has one (ES2024; Node 20, workerd): it is reserved
 * once up to what a tree's u32 offsets can address and grows in place, its pages committed only as they are
 * written, so a tree growing to 60 MB never holds an old copy beside a new one (growing by copying peaked at
 * ~2.5× the tree); `finish` moves it into a plain array a MiB at a time. Elsewhere, or when the reservation is
 * refused, a plain array grows by copying.
 */
class TreeAppender {
  /** Octets a tree can hold: its offsets are u32. */
  static readonly RESERVE = 0xffff_ffff;
  /** Octets moved out of the resizable buffer at a time by `finish`. */
  static readonly MOVE_STEP = 1 << 20;

  /** Resizable (grows in place) until it is refused or outgrown; then a plain one, grown by copying. */
  private buffer: ArrayBuffer | ResizableBuffer;
  /** The nodes so far: `data[0, pos)`; views that follow a resizable buffer's length. */
  data: Uint8Array;
  view: DataView;
  offsets = new Uint32Array(1024);
  count = 0;
  pos = 0;
  records = 0;

  constructor() {
    this.buffer = resizableBuffer(0, TreeAppender.RESERVE) ?? new ArrayBuffer(0);
    this.data = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /** Where the tree stands, to go back to (`reset`) when a piece turns out not to fit after all. */
  mark(): [number, number, number] {
    return [this.pos, this.count, this.records];
  }

  reset([pos, count, records]: [number, number, number]): void {
    this.pos = pos;
    this.count = count;
    this.records = records;
  }

  /** Whether `t` can go on the end. */
  fits(t: CompactTree): boolean {
    return this.count === 0 || t.count === 0 || compareBytes(t.keyAt(0), this.lastKey()) >= 0;
  }

  private lastKey(): Uint8Array {
    const at = this.offsets[this.count - 1]!;
    return this.data.subarray(at + 2, at + 2 + (this.view.getUint16(at) & ~OWNER_FOLLOWS));
  }

  /** memcmp of `key[0, length)` against the last node's key (1 when there is none). */
  compareLast(key: Uint8Array, length: number): number {
    if (this.count === 0) return 1;
    const at = this.offsets[this.count - 1]!;
    const last = this.view.getUint16(at) & ~OWNER_FOLLOWS;
    const data = this.data;
    const n = length < last ? length : last;
    for (let i = 0; i < n; i++) {
      const d = key[i]! - data[at + 2 + i]!;
      if (d !== 0) return d;
    }
    return length - last;
  }

  /** Room for `bytes` more octets and `nodes` more nodes. */
  ensure(bytes: number, nodes: number): void {
    const need = this.pos + bytes;
    if (need > this.data.length) {
      const grown = Math.max(need, this.data.length + (this.data.length >> 2) + 65_536);
      if (isResizable(this.buffer) && need <= TreeAppender.RESERVE) this.buffer.resize(Math.min(grown, TreeAppender.RESERVE));
      else {
        const bigger = new Uint8Array(Math.max(need, Math.ceil(this.data.length * 1.5)));
        bigger.set(this.data.subarray(0, this.pos));
        this.buffer = bigger.buffer;
        this.data = bigger;
        this.view = new DataView(bigger.buffer);
      }
    }
    if (this.count + nodes + 1 > this.offsets.length) {
      const bigger = new Uint32Array(Math.max(this.count + nodes + 1, this.offsets.length * 2));
      bigger.set(this.offsets.subarray(0, this.count));
      this.offsets = bigger;
    }
  }

  /** Appends `t` (`fits` said so). */
  take(t: CompactTree): void {
    if (t.count === 0) return;
    let from = 0;
    this.records += t.records;
    if (this.count > 0 && compareBytes(t.keyAt(0), this.lastKey()) === 0) {
      const at = this.offsets[this.count - 1]!;
      const ours = CompactTree.packed(this.data.slice(at, this.pos), Uint32Array.of(0, this.pos - at), 0).node(0)!;
      const theirs = t.node(0)!;
      const merged: StoredRecord[] = [];
      let p = 0;
      let q = 0;
      while (p < ours.records.length || q < theirs.records.length) {
        const d = p === ours.records.length ? 1 : q === theirs.records.length ? -1 : compareRecords(ours.records[p]!, theirs.records[q]!);
        if (d <= 0) merged.push(ours.records[p++]!);
        else merged.push(theirs.records[q++]!);
        if (d === 0) q++;
      }
      this.records -= ours.records.length + theirs.records.length - merged.length;
      const node = { name: ours.name, key: ours.key, records: merged };
      this.pos = at;
      this.count--;
      this.ensure(nodeSize(node), 1);
      this.count++;
      this.pos = writeNode(this.data, this.view, this.pos, node);
      from = 1;
    }
    const start = t.offsets[from]!;
    const bytes = t.offsets[t.count]! - start;
    this.ensure(bytes, t.count - from);
    this.data.set(t.data.subarray(start, start + bytes), this.pos);
    const delta = this.pos - start;
    for (let n = from; n < t.count; n++) this.offsets[this.count++] = t.offsets[n]! + delta;
    this.pos += bytes;
  }

  /** The tree appended so far (the appender is spent). */
  finish(): CompactTree {
    if (this.count === 0) return CompactTree.empty;
    let data: Uint8Array;
    const rab = this.buffer;
    if (isResizable(rab)) {
      // Moved into a plain array, the last MiB first, each MiB given back once moved: lookups over a resizable
      // buffer ran ~20% slower (Node 20), and the plain array's pages are committed only as they are written
      // (a fresh large allocation is zero pages), so the move never holds much more than the tree once.
      data = new Uint8Array(this.pos);
      for (let end = this.pos; end > 0; ) {
        const start = Math.max(0, end - TreeAppender.MOVE_STEP);
        data.set(this.data.subarray(start, end), start);
        rab.resize(start);
        end = start;
      }
    } else data = this.data.length - this.pos > this.data.length >> 4 ? this.data.slice(0, this.pos) : this.data.subarray(0, this.pos);
    const offsets = this.offsets.slice(0, this.count + 1);
    offsets[this.count] = this.pos;
    return CompactTree.packed(data, offsets, this.records);
  }
}

/**
 * A zone's version packed as its record stream arrives (the replica's load from a transfer, issues 27 and 28),
 * a piece at a time, each piece packed before `addStream` returns so the caller can drop it:
 *
 * - **In canonical order** (every primary's AXFR, cut between owners): the piece's records are written
 *   straight onto the end of the trees (`appendCanonical`): no sort, no record index, a sort key made once
 *   per owner, a node's few records ordered in place; the first owner that does not sort after the one
 *   before it in its tree undoes the piece, which then takes the general path.
 * - **Any other piece** is packed on its own (`CompactZone.fromStream`); appended when it sorts after
 *   what is there (a piece that starts with the last owner's other records merges into its node: the SOA
 *   alone, then the apex's other records), else kept as a run; the runs are merged once, at the end, by a
 *   k-way merge that copies runs of nodes as bytes (`CompactTree.mergeAll`).
 *
 * So a canonical stream is packed into one buffer per tree as it comes (about the packed size, never the
 * stream beside it), and the result is what `CompactZone.fromStream` makes of the whole stream.
 */
export class CompactZoneBuilder {
  /** Packed pieces, in stream order. */
  private runs: CompactZone[] = [];
  private added = 0;

  /** While every piece went on the end (see `TreeAppender`): the main tree's and the NSEC3 chain's. */
  private append: [TreeAppender, TreeAppender] | undefined;

  private readonly apexKey: Uint8Array;
  /** `appendCanonical`'s scratch: the current node's sort key, the next owner's, the node's records. */
  private key = new Uint8Array(512);
  private nextKey = new Uint8Array(512);
  private owners = new Int32Array(64);
  private bodies = new Int32Array(64);
  private ends = new Int32Array(64);
  private order = new Int32Array(64);
  private trees = new Uint8Array(64);
  /** Whether each of the node's records has an upper-case owner (`writeSortKey`'s `sortKeyHadUpper`). */
  private uppers = new Uint8Array(64);

  /** Where a piece in a resizable buffer is copied to be read (`addStream`); nothing keeps a view of it. */
  private scratch = new Uint8Array(0);

  /** Pieces packed on the canonical path, and on the general one (for tests and measurements). */
  readonly pieces = { canonical: 0, general: 0 };

  constructor(
    private readonly apex: Name,
    private readonly maxRecords = Number.MAX_SAFE_INTEGER,
  ) {
    this.apexKey = apex.sortKey().slice();
    this.append = [new TreeAppender(), new TreeAppender()];
  }

  /** Records packed so far (duplicates within a piece counted once). */
  get records(): number {
    return this.added;
  }

  /**
   * The next piece of the stream (`contract/record-stream.ts`); packed before this returns, so the caller may
   * reuse or drop it. @throws RecordStreamError (malformed, an owner outside the apex, more than maxRecords).
   */
  addStream(stream: Uint8Array): void {
    if (stream.length === 0) return;
    // A piece in a resizable buffer (a transfer's chunk, which its sender gives back once sent) is read from a
    // copy in a reused plain array: reading a resizable buffer's octets cost ~25% more here (Node 20).
    if (isResizable(stream.buffer)) {
      if (this.scratch.length < stream.length) this.scratch = new Uint8Array(stream.length + (stream.length >> 3));
      this.scratch.set(stream);
      stream = this.scratch.subarray(0, stream.length);
    }
    const append = this.append;
    if (append !== undefined && this.appendCanonical(stream, append)) {
      this.pieces.canonical++;
      return;
    }
    this.pieces.general++;
    const zone = CompactZone.fromStream(stream, this.apex, this.maxRecords - this.added);
    this.added += zone.records;
    if (append !== undefined) {
      if (append[0].fits(zone.trees[TREE_MAIN]) && append[1].fits(zone.trees[TREE_NSEC3])) {
        append[0].take(zone.trees[TREE_MAIN]);
        append[1].take(zone.trees[TREE_NSEC3]);
        return;
      }
      // Out of order: what was appended is the first run, the rest are merged at the end.
      this.append = undefined;
      this.runs.push(CompactZone.fromTrees(append[0].finish(), append[1].finish()));
    }
    this.runs.push(zone);
    // A bound on the merge's fan-in (a 10M-record zone is some 700 pieces of 1 MiB).
    if (this.runs.length >= MAX_RUNS) this.runs = [CompactZone.mergeAll(this.runs)];
  }

  /**
   * Writes a piece whose owners come in canonical order, each after the last one of its tree, onto the end
   * of the trees; false, with the trees as they were, at the first owner that does not (or that repeats the
   * last owner already appended: a merge is the general path's). The nodes are what `fromStream` makes.
   * @throws RecordStreamError as `fromStream` does (the trees then as they were, too).
   */
  private appendCanonical(stream: Uint8Array, append: [TreeAppender, TreeAppender]): boolean {
    const marks = [append[0].mark(), append[1].mark()] as const;
    const undo = (): void => {
      append[0].reset(marks[0]);
      append[1].reset(marks[1]);
    };
    const apexKey = this.apexKey;
    const max = this.maxRecords - this.added;
    const frames = new RecordFrames(stream);
    let seen = 0;
    let kept = 0;
    let group = 0;
    let keyLength = 0;
    let prevOwner = -1;
    let prevLength = 0;
    try {
      while (frames.next()) {
        if (seen >= max) throw new RecordStreamError(`more than ${max} records`, frames.owner);
        seen++;
        const owner = frames.owner;
        const body = frames.body;
        const length = body - owner;
        // The same owner octets as the record before: the same node (the usual case, no key made).
        if (prevOwner < 0 || prevLength !== length || !sameOctets(stream, prevOwner, owner, length)) {
          const next = this.nextKey;
          const k = writeSortKey(stream, owner, next, 0);
          if (k < 0) throw new RecordStreamError("a name has more than 127 labels", owner);
          if (k < apexKey.length || !sameBytes(next, 0, apexKey)) throw new RecordStreamError(`an owner is outside ${this.apex}`, owner);
          // Owners ascend within the piece (so a node sorts after every one this piece appended before it);
          // another spelling of the same owner stays in its node.
          let order = 1;
          if (group > 0) {
            const key = this.key;
            const m = k < keyLength ? k : keyLength;
            // Both start with the apex's key (checked above).
            let i = apexKey.length;
            while (i < m && next[i] === key[i]) i++;
            order = i < m ? next[i]! - key[i]! : k - keyLength;
            if (order < 0) return (undo(), false);
          }
          if (order > 0) {
            if (group > 0) {
              const n = this.appendNode(stream, group, keyLength, append, marks);
              if (n < 0) return (undo(), false);
              kept += n;
            }
            this.nextKey = this.key;
            this.key = next;
            keyLength = k;
            group = 0;
          }
          prevOwner = owner;
          prevLength = length;
        }
        if (group === this.owners.length) this.growNode();
        this.uppers[group] = sortKeyHadUpper ? 1 : 0;
        this.owners[group] = owner;
        this.bodies[group] = body;
        this.ends[group] = frames.end;
        group++;
      }
      if (group > 0) {
        const n = this.appendNode(stream, group, keyLength, append, marks);
        if (n < 0) return (undo(), false);
        kept += n;
      }
    } catch (err) {
      undo();
      throw err;
    }
    this.added += kept;
    return true;
  }

  private growNode(): void {
    const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.owners = grow(this.owners);
    this.bodies = grow(this.bodies);
    this.ends = grow(this.ends);
    this.order = new Int32Array(this.owners.length);
    this.trees = new Uint8Array(this.owners.length);
    const uppers = new Uint8Array(this.owners.length);
    uppers.set(this.uppers);
    this.uppers = uppers;
  }

  /** fromStream's order of two records of a node (`appendNode`'s indices): tree, type, rdata, class, stream order. */
  private compareInNode(stream: Uint8Array, a: number, b: number): number {
    const ba = this.bodies[a]!, bb = this.bodies[b]!;
    let c = this.trees[a]! - this.trees[b]! || ((stream[ba]! << 8) | stream[ba + 1]!) - ((stream[bb]! << 8) | stream[bb + 1]!);
    if (c !== 0) return c;
    const ra = ba + FIXED_FIELDS, rb = bb + FIXED_FIELDS;
    const la = this.ends[a]! - ra, lb = this.ends[b]! - rb;
    const m = la < lb ? la : lb;
    for (let i = 0; i < m; i++) {
      c = stream[ra + i]! - stream[rb + i]!;
      if (c !== 0) return c;
    }
    return la - lb || ((stream[ba + CLASS_AT]! << 8) | stream[ba + CLASS_AT + 1]!) - ((stream[bb + CLASS_AT]! << 8) | stream[bb + CLASS_AT + 1]!) || a - b;
  }

  /**
   * Writes the node of the `count` records at `owners`/`bodies`/`ends` (in stream order; key
   * `this.key[0, keyLength)`) onto the end of each tree it has records in, ordered as `fromStream` orders
   * them and without a repeated record (type, class, rdata: the first copy is kept, with its TTL). Returns
   * the records written, or -1 when the node does not sort after its tree's last one (`marks`: the trees
   * before this piece).
   */
  private appendNode(stream: Uint8Array, count: number, keyLength: number, append: [TreeAppender, TreeAppender], marks: readonly [readonly number[], readonly number[]]): number {
    const { owners, bodies, ends, order, trees } = this;
    for (let r = 0; r < count; r++) {
      const body = bodies[r]!;
      const type = (stream[body]! << 8) | stream[body + 1]!;
      const rdata = body + FIXED_FIELDS;
      trees[r] = type === RRType.NSEC3 || (type === RRType.RRSIG && ends[r]! - rdata >= 2 && ((stream[rdata]! << 8) | stream[rdata + 1]!) === RRType.NSEC3) ? TREE_NSEC3 : TREE_MAIN;
      order[r] = r;
    }
    // Insertion sort: a node holds a record or a few, most often in order already.
    for (let i = 1; i < count; i++) {
      const r = order[i]!;
      let j = i - 1;
      while (j >= 0 && this.compareInNode(stream, order[j]!, r) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = r;
    }
    const key = this.key;
    let written = 0;
    for (let i = 0; i < count; ) {
      const tree = trees[order[i]!]! as Tree;
      let end = i + 1;
      while (end < count && trees[order[end]!] === tree) end++;
      const t = append[tree];
      // Only the tree's first node from this piece needs comparing: the piece's owners ascend.
      if (t.count === marks[tree]![1] && t.compareLast(key, keyLength) <= 0) return -1;
      // Equal records sort together, the earliest first: the later copies are dropped.
      let kept = 0;
      let bytes = 0;
      let first = count;
      let previous = -1;
      for (let j = i; j < end; j++) {
        const r = order[j]!;
        const body = bodies[r]!;
        const size = ends[r]! - body;
        if (previous >= 0) {
          const pb = bodies[previous]!;
          if (ends[previous]! - pb === size && sameOctets(stream, pb, body, CLASS_AT + 2) && sameOctets(stream, pb + FIXED_FIELDS, body + FIXED_FIELDS, size - FIXED_FIELDS)) {
            order[j] = -1;
            continue;
          }
        }
        previous = r;
        if (r < first) first = r;
        kept++;
        bytes += size;
      }
      if (kept > 0xffff) throw new RangeError(`an owner holds more than 65535 records`);
      // The owner's spelling: its first record's in the stream (kept only when it has upper case).
      const ownerAt = owners[first]!;
      const ownerEnd = bodies[first]!;
      const spelled = this.uppers[first] === 1;
      t.ensure(2 + keyLength + (spelled ? ownerEnd - ownerAt : 0) + 2 + bytes, 1);
      const data = t.data;
      let pos = t.pos;
      t.offsets[t.count++] = pos;
      const head = keyLength | (spelled ? OWNER_FOLLOWS : 0);
      data[pos] = head >> 8;
      data[pos + 1] = head & 0xff;
      pos += 2;
      for (let k = 0; k < keyLength; k++) data[pos + k] = key[k]!;
      pos += keyLength;
      if (spelled) for (let k = ownerAt; k < ownerEnd; k++) data[pos++] = stream[k]!;
      data[pos] = kept >> 8;
      data[pos + 1] = kept & 0xff;
      pos += 2;
      for (let j = i; j < end; j++) {
        const r = order[j]!;
        if (r < 0) continue;
        const body = bodies[r]!;
        const stop = ends[r]!;
        if (stop - body <= 64) for (let k = body; k < stop; k++) data[pos++] = stream[k]!;
        else {
          data.set(stream.subarray(body, stop), pos);
          pos += stop - body;
        }
      }
      t.pos = pos;
      t.records += kept;
      written += kept;
      i = end;
    }
    return written;
  }

  /** Records with their owners (a sink fed objects, and the SOA a transfer opens with). */
  addRecords(records: readonly OwnedRecord[]): void {
    if (records.length > 0) this.addStream(encodeRecordStream(records));
  }

  /** The version: every piece merged (the builder is empty afterwards). */
  finish(): CompactZone {
    if (this.append !== undefined) {
      const [main, nsec3] = this.append;
      this.append = undefined;
      this.added = 0;
      return CompactZone.fromTrees(main.finish(), nsec3.finish());
    }
    const runs = this.runs;
    this.runs = [];
    this.added = 0;
    return runs.length === 1 ? runs[0]! : CompactZone.mergeAll(runs);
  }
}
