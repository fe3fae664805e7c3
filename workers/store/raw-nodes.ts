/**
 * @module Ingest without objects per record, on the Worker's side: the commit's merge walks encoded pieces
 * node by node and copies node bytes into blocks (only an owner that arrived in several chunks is decoded
 * and re-encoded), an IXFR frames the blocks it touches, and a chunk of blocks the transfer-service cut
 * (issue 28) is checked before it is bound (`checkBlockChunk`). The cutting itself is shared with the
 * service: `answer/store/block-cutter.ts`.
 */
import { BlockFormatError, decodeBlock, encodeBlock } from "./block-codec.ts";
import { mergeSameOwner } from "../../answer/store/canonical-nodes.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode } from "../../answer/store/stored-node.ts";
import { BLOCK_FORMAT, BLOCK_HEADER, BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES, treeAt } from "../../answer/store/block-cutter.ts";
import type { NodeSpan } from "../../answer/store/block-cutter.ts";
import { BlockChunkError, BlockChunkFrames } from "../../answer/store/block-chunk.ts";
import type { CutBlock } from "../../answer/store/block-chunk.ts";
import { FIXED_FIELDS, RDLENGTH_AT } from "../../contract/record-stream.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { compareWireNames, keyHasPrefix, wireSortKey } from "../../dns/sort-key.ts";

export { canonicalPieces, indexStream, PieceWriter, writePieces } from "../../answer/store/block-cutter.ts";
export type { NodeSpan, RawRecord } from "../../answer/store/block-cutter.ts";

