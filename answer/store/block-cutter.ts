/**
 * @module Cutting a record stream into blocks (the D1 block format of `workers/store/block-codec.ts`), by
 * copying: shared by the transfer-service, which cuts each ingest chunk into blocks before sending it (issue
 * 28: a Node core is cheaper than the Worker's single isolate, busy for a whole 1M-record transfer), and the
 * Worker, which still cuts the whole-zone request's stream, staged runs and an IXFR's rewritten blocks.
 *
 * A chunk's records are either cut as they are read, when its owners come in canonical order (every
 * primary's; `canonicalPieces`: no sort, no object per record), or indexed in place (offsets into the
 * stream plus one sort key per owner), sorted and copied (`indexStream` + `writePieces`). The block layout
 * puts a record exactly as the stream does after the owner (type, class, ttl, rdlength, rdata), which is
 * what makes this a series of copies.
 */
import { RRType } from "../../dns/constants.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { compareWireNames, keyHasPrefix, wireNameAtOrBelow, wireSortKey, WireNameError } from "../../dns/sort-key.ts";
import { CLASS_AT, FIXED_FIELDS, RecordFrames, RecordStreamError, TYPE_AT } from "../../contract/record-stream.ts";
import { EarliestExpiry } from "./rrsig-expiry.ts";
import { TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { Tree } from "./stored-node.ts";

/**
 * Target size of a block: small enough that a cache miss moves little and that an IXFR, which rewrites
 * every block it touches, writes about what changed (a 1,000-record change spread over a 1M-record zone
 * touches ~1,000 blocks: 4 MB at 4 KiB, the whole zone at the former 32 KiB); big enough to keep rows few
 * (~10k per 1M records, written ~14 to a statement: `block-table.ts` `insertBlocksStatements`).
 */
export const BLOCK_TARGET_BYTES = 4 * 1024;
/** Bounds the cost of decoding a block on a cache miss (a Name and a sort key per node). */
export const BLOCK_MAX_NODES = 256;
/**
 * Largest single owner accepted (a block of one node may exceed the target). Leaves room for the SQL
 * text, two keys of up to ~260 bytes and the numeric columns within D1's 100 KB a statement.
 */
export const NODE_MAX_BYTES = 96 * 1024;
/** The block format's first octet, and the header's size (format, u16 node count). */
export const BLOCK_FORMAT = 1;
export const BLOCK_HEADER = 3;

/** One record of a stream, by offsets. */
export interface RawRecord {
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
}

/** A node inside an encoded block or piece: the byte range [start, end) of its encoding. */
export interface NodeSpan {
  buf: Uint8Array;
  start: number;
  end: number;
  records: number;
}

function compareRaw(buf: Uint8Array, a: RawRecord, b: RawRecord): number {
  return a.tree - b.tree || a.p1 - b.p1 || a.p2 - b.p2 || compareBytes(a.key, b.key) || compareRecordBodies(buf, a.body, a.end, b.body, b.end);
}

/**
 * Two records of one owner, from their type fields (`aBody`, `bBody`) to their ends: by type, then rdata,
 * then class (RFC 4034 §6.3 order inside an RRset; class only separates odd mixes). TTL aside.
 */
export function compareRecordBodies(buf: Uint8Array, aBody: number, aEnd: number, bBody: number, bEnd: number): number {
  let c = ((buf[aBody + TYPE_AT]! << 8) | buf[aBody + TYPE_AT + 1]!) - ((buf[bBody + TYPE_AT]! << 8) | buf[bBody + TYPE_AT + 1]!);
  if (c !== 0) return c;
  const ra = aBody + FIXED_FIELDS, rb = bBody + FIXED_FIELDS;
  const la = aEnd - ra, lb = bEnd - rb;
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    c = buf[ra + i]! - buf[rb + i]!;
    if (c !== 0) return c;
  }
  c = la - lb;
  if (c !== 0) return c;
  const ca = aBody + CLASS_AT, cb = bBody + CLASS_AT;
  return ((buf[ca]! << 8) | buf[ca + 1]!) - ((buf[cb]! << 8) | buf[cb + 1]!);
}

