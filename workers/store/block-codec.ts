/**
 * @module The compact binary form of a block of nodes (one `blocks.data` BLOB, also used for the sorted
 * runs of an ingest). Hand-written rather than JSON or CBOR: it is read on every cache miss of the answer
 * path and written a million times per large transfer, and it reuses the RR wire layout as is.
 *
 *   u8  format (1)
 *   u16 node count
 *   per node, in canonical order:
 *     owner name, uncompressed wire form, case as received
 *     u16 record count
 *     per record: u16 type, u16 class, u32 ttl, u16 rdlength, rdata
 */
import type { Name } from "../../dns/name.ts";
import { wireSortKey } from "../../dns/sort-key.ts";
import { WireReader } from "../../dns/wire/reader.ts";
import { RECORD_FIXED, recordListSize, writeRecordList } from "../../answer/store/stored-node.ts";
import type { StoredNode, StoredRecord } from "../../answer/store/stored-node.ts";

const FORMAT = 1;
const HEADER = 3;

export class BlockFormatError extends Error {
  override readonly name = "BlockFormatError";
}

/** Encoded size of one node, so a writer can cut blocks before encoding them. */
export function nodeSize(node: StoredNode): number {
  return node.name.wireLength + recordListSize(node.records);
}

export function blockSize(nodes: readonly StoredNode[]): number {
  let n = HEADER;
  for (const node of nodes) n += nodeSize(node);
  return n;
}

export function encodeBlock(nodes: readonly StoredNode[]): Uint8Array {
  if (nodes.length > 0xffff) throw new BlockFormatError(`a block holds at most 65535 nodes, got ${nodes.length}`);
  const out = new Uint8Array(blockSize(nodes));
  const view = new DataView(out.buffer);
  out[0] = FORMAT;
  view.setUint16(1, nodes.length);
  let pos = HEADER;
  for (const node of nodes) {
    for (const label of node.name.labels) {
      out[pos++] = label.length;
      out.set(label, pos);
      pos += label.length;
    }
    out[pos++] = 0;
    if (node.records.length > 0xffff) throw new BlockFormatError(`node ${node.name} has over 65535 records`);
    pos = writeRecordList(out, view, pos, node.records);
  }
  return out;
}

/** @throws BlockFormatError (or the reader's WireError) for bytes that are not a block. */
export function decodeBlock(data: Uint8Array): StoredNode[] {
  if (data.length < HEADER || data[0] !== FORMAT) throw new BlockFormatError("not a block (bad format octet)");
  const reader = new WireReader(data, 1);
  const count = reader.u16();
  const nodes: StoredNode[] = new Array(count);
  for (let i = 0; i < count; i++) {
    // Names in a block are never compressed; WireReader still bounds-checks them.
    const at = reader.offset;
    const name = reader.name();
    // Keyed straight from the block's bytes when they hold the name uncompressed (always, from encodeBlock).
    const key = reader.offset - at === name.wireLength ? wireSortKey(data, at).key : name.sortKey();
    const n = reader.u16();
    const records: StoredRecord[] = new Array(n);
    for (let j = 0; j < n; j++) {
      const type = reader.u16();
      const cls = reader.u16();
      const ttl = reader.u32();
      const len = reader.u16();
      records[j] = { type, class: cls, ttl, rdata: reader.bytes(len) };
    }
    nodes[i] = { name, key, records };
  }
  reader.expectEnd("block");
  return nodes;
}

/** Nodes a {@link BlockReader} keeps built, and what one costs once its key, name and records are (roughly). */
const BUILT_KEPT = 4;
const BUILT_NODE_BYTES = 1024;

/** A name's label starts, for {@link compareOwnerToKey} (a name has at most 127 labels). */
const LABEL_STARTS = new Int32Array(128);

/**
 * Compares the sort key of the uncompressed owner name at `data[at]` (as `wireSortKey` would build it:
 * labels from the root, ASCII-lowercased, octets 0 and 1 escaped as 1, b + 1, each label closed by 0) with
 * `key`, in memcmp order, without building it. Only for names {@link BlockReader} has checked.
 */
function compareOwnerToKey(data: Uint8Array, at: number, key: Uint8Array): number {
  let labels = 0;
  for (let pos = at; data[pos] !== 0; pos += data[pos]! + 1) LABEL_STARTS[labels++] = pos;
  let k = 0;
  const end = key.length;
  for (let l = labels - 1; l >= 0; l--) {
    const start = LABEL_STARTS[l]!;
    const last = start + data[start]!;
    for (let i = start + 1; i <= last; i++) {
      let b = data[i]!;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (b <= 1) {
        if (k === end) return 1;
        if (key[k] !== 1) return 1 - key[k]!;
        k++;
        b += 1;
      }
      if (k === end) return 1;
      if (key[k] !== b) return b - key[k]!;
      k++;
    }
    if (k === end) return 1;
    if (key[k] !== 0) return -key[k]!;
    k++;
  }
  return k === end ? 0 : -1;
}

/**
 * A node of a block read for the answer path: its key, owner name and records are built when first asked
 * for. The records are views into the block's octets, as {@link decodeBlock}'s.
 */
class BlockNode implements StoredNode {
  private sortKey: Uint8Array | undefined;
  private owner: Name | undefined;
  private held: StoredRecord[] | undefined;

  constructor(
    private readonly data: Uint8Array,
    /** Offset of the owner name. */
    private readonly at: number,
    /** Offset of the record count, just past the owner. */
    private readonly countAt: number,
  ) {}

