/**
 * @module A full transfer's ingest chunk as blocks (issue 28): the transfer-service cuts each chunk of the
 * record stream into the D1 block format itself (`cutBlocks`, the cutter the Worker ran before) and sends
 * the blocks in this framing; the Worker only checks them (`workers/store/raw-nodes.ts` `checkBlockChunk`)
 * and binds them. Both sides import this file, so the framing is written and read in one place.
 *
 *   u8  chunk format (1)
 *   per block, the blocks of a tree in canonical order, the name tree's before the NSEC3 chain's:
 *     u8  tree (0 the name tree, 1 the NSEC3 chain)
 *     u32 length of the block
 *     the block (`workers/store/block-codec.ts`: u8 format, u16 node count, the nodes)
 *
 * Sort keys are not sent: the Worker builds the two a block row needs (its first and last owner's) from the
 * block's own octets, which costs what checking keys sent beside it would, and leaves nothing to disagree.
 */
import { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, canonicalPieces, indexStream, NODE_MAX_BYTES, writePieces } from "./block-cutter.ts";
import type { PieceWriter } from "./block-cutter.ts";
import type { Tree } from "./stored-node.ts";

export const BLOCK_CHUNK_FORMAT = 1;
/** Per block: tree (1) and length (4). */
export const BLOCK_FRAME_HEADER = 5;

/** A block cut from a chunk, as the Worker's block row needs it. */
export interface CutBlock {
  tree: Tree;
  firstKey: Uint8Array;
  lastKey: Uint8Array;
  records: number;
  /** The earliest RRSIG expiration in the block (ms since the epoch), or null. */
  rrsigExpiresAt: number | null;
  data: Uint8Array;
}

function cutOf(tree: Tree, p: PieceWriter): CutBlock {
  return { tree, firstKey: p.firstKey!, lastKey: p.lastKey!, records: p.recordCount, rrsigExpiresAt: p.rrsigExpiresAt, data: p.finish() };
}

/**
 * Cuts one chunk of the record stream into blocks: as it is read when its owners come in canonical order
 * (`canonicalPieces`), else sorted on its own first (`indexStream` + `writePieces`: a shuffled primary, or
 * NSEC3 records). `records` counts the records read (an AXFR's closing SOA included; blocks hold it once).
 * @throws RecordStreamError for malformed or out-of-zone records, or an owner over `maxNodeBytes`.
 */
export function cutBlocks(
  stream: Uint8Array,
  apexWire: Uint8Array,
  apexKey: Uint8Array,
  targetBytes = BLOCK_TARGET_BYTES,
  maxNodes = BLOCK_MAX_NODES,
  maxNodeBytes = NODE_MAX_BYTES,
): { blocks: CutBlock[]; records: number } {
  let blocks: CutBlock[] = [];
  const records = eachBlock(stream, apexWire, apexKey, targetBytes, maxNodes, maxNodeBytes, (tree, p) => blocks.push(cutOf(tree, p)), () => (blocks = []));
  return { blocks, records };
}

/**
 * The one rule both cuts follow: each block of the chunk to `emit` as it is finished, read in place when the
 * owners come in canonical order (`canonicalPieces`), else, after `restart` (drop what that pass emitted),
 * sorted first (`indexStream` + `writePieces`). @returns the records read.
 */
function eachBlock(
  stream: Uint8Array,
  apexWire: Uint8Array,
  apexKey: Uint8Array,
  targetBytes: number,
  maxNodes: number,
  maxNodeBytes: number,
  emit: (tree: Tree, p: PieceWriter) => void,
  restart: () => void,
): number {
  const read = canonicalPieces(stream, apexWire, targetBytes, maxNodes, maxNodeBytes, emit);
  if (read !== undefined) return read;
  restart();
  const sorted = indexStream(stream, apexKey);
  writePieces(stream, sorted, targetBytes, maxNodes, maxNodeBytes, emit);
  return sorted.length;
}