/** Same record: equal key, type, class and rdata (TTL aside). */
function sameRaw(buf: Uint8Array, a: RawRecord, b: RawRecord): boolean {
  return compareRaw(buf, a, b) === 0 && a.tree === b.tree;
}

/** The tree a record at `body` (its type field) belongs in: NSEC3 records and their RRSIGs have their own. */
export function treeAt(view: DataView, body: number, end: number): Tree {
  const type = view.getUint16(body + TYPE_AT);
  if (type === RRType.NSEC3) return TREE_NSEC3;
  if (type === RRType.RRSIG && end - body >= FIXED_FIELDS + 2 && view.getUint16(body + FIXED_FIELDS) === RRType.NSEC3) return TREE_NSEC3;
  return TREE_MAIN;
}

/** Six octets of `key` from `at` as a number (missing octets are 0, which keeps memcmp order). */
function octets48(key: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 6; i++) v = v * 256 + (key[i] ?? 0);
  return v;
}

export function sameOctets(buf: Uint8Array, a: number, b: number, n: number): boolean {
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
    const tree = treeAt(view, body, end);
    if (key !== lastKey) {
      p1 = octets48(key, apexKey.length);
      p2 = octets48(key, apexKey.length + 6);
    }
    out.push({ key, p1, p2, tree, owner, body, end });
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
  private len = BLOCK_HEADER;
  private nodes = 0;
  private countAt = -1;
  private records = 0;
  private expiry: EarliestExpiry;
  firstKey: Uint8Array | undefined;
  lastKey: Uint8Array | undefined;

  /** `now` (ms) is the instant RRSIG times are read against (`rrsig-expiry.ts`). */
  constructor(
    capacity: number,
    private readonly now = Date.now(),
  ) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
    this.expiry = new EarliestExpiry(now);
  }

  /**
   * Empties the piece for the next one, keeping its buffer: the cutters hand a piece on, then reuse its
   * writer (a fresh 4 KiB buffer per block was a tenth of the cut's CPU in the service's profile).
   */
  reset(): void {
    this.len = BLOCK_HEADER;
    this.nodes = 0;
    this.countAt = -1;
    this.records = 0;
    this.expiry = new EarliestExpiry(this.now);
    this.firstKey = undefined;
    this.lastKey = undefined;
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

  /**
   * Copies `src[start, end)` to the end of the piece. Owners and records are short (tens of octets), where a
   * loop beats `set(src.subarray(…))`, which allocates a view per call: two per record of a full transfer
   * in the transfer-service's cutter (issue 28).
   */
  private copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    let at = this.len;
    if (n > 64) buf.set(src.subarray(start, end), at);
    else for (let i = start; i < end; i++) buf[at++] = src[i]!;
    this.len += n;
  }

  /**
   * Starts a node: its owner name (the wire bytes `src[start, end)`) and a record count filled in as records
   * come. Without `key`, the caller sets `firstKey` and `lastKey` itself before the piece is used.
   */
  startNode(key: Uint8Array | undefined, src: Uint8Array, start: number, end: number): void {
    this.copy(src, start, end);
    this.ensure(2);
    this.countAt = this.len;
    this.buf[this.len] = 0;
    this.buf[this.len + 1] = 0;
    this.len += 2;
    this.nodes++;
    if (key) {
      this.firstKey ??= key;
      this.lastKey = key;
    }
  }

  /** Appends one record's type..rdata bytes (`src[start, end)`) to the current node. */
  addRecord(src: Uint8Array, start: number, end: number): void {
    const at = this.len;
    this.copy(src, start, end);
    this.expiry.recordAt(this.view, at);
    const c = this.countAt;
    const count = ((this.buf[c]! << 8) | this.buf[c + 1]!) + 1;
    this.buf[c] = count >> 8;
    this.buf[c + 1] = count & 0xff;
    this.records++;
  }

  /** Appends a whole encoded node. Without its key, the caller sets `firstKey` and `lastKey` itself. */
  addNode(node: NodeSpan & { key?: Uint8Array | undefined }): void {
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
    if (node.key) {
      this.firstKey ??= node.key;
      this.lastKey = node.key;
    }
  }

  finish(): Uint8Array {
    return this.finishView().slice();
  }

  /** The finished piece as a view of the writer's buffer: valid until the next `reset` or write. */
  finishView(): Uint8Array {
    this.buf[0] = BLOCK_FORMAT;
    this.view.setUint16(1, this.nodes);
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Writes sorted raw records as pieces of about `targetBytes` (an owner is never split, and a piece never
 * grows past the target by adding an owner, unless that owner alone is bigger), per tree. `onPiece`
 * receives each finished piece, whose writer is emptied and reused once it returns.
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
  // A piece handed on is emptied and its writer reused (`onPiece` must take what it needs before it returns).
  let writer: PieceWriter | undefined, spare: PieceWriter | undefined;
  let tree: Tree = TREE_MAIN;
  for (let i = 0; i < records.length; ) {
    const first = records[i]!;
    // The owner's group of records, and its encoded size.
    let j = i + 1;
    let bytes = first.body - first.owner + 2 + (first.end - first.body);
    while (j < records.length && records[j]!.tree === first.tree && compareBytes(records[j]!.key, first.key) === 0) {
      // An exact duplicate is not written (below), so it takes no room: counted, it could cut the piece a node
      // earlier than the Worker's writer, which deduplicates first.
      if (!sameRaw(buf, records[j - 1]!, records[j]!)) bytes += records[j]!.end - records[j]!.body;
      j++;
    }
    if (bytes > maxNodeBytes) throw new RecordStreamError(`one owner holds ${bytes} bytes of records, more than ${maxNodeBytes}`, first.owner, "too-large");
    if (writer && (first.tree !== tree || writer.size + bytes > targetBytes || writer.nodeCount >= maxNodes)) {
      onPiece(tree, writer);
      writer.reset();
      spare = writer;
      writer = undefined;
    }
    tree = first.tree;
    writer ??= spare ?? new PieceWriter(Math.max(targetBytes, bytes + 3));
    writer.startNode(first.key, buf, first.owner, first.body);
    let prev: RawRecord | undefined;
    for (let k = i; k < j; k++) {
      const r = records[k]!;
      if (prev && sameRaw(buf, prev, r)) continue; // an exact duplicate (the AXFR's closing SOA)
      writer.addRecord(buf, r.body, r.end);
      prev = r;
    }
    i = j;
  }
  if (writer) onPiece(tree, writer);
}

