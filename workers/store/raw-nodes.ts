/**
 * @module Ingest without objects per record. A chunk's records are indexed in place (offsets into the
 * stream plus one sort key per owner), sorted, and copied into block-format pieces; the commit's merge
 * walks encoded pieces node by node and copies node bytes into blocks. Only an owner that arrived in
 * several chunks is decoded and re-encoded. The block layout (see `block-codec.ts`) puts a record exactly
 * as the stream does after the owner (type, class, ttl, rdlength, rdata), which is what makes this a
 * series of copies.
 */
import { RRType } from "../../dns/constants.ts";
import { decodeBlock, encodeBlock } from "./block-codec.ts";
import { mergeSameOwner } from "../../answer/store/canonical-nodes.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { EarliestExpiry } from "./rrsig-expiry.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { CLASS_AT, FIXED_FIELDS, RecordFrames, RecordStreamError, TYPE_AT } from "../../contract/record-stream.ts";
import { keyHasPrefix, wireSortKey, WireNameError } from "../../dns/sort-key.ts";

/** One record of a stream, by offsets. */
interface RawRecord {
  key: Uint8Array;
  /**
   * Two 48-bit numbers made of the key's octets just past the apex (zero-padded), so that most
   * comparisons in the sort are numeric: a chunk's keys all share the apex prefix, and memcmp over the
   * full key is only needed when these tie.
   */
  p1: number;
  p2: number;
  tree: Tree;
  owner: number; // offset of the owner name
  body: number; // offset of the type field
  end: number; // offset just past the rdata
  type: number;
}

/** A node inside an encoded block or piece: its key and the byte range [start, end) of its encoding. */
export interface RawNode {
  key: Uint8Array;
  buf: Uint8Array;
  start: number;
  end: number;
  records: number;
}

function compareRaw(buf: Uint8Array, a: RawRecord, b: RawRecord): number {
  let c = a.tree - b.tree || a.p1 - b.p1 || a.p2 - b.p2 || compareBytes(a.key, b.key) || a.type - b.type;
  if (c !== 0) return c;
  // rdata, then class (RFC 4034 §6.3 order inside an RRset; class only separates odd mixes).
  const ra = a.body + FIXED_FIELDS, rb = b.body + FIXED_FIELDS;
  const la = a.end - ra, lb = b.end - rb;
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    c = buf[ra + i]! - buf[rb + i]!;
    if (c !== 0) return c;
  }
  c = la - lb;
  if (c !== 0) return c;
  const ca = a.body + CLASS_AT, cb = b.body + CLASS_AT;
  return ((buf[ca]! << 8) | buf[ca + 1]!) - ((buf[cb]! << 8) | buf[cb + 1]!);
}

/** Same record: equal key, type, class and rdata (TTL aside). */
function sameRaw(buf: Uint8Array, a: RawRecord, b: RawRecord): boolean {
  return compareRaw(buf, a, b) === 0 && a.tree === b.tree;
}

/** Six octets of `key` from `at` as a number (missing octets are 0, which keeps memcmp order). */
function octets48(key: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 6; i++) v = v * 256 + (key[i] ?? 0);
  return v;
}

function sameOctets(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/**
 * Indexes a record stream, checks every owner is at or below `apexKey`, and sorts it. The stream's framing
 * is read by the contract's reader (`RecordFrames`); a sort key is computed once per run of records with
 * the same owner bytes.
 * @throws RecordStreamError for malformed or out-of-zone records.
 */
export function indexStream(buf: Uint8Array, apexKey: Uint8Array): RawRecord[] {
  const out: RawRecord[] = [];
  const frames = new RecordFrames(buf);
  const view = frames.view;
  let lastOwner = -1, lastOwnerEnd = -1, lastKey: Uint8Array | undefined;
  let p1 = 0, p2 = 0;
  while (frames.next()) {
    const { owner, body, end } = frames;
    let key: Uint8Array;
    // Records of one owner usually come together: reuse the key when the owner bytes repeat.
    if (lastKey && body - owner === lastOwnerEnd - lastOwner && sameOctets(buf, owner, lastOwner, body - owner)) {
      key = lastKey;
    } else {
      try {
        key = wireSortKey(buf, owner, body).key;
      } catch (err) {
        // The frame reader has checked the owner already; this only guards against the two disagreeing.
        if (err instanceof WireNameError) throw new RecordStreamError(err.message, owner);
        throw err;
      }
      if (!keyHasPrefix(key, apexKey)) throw new RecordStreamError("owner is outside the zone", owner);
    }
    const type = view.getUint16(body + TYPE_AT);
    let tree: Tree = TREE_MAIN;
    if (type === RRType.NSEC3) tree = TREE_NSEC3;
    else if (type === RRType.RRSIG && end - body >= FIXED_FIELDS + 2 && view.getUint16(body + FIXED_FIELDS) === RRType.NSEC3) tree = TREE_NSEC3;
    if (key !== lastKey) {
      p1 = octets48(key, apexKey.length);
      p2 = octets48(key, apexKey.length + 6);
    }
    out.push({ key, p1, p2, tree, owner, body, end, type });
    lastOwner = owner;
    lastOwnerEnd = body;
    lastKey = key;
  }
  out.sort((a, b) => compareRaw(buf, a, b));
  return out;
}

/** A piece being filled: block format, written by copying. */
export class PieceWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 3;
  private nodes = 0;
  private countAt = -1;
  private records = 0;
  private readonly expiry: EarliestExpiry;
  firstKey: Uint8Array | undefined;
  lastKey: Uint8Array | undefined;

  /** `now` (ms) is the instant RRSIG times are read against (`rrsig-expiry.ts`). */
  constructor(capacity: number, now = Date.now()) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
    this.expiry = new EarliestExpiry(now);
  }

  /** The earliest RRSIG expiration among the records added (ms), or null. */
  get rrsigExpiresAt(): number | null {
    return this.expiry.ms;
  }

  get size(): number {
    return this.len;
  }

  get nodeCount(): number {
    return this.nodes;
  }

  get recordCount(): number {
    return this.records;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Starts a node: its owner name (wire bytes) and a record count filled in as records come. */
  startNode(key: Uint8Array, owner: Uint8Array): void {
    this.ensure(owner.length + 2);
    this.buf.set(owner, this.len);
    this.len += owner.length;
    this.countAt = this.len;
    this.view.setUint16(this.len, 0);
    this.len += 2;
    this.nodes++;
    this.firstKey ??= key;
    this.lastKey = key;
  }

  /** Appends one record's type..rdata bytes to the current node. */
  addRecord(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.expiry.recordAt(this.view, this.len);
    this.len += bytes.length;
    this.view.setUint16(this.countAt, this.view.getUint16(this.countAt) + 1);
    this.records++;
  }

  /** Appends a whole encoded node. */
  addNode(node: RawNode): void {
    const bytes = node.buf.subarray(node.start, node.end);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    // The node's records, past its owner name and count, for their RRSIG expirations.
    let pos = this.len;
    while (this.buf[pos]! !== 0) pos += this.buf[pos]! + 1;
    pos += 3;
    for (let i = 0; i < node.records; i++) {
      this.expiry.recordAt(this.view, pos);
      pos += 10 + this.view.getUint16(pos + 8);
    }
    this.len += bytes.length;
    this.nodes++;
    this.records += node.records;
    this.firstKey ??= node.key;
    this.lastKey = node.key;
  }

  finish(): Uint8Array {
    this.buf[0] = 1;
    this.view.setUint16(1, this.nodes);
    return this.buf.slice(0, this.len);
  }
}