/** A node span with its sort key. */
export interface RawNode extends NodeSpan {
  key: Uint8Array;
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

/**
 * The nodes of an encoded block by offsets only, without sort keys (an IXFR makes keys only for the nodes
 * it looks at: `changeset-apply.ts`).
 * @throws BlockFormatError for bytes that do not frame as a block.
 */
export function nodeSpans(block: Uint8Array): NodeSpan[] {
  if (block.length < 3 || block[0] !== 1) throw new BlockFormatError("not a block (bad format octet)");
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const count = view.getUint16(1);
  const out: NodeSpan[] = new Array(count);
  let pos = 3;
  for (let i = 0; i < count; i++) {
    const start = pos;
    while (pos < block.length && block[pos]! !== 0) pos += block[pos]! + 1;
    if (pos + 3 > block.length) throw new BlockFormatError("block cut short in an owner name");
    const n = view.getUint16(pos + 1);
    pos += 3;
    for (let j = 0; j < n; j++) {
      if (pos + 10 > block.length) throw new BlockFormatError("block cut short in a record");
      pos += 10 + view.getUint16(pos + 8);
    }
    if (pos > block.length) throw new BlockFormatError("block cut short in a record");
    out[i] = { buf: block, start, end: pos, records: n };
  }
  if (pos !== block.length) throw new BlockFormatError(`${block.length - pos} octet(s) left over after the block`);
  return out;
}

/** Decodes one raw node into a `StoredNode` (for the rare merge of an owner split across chunks). */
export function decodeRawNode(node: NodeSpan): StoredNode {
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

const TREE_NAMES = ["name tree", "NSEC3 chain"] as const;

/**
 * Checks a chunk of blocks the transfer-service cut (`answer/store/block-chunk.ts`, issue 28) and returns
 * them as the block rows to bind, without decoding a record or building a sort key per owner:
 * - each frame: tree 0 or 1 (the name tree's blocks first), the block format octet, 1 to
 *   BLOCK_MAX_NODES nodes, at most BLOCK_TARGET_BYTES unless it holds one node (then at most
 *   NODE_MAX_BYTES past the header: D1's 100 KB a statement);
 * - each node: an uncompressed owner within the block and RFC 1035's limits, strictly after the node before
 *   it in canonical order (compared in place, `compareWireNames`), at least one record, each record inside
 *   the block and of the block's tree (NSEC3 records and the RRSIGs over them in the chain, nothing else
 *   there);
 * - each block after the previous block of its tree (its first key above that one's last), and its first
 *   and last owners at or below the apex: every key between two such keys is too (the keys below the apex
 *   are one range of that order), so owners in between need no check of their own.
 * Records are counted and RRSIG expirations read on the way (`now` is what they are read against). What
 * this does not check is each node's records' own order and uniqueness, which the cutter sorts and
 * deduplicates (the answer path reads them as stored).
 * @throws BlockChunkError naming the block (and node) at fault.
 */
export function checkBlockChunk(body: Uint8Array, apexKey: Uint8Array, now = Date.now()): { blocks: CutBlock[]; records: number } {
  const frames = new BlockChunkFrames(body);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const blocks: CutBlock[] = [];
  let records = 0;
  let lastTree = -1;
  let lastKey: Uint8Array | undefined;
  while (frames.next()) {
    const { tree, start, end } = frames;
    const where = `block ${frames.index}`;
    if (tree !== TREE_MAIN && tree !== TREE_NSEC3) throw new BlockChunkError(`${where}: tree ${tree} (0 is the name tree, 1 the NSEC3 chain)`);
    if (tree < lastTree) throw new BlockChunkError(`${where}: the name tree's blocks come before the NSEC3 chain's`);
    if (tree !== lastTree) {
      lastTree = tree;
      lastKey = undefined;
    }
    const size = end - start;
    if (size < BLOCK_HEADER || body[start] !== BLOCK_FORMAT) throw new BlockChunkError(`${where}: not a block (format octet ${body[start] ?? "missing"})`);
    const count = view.getUint16(start + 1);
    if (count === 0 || count > BLOCK_MAX_NODES) throw new BlockChunkError(`${where}: ${count} nodes (a block holds 1 to ${BLOCK_MAX_NODES})`);
    if (size > BLOCK_HEADER + NODE_MAX_BYTES || (count > 1 && size > BLOCK_TARGET_BYTES)) {
      throw new BlockChunkError(
        `${where}: ${size} octets in ${count} nodes (a block is at most ${BLOCK_TARGET_BYTES} octets, or one node of at most ${NODE_MAX_BYTES})`,
      );
    }
    const expiry = new EarliestExpiry(now);
    let pos = start + BLOCK_HEADER;
    let previous = -1;
    let blockRecords = 0;
    for (let i = 0; i < count; i++) {
      const owner = pos;
      let labels = 0;
      for (;;) {
        if (pos >= end) throw new BlockChunkError(`${where}: node ${i}: owner runs past the end`);
        const len = body[pos]!;
        if (len === 0) break;
        if (len > 63) throw new BlockChunkError(`${where}: node ${i}: owner has a compressed or over-long label`);
        if (++labels > 127 || pos + 1 + len - owner > 254) throw new BlockChunkError(`${where}: node ${i}: owner longer than 255 octets`);
        pos += 1 + len;
      }
      pos += 1;
      if (previous >= 0 && compareWireNames(body, owner, body, previous) <= 0) {
        throw new BlockChunkError(`${where}: node ${i} is not after node ${i - 1} in canonical order`);
      }
      previous = owner;
      if (pos + 2 > end) throw new BlockChunkError(`${where}: node ${i}: record count runs past the end`);
      const n = view.getUint16(pos);
      pos += 2;
      if (n === 0) throw new BlockChunkError(`${where}: node ${i} has no records`);
      for (let j = 0; j < n; j++) {
        if (pos + FIXED_FIELDS > end) throw new BlockChunkError(`${where}: node ${i}: record ${j} runs past the end`);
        const recordEnd = pos + FIXED_FIELDS + view.getUint16(pos + RDLENGTH_AT);
        if (recordEnd > end) throw new BlockChunkError(`${where}: node ${i}: record ${j}'s rdata runs past the end`);
        if (treeAt(view, pos, recordEnd) !== tree) {
          throw new BlockChunkError(`${where}: node ${i}: record ${j} (type ${view.getUint16(pos)}) does not belong in the ${TREE_NAMES[tree]}`);
        }
        expiry.recordAt(view, pos);
        pos = recordEnd;
      }
      blockRecords += n;
    }
    if (pos !== end) throw new BlockChunkError(`${where}: ${end - pos} octets after the last node`);
    const firstKey = wireSortKey(body, start + BLOCK_HEADER).key;
    const blockLastKey = wireSortKey(body, previous).key;
    if (!keyHasPrefix(firstKey, apexKey) || !keyHasPrefix(blockLastKey, apexKey)) throw new BlockChunkError(`${where}: an owner is outside the zone`);
    if (lastKey && compareBytes(firstKey, lastKey) <= 0) throw new BlockChunkError(`${where}: does not start after the end of the block before it`);
    lastKey = blockLastKey;
    records += blockRecords;
    blocks.push({ tree, firstKey, lastKey: blockLastKey, records: blockRecords, rrsigExpiresAt: expiry.ms, data: body.subarray(start, end) });
  }
  return { blocks, records };
}