/**
 * The usual chunk, cut straight into pieces without sorting: when the stream's owners come in canonical
 * order (each owner's records together, as knotd, named and nsd send a zone) and none belongs in the NSEC3
 * tree, every owner is copied into the pieces as it is read, its few records sorted and deduplicated in
 * place. No object per record: each owner is compared in place with the one before it (`compareWireNames`)
 * and sort keys are built only for each piece's first and last owner. Pieces are cut as {@link writePieces}
 * cuts them.
 * @returns the records read, or undefined as soon as the stream turns out not to be such a chunk (the
 *   caller then sorts it with {@link indexStream}; pieces already handed to `onPiece` are to be dropped).
 * @throws RecordStreamError for malformed or out-of-zone records, or an owner over `maxNodeBytes`.
 */
export function canonicalPieces(
  buf: Uint8Array,
  apex: Uint8Array,
  targetBytes: number,
  maxNodes: number,
  maxNodeBytes: number,
  onPiece: (tree: Tree, piece: PieceWriter) => void,
): number | undefined {
  const frames = new RecordFrames(buf);
  const view = frames.view;
  // A piece handed on is emptied and its writer reused (`onPiece` must take what it needs before it returns).
  let writer: PieceWriter | undefined, spare: PieceWriter | undefined;
  let count = 0;
  // The owner being gathered: its first spelling [ownerAt, ownerEnd), its records' offsets.
  let ownerAt = -1, ownerEnd = -1;
  // Reused from owner to owner: `held` entries are the current owner's.
  const bodies: number[] = [], ends: number[] = [];
  let held = 0;
  // Owners of the piece being filled: the first and the last (their keys are made when it is handed on).
  let firstAt = 0, lastAt = 0;
  const handOn = (w: PieceWriter): void => {
    w.firstKey = wireSortKey(buf, firstAt).key;
    w.lastKey = wireSortKey(buf, lastAt).key;
    onPiece(TREE_MAIN, w);
  };
  const flushOwner = (): void => {
    const n = sortOwnerRecords(buf, bodies, ends, held);
    let bytes = ownerEnd - ownerAt + 2;
    for (let i = 0; i < n; i++) bytes += ends[i]! - bodies[i]!;
    if (bytes > maxNodeBytes) throw new RecordStreamError(`one owner holds ${bytes} bytes of records, more than ${maxNodeBytes}`, ownerAt, "too-large");
    if (writer && (writer.size + bytes > targetBytes || writer.nodeCount >= maxNodes)) {
      handOn(writer);
      writer.reset();
      spare = writer;
      writer = undefined;
    }
    if (!writer) {
      writer = spare ?? new PieceWriter(Math.max(targetBytes, bytes + 3));
      firstAt = ownerAt;
    }
    lastAt = ownerAt;
    writer.startNode(undefined, buf, ownerAt, ownerEnd);
    for (let i = 0; i < n; i++) writer.addRecord(buf, bodies[i]!, ends[i]!);
    held = 0;
  };
  while (frames.next()) {
    const { owner, body, end } = frames;
    count++;
    if (treeAt(view, body, end) !== TREE_MAIN) return undefined;
    // The frame reader has checked the owner's form, so it is compared where it lies.
    if (ownerAt < 0 || body - owner !== ownerEnd - ownerAt || !sameOctets(buf, owner, ownerAt, body - owner)) {
      if (!wireNameAtOrBelow(buf, owner, apex)) throw new RecordStreamError("owner is outside the zone", owner);
      const order = ownerAt < 0 ? 1 : compareWireNames(buf, owner, buf, ownerAt);
      if (order < 0) return undefined;
      // order 0: the same owner in another letter case; its records join the first spelling's.
      if (order > 0) {
        if (ownerAt >= 0) flushOwner();
        ownerAt = owner;
        ownerEnd = body;
      }
    }
    bodies[held] = body;
    ends[held] = end;
    held++;
  }
  if (ownerAt >= 0) flushOwner();
  if (writer) handOn(writer);
  return count;
}

/**
 * Sorts one owner's records (offsets of their type fields and ends) by type, rdata and class, and drops
 * exact duplicates (the AXFR's closing SOA; TTL aside, the first kept): the first `n` entries. Returns how
 * many remain in front.
 */
function sortOwnerRecords(buf: Uint8Array, bodies: number[], ends: number[], n: number): number {
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = compareRecordBodies(buf, bodies[i - 1]!, ends[i - 1]!, bodies[i]!, ends[i]!) < 0;
  if (sorted) return n;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareRecordBodies(buf, bodies[a]!, ends[a]!, bodies[b]!, ends[b]!) || a - b);
  const b2 = order.map((i) => bodies[i]!), e2 = order.map((i) => ends[i]!);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (kept > 0 && compareRecordBodies(buf, bodies[kept - 1]!, ends[kept - 1]!, b2[i]!, e2[i]!) === 0) continue;
    bodies[kept] = b2[i]!;
    ends[kept] = e2[i]!;
    kept++;
  }
  return kept;
}