/**
 * Writes sorted raw records as pieces of about `targetBytes` (an owner is never split, and a piece never
 * grows past the target by adding an owner, unless that owner alone is bigger), per tree. `onPiece`
 * receives each finished piece.
 * @throws RecordStreamError when one owner alone exceeds `maxNodeBytes`.
 */
export function writePieces(
  buf: Uint8Array,
  records: readonly RawRecord[],
  targetBytes: number,
  maxNodes: number,
  maxNodeBytes: number,
  onPiece: (tree: Tree, piece: PieceWriter) => void,
): void {
  let writer: PieceWriter | undefined;
  let tree: Tree = TREE_MAIN;
  for (let i = 0; i < records.length; ) {
    const first = records[i]!;
    // The owner's group of records, and its encoded size.
    let j = i + 1;
    let bytes = first.body - first.owner + 2 + (first.end - first.body);
    while (j < records.length && records[j]!.tree === first.tree && compareBytes(records[j]!.key, first.key) === 0) {
      bytes += records[j]!.end - records[j]!.body;
      j++;
    }
    if (bytes > maxNodeBytes) throw new RecordStreamError(`one owner holds ${bytes} bytes of records, more than ${maxNodeBytes}`, first.owner, "too-large");
    if (writer && (first.tree !== tree || writer.size + bytes > targetBytes || writer.nodeCount >= maxNodes)) {
      onPiece(tree, writer);
      writer = undefined;
    }
    tree = first.tree;
    writer ??= new PieceWriter(Math.max(targetBytes, bytes + 3));
    writer.startNode(first.key, buf.subarray(first.owner, first.body));
    let prev: RawRecord | undefined;
    for (let k = i; k < j; k++) {
      const r = records[k]!;
      if (prev && sameRaw(buf, prev, r)) continue; // an exact duplicate (the AXFR's closing SOA)
      writer.addRecord(buf.subarray(r.body, r.end));
      prev = r;
    }
    i = j;
  }
  if (writer) onPiece(tree, writer);
}

/** The nodes of an encoded block or piece, by offsets (one sort key allocated per node). */
export function rawNodes(block: Uint8Array): RawNode[] {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const count = view.getUint16(1);
  const out: RawNode[] = new Array(count);
  let pos = 3;
  for (let i = 0; i < count; i++) {
    const start = pos;
    const { key, next } = wireSortKey(block, pos);
    const n = view.getUint16(next);
    pos = next + 2;
    for (let j = 0; j < n; j++) pos += 10 + view.getUint16(pos + 8);
    out[i] = { key, buf: block, start, end: pos, records: n };
  }
  return out;
}

/** Decodes one raw node into a `StoredNode` (for the rare merge of an owner split across chunks). */
export function decodeRawNode(node: RawNode): StoredNode {
  const single = new Uint8Array(3 + node.end - node.start);
  single[0] = 1;
  single[2] = 1;
  single.set(node.buf.subarray(node.start, node.end), 3);
  return decodeBlock(single)[0]!;
}

/** Merges two raw nodes of the same owner into one (decoded, unioned, re-encoded). */
export function mergeRawNodes(a: RawNode, b: RawNode): RawNode {
  const merged = mergeSameOwner(decodeRawNode(a), decodeRawNode(b));
  const block = encodeBlock([merged]);
  return { key: a.key, buf: block, start: 3, end: block.length, records: merged.records.length };
}