/**
 * What the transfer-service sends for one chunk of the record stream: {@link cutBlocks}'s blocks, framed as
 * {@link encodeBlockChunk} frames them, written straight into one buffer as each block is finished (no
 * copy of a block of its own, no sort keys: the Worker builds the two it needs).
 * @throws RecordStreamError as {@link cutBlocks}.
 */
export function cutBlockChunk(
  stream: Uint8Array,
  apexWire: Uint8Array,
  apexKey: Uint8Array,
  targetBytes = BLOCK_TARGET_BYTES,
  maxNodes = BLOCK_MAX_NODES,
  maxNodeBytes = NODE_MAX_BYTES,
): Uint8Array {
  // Blocks hold each owner once, so they are rarely bigger than the stream: an owner of one record gains
  // a count (2 octets), a block its header and frame (8).
  let out = new Uint8Array(stream.length + (stream.length >> 3) + 64);
  let len = 1;
  out[0] = BLOCK_CHUNK_FORMAT;
  const frame = (tree: Tree, p: PieceWriter): void => {
    const block = p.finishView();
    if (len + BLOCK_FRAME_HEADER + block.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, len + BLOCK_FRAME_HEADER + block.length));
      grown.set(out.subarray(0, len));
      out = grown;
    }
    out[len] = tree;
    out[len + 1] = block.length >>> 24;
    out[len + 2] = (block.length >> 16) & 0xff;
    out[len + 3] = (block.length >> 8) & 0xff;
    out[len + 4] = block.length & 0xff;
    out.set(block, len + BLOCK_FRAME_HEADER);
    len += BLOCK_FRAME_HEADER + block.length;
  };
  eachBlock(stream, apexWire, apexKey, targetBytes, maxNodes, maxNodeBytes, frame, () => (len = 1));
  return out.subarray(0, len);
}

/** The framing above, for the blocks of one chunk. */
export function encodeBlockChunk(blocks: readonly { tree: Tree; data: Uint8Array }[]): Uint8Array {
  let size = 1;
  for (const b of blocks) size += BLOCK_FRAME_HEADER + b.data.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = BLOCK_CHUNK_FORMAT;
  let pos = 1;
  for (const b of blocks) {
    out[pos] = b.tree;
    view.setUint32(pos + 1, b.data.length);
    out.set(b.data, pos + BLOCK_FRAME_HEADER);
    pos += BLOCK_FRAME_HEADER + b.data.length;
  }
  return out;
}

/** A chunk of blocks that does not frame, or a block in it that breaks a rule (`checkBlockChunk`). */
export class BlockChunkError extends Error {
  override readonly name = "BlockChunkError";
}

/**
 * Reads the framing of a block chunk, block by block, without looking inside the blocks: after `next()`
 * returns true, `tree`, `start` and `end` are the current block's.
 */
export class BlockChunkFrames {
  tree = 0;
  start = 0;
  end = 1;
  index = -1;
  private readonly view: DataView;

  /** @throws BlockChunkError for an empty body or an unknown chunk format. */
  constructor(readonly buf: Uint8Array) {
    if (buf.length < 1 || buf[0] !== BLOCK_CHUNK_FORMAT) throw new BlockChunkError(`not a chunk of blocks (format octet ${buf[0] ?? "missing"}, expected ${BLOCK_CHUNK_FORMAT})`);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** @throws BlockChunkError for a frame cut short. */
  next(): boolean {
    const at = this.end;
    if (at >= this.buf.length) return false;
    this.index++;
    if (at + BLOCK_FRAME_HEADER > this.buf.length) throw new BlockChunkError(`block ${this.index}: frame header cut short`);
    this.tree = this.buf[at]!;
    const length = this.view.getUint32(at + 1);
    this.start = at + BLOCK_FRAME_HEADER;
    this.end = this.start + length;
    if (this.end > this.buf.length) throw new BlockChunkError(`block ${this.index}: ${length} octets announced, ${this.buf.length - this.start} left in the chunk`);
    return true;
  }
}