  get key(): Uint8Array {
    return (this.sortKey ??= wireSortKey(this.data, this.at).key);
  }

  get name(): Name {
    return (this.owner ??= new WireReader(this.data, this.at).name());
  }

  get records(): StoredRecord[] {
    if (this.held) return this.held;
    const data = this.data;
    const count = (data[this.countAt]! << 8) | data[this.countAt + 1]!;
    const records: StoredRecord[] = new Array(count);
    let pos = this.countAt + 2;
    for (let j = 0; j < count; j++) {
      const len = (data[pos + 8]! << 8) | data[pos + 9]!;
      records[j] = {
        type: (data[pos]! << 8) | data[pos + 1]!,
        class: (data[pos + 2]! << 8) | data[pos + 3]!,
        ttl: ((data[pos + 4]! << 24) | (data[pos + 5]! << 16) | (data[pos + 6]! << 8) | data[pos + 7]!) >>> 0,
        rdata: data.subarray(pos + RECORD_FIXED, pos + RECORD_FIXED + len),
      };
      pos += RECORD_FIXED + len;
    }
    return (this.held = records);
  }
}

/**
 * A block as the answer path holds it (issue 28 item 4): its octets and where each node starts, nothing
 * more until a lookup asks. A lookup binary-searches the owners in place (no sort key is built for the
 * probes) and builds only the nodes it returns (key, `Name` and records, each when first used). Building
 * every node of a block, as {@link decodeBlock} does, cost most of a cache miss's decoding and garbage, and
 * made a cached block take several times its size, so fewer blocks fitted in the isolate's cache.
 *
 * The whole block is walked and bounds-checked here, so a damaged block fails at once, as with
 * decodeBlock, and a node's later decoding cannot run past its octets.
 */
export class BlockReader {
  readonly count: number;
  /** Per node: where its owner starts, and where its record count is (just past the owner). */
  private readonly starts: Uint32Array;
  private readonly countsAt: Uint32Array;
  /**
   * The nodes built last (at most BUILT_KEPT, the oldest replaced), so that the lookups of one answer, which
   * ask for the same few nodes again and again (the apex above all), build each once, while a block whose
   * every node has been asked for does not grow to several times its size in the cache.
   */
  private readonly builtIndex = new Int32Array(BUILT_KEPT).fill(-1);
  private readonly builtNode: BlockNode[] = [];
  private nextSlot = 0;

  /** @throws BlockFormatError for bytes that are not a block. */
  constructor(readonly data: Uint8Array) {
    if (data.length < HEADER || data[0] !== FORMAT) throw new BlockFormatError("not a block (bad format octet)");
    const count = (data[1]! << 8) | data[2]!;
    const starts = new Uint32Array(count);
    const countsAt = new Uint32Array(count);
    let pos = HEADER;
    for (let i = 0; i < count; i++) {
      starts[i] = pos;
      // The owner: uncompressed labels (encodeBlock never compresses), within the block and RFC 1035's limits.
      let labels = 0;
      for (;;) {
        if (pos >= data.length) throw new BlockFormatError(`node ${i}: owner runs past the end`);
        const len = data[pos]!;
        if (len === 0) break;
        if (len > 63) throw new BlockFormatError(`node ${i}: owner has a label of type 0x${(len & 0xc0).toString(16)} or over 63 octets`);
        if (++labels > 127 || pos + 1 + len - starts[i]! > 254) throw new BlockFormatError(`node ${i}: owner longer than 255 octets`);
        pos += 1 + len;
      }
      pos += 1;
      countsAt[i] = pos;
      if (pos + 2 > data.length) throw new BlockFormatError(`node ${i}: record count runs past the end`);
      const n = (data[pos]! << 8) | data[pos + 1]!;
      pos += 2;
      for (let j = 0; j < n; j++) {
        if (pos + RECORD_FIXED > data.length) throw new BlockFormatError(`node ${i}: record ${j} runs past the end`);
        pos += RECORD_FIXED + ((data[pos + 8]! << 8) | data[pos + 9]!);
      }
      if (pos > data.length) throw new BlockFormatError(`node ${i}: rdata runs past the end`);
    }
    if (pos !== data.length) throw new BlockFormatError(`${data.length - pos} octets after the last node of the block`);
    this.count = count;
    this.starts = starts;
    this.countsAt = countsAt;
  }

  /** What the block costs the isolate, roughly: its octets, the offsets, and up to BUILT_KEPT nodes built. */
  get memoryBytes(): number {
    return 512 + this.data.length + this.count * 8 + BUILT_KEPT * BUILT_NODE_BYTES;
  }

  /** The node at `index`, or null outside the block. */
  node(index: number): StoredNode | null {
    if (index < 0 || index >= this.count) return null;
    for (let slot = 0; slot < BUILT_KEPT; slot++) if (this.builtIndex[slot] === index) return this.builtNode[slot]!;
    const node = new BlockNode(this.data, this.starts[index]!, this.countsAt[index]!);
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % BUILT_KEPT;
    this.builtIndex[slot] = index;
    this.builtNode[slot] = node;
    return node;
  }

  /** Where `key` is or would be: the index of the first node whose key is not below it, and whether that node is `key`'s own. */
  search(key: Uint8Array): { index: number; found: boolean } {
    let lo = 0, hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareOwnerToKey(this.data, this.starts[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: lo < this.count && compareOwnerToKey(this.data, this.starts[lo]!, key) === 0 };
  }
}
