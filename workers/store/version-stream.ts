/**
 * @module A committed version read back as a record stream (for AXFR out and for checks): every record,
 * the apex SOA first, then the rest in canonical order (RFC 4034 §6.1), the NSEC3 chain last. Read a few
 * blocks per query, so a 1M-record zone is never held whole. A version with an IXFR overlay (issue 28,
 * `overlay.ts`) reads as its blocks with the overlay merged in (`OverlayBlockMerger`: only the blocks an
 * overlaid owner falls in are rebuilt, by copying octets), one query more for the overlay.
 */
import { RRType } from "../../dns/constants.ts";
import { BlockFormatError, decodeBlock } from "./block-codec.ts";
import { blockAtOrBeforeStatement, firstRow, pageStatement, rowsOf } from "./block-table.ts";
import { OverlayBlockMerger } from "./overlay.ts";
import type { Overlay } from "./overlay.ts";
import { readOverlay } from "./overlay-table.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { Budget } from "./statement-budget.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";

/**
 * Every node of a version, tree by tree, in canonical order (export, catalogs, primary-zone edits). Pages of
 * `STREAM_BLOCKS_PER_QUERY` blocks like the stream below, so a 1M-record export stays far under D1's 1,000
 * queries per invocation (8 blocks a query needed ~1,100); only the page's octets are held, nodes decoded one
 * block at a time.
 */
export async function* versionNodes(
  db: D1Queryable,
  zoneId: number,
  version: number,
  blocksPerQuery = STREAM_BLOCKS_PER_QUERY,
): AsyncGenerator<StoredNode> {
  for await (const page of versionBlocks(db, zoneId, version, blocksPerQuery)) for (const data of page) yield* decodeBlock(data);
}

/**
 * The nodes of one tree of a version from `from` on (every node whose key is not below it), the overlay
 * merged in: the block holding `from`, then pages of `blocksPerQuery` blocks (the records API's pages).
 */
export async function* versionNodesFrom(
  db: D1Queryable,
  zoneId: number,
  version: number,
  tree: Tree,
  from: Uint8Array | null,
  blocksPerQuery = 8,
): AsyncGenerator<StoredNode> {
  const budget = new Budget(db);
  const overlay = await readOverlay(budget, zoneId, version);
  const merger = new OverlayBlockMerger(overlay, tree, from ?? undefined);
  const keep = function* (datas: Uint8Array[]) {
    for (const data of datas) for (const node of decodeBlock(data)) if (!from || compareBytes(node.key, from) >= 0) yield node;
  };
  let after: Uint8Array | null = null;
  if (from) {
    const row = await firstRow(blockAtOrBeforeStatement(budget, zoneId, tree, from, version));
    if (row) {
      yield* keep(merger.block(row.data, row.lastKey));
      after = row.firstKey;
    }
  }
  for (;;) {
    const rows = rowsOf(await pageStatement(budget, zoneId, version, tree, after, blocksPerQuery).all());
    for (const row of rows) yield* keep(merger.block(row.data, row.lastKey));
    if (rows.length < blocksPerQuery) break;
    after = rows[rows.length - 1]!.firstKey;
  }
  yield* keep(merger.rest());
}

/**
 * Blocks read per query by `streamVersion`: ~1 MiB of data (~1.4 MB of base64 in the binding's JSON), so
 * a 100k-record zone takes 4 queries. Local D1 costs a lot per query: a 300k-record AXFR out waited
 * ~0.6 s on the Worker with 64 blocks a query and ~0.18 s with 256 (issue 21). It also keeps a 1M-record
 * zone (~9,000 blocks) at ~40 queries, far under D1's 1,000 queries per invocation (Workers Paid; one
 * streamed response is one invocation), which 8 blocks a query passed; D1's result limit is 50 MB.
 */
const STREAM_BLOCKS_PER_QUERY = 256;
/**
 * Chunks the stream reads ahead of the client: the next pages' D1 queries run while the service packs
 * the last one, instead of one round trip per page in series: a few MiB of the isolate's memory.
 */
const STREAM_PAGES_AHEAD = 3;

/**
 * The data of every block of a version, tree by tree, in canonical order, a page at a time, with the
 * version's overlay merged in (a page is never empty).
 */
async function* versionBlocks(db: D1Queryable, zoneId: number, version: number, blocksPerQuery = STREAM_BLOCKS_PER_QUERY): AsyncGenerator<Uint8Array[]> {
  const budget = new Budget(db);
  const overlay: Overlay = await readOverlay(budget, zoneId, version);
  for (const tree of [TREE_MAIN, TREE_NSEC3] as Tree[]) {
    const merger = overlay.isEmpty ? null : new OverlayBlockMerger(overlay, tree);
    let after: Uint8Array | null = null;
    for (;;) {
      const rows = rowsOf(await pageStatement(budget, zoneId, version, tree, after, blocksPerQuery).all());
      const page = merger ? rows.flatMap((row) => merger.block(row.data, row.lastKey)) : rows.map((row) => row.data);
      const last = rows.length < blocksPerQuery;
      if (last && merger) page.push(...merger.rest());
      if (page.length > 0) yield page;
      if (last) break;
      after = rows[rows.length - 1]!.firstKey;
    }
  }
}

/**
 * The stream of a committed version, or null when there is no such committed version. Each page of blocks
 * becomes one chunk of the stream by copying octets (`blocksAsStream`): a block already holds each record's
 * owner, fixed fields and RDATA in wire form, so no node or record object is made (issue 21: decoding
 * blocks into objects and encoding them again was most of the Worker's time in an AXFR out).
 */
export async function streamVersion(
  db: D1Queryable,
  zoneId: number,
  version: number,
): Promise<{ serial: number; body: ReadableStream<Uint8Array> } | null> {
  const row = await db
    .prepare("SELECT serial FROM zone_versions WHERE zone_id = ?1 AND version = ?2 AND state = 'committed'")
    .bind(zoneId, version)
    .first<{ serial: number }>();
  if (!row) return null;
  const pages = versionBlocks(db, zoneId, version);
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await pages.next();
      if (next.done) {
        controller.close();
        return;
      }
      // The apex comes first in canonical order; its SOA goes to the very front, as AXFR wants.
      controller.enqueue(blocksAsStream(next.value, first));
      first = false;
    },
  }, new CountQueuingStrategy({ highWaterMark: STREAM_PAGES_AHEAD }));
  return { serial: row.serial, body };
}

const BLOCK_FORMAT = 1;
const BLOCK_HEADER = 3;
/** TYPE CLASS TTL RDLENGTH, the same in a block as in the stream. */
const FIXED = 10;

/** The offset just past the uncompressed owner name at `at` in a block. */
function ownerEnd(data: Uint8Array, at: number): number {
  let pos = at;
  for (;;) {
    const len = data[pos];
    if (len === undefined || len > 63) throw new BlockFormatError(`bad owner name in a block at octet ${at}`);
    if (len === 0) return pos + 1;
    pos += len + 1;
  }
}

/**
 * Blocks (`block-codec.ts`: per node its owner, a record count, and each record's fixed fields and RDATA)
 * rewritten as one record stream (`contract/record-stream.ts`: the owner before every record), by copying.
 * With `soaFirst`, the first node's SOA records go before its others (the apex, in the first block).
 * @throws BlockFormatError for octets that are not blocks.
 */
export function blocksAsStream(blocks: readonly Uint8Array[], soaFirst = false): Uint8Array {
  // First pass: the stream's size (each record repeats its owner).
  let size = 0;
  for (const data of blocks) {
    if (data.length < BLOCK_HEADER || data[0] !== BLOCK_FORMAT) throw new BlockFormatError("not a block (bad format octet)");
    const nodes = (data[1]! << 8) | data[2]!;
    let pos = BLOCK_HEADER;
    for (let i = 0; i < nodes; i++) {
      const owner = ownerEnd(data, pos) - pos;
      pos += owner;
      if (pos + 2 > data.length) throw new BlockFormatError("block cut short");
      const records = (data[pos]! << 8) | data[pos + 1]!;
      pos += 2;
      for (let j = 0; j < records; j++) {
        if (pos + FIXED > data.length) throw new BlockFormatError("block cut short");
        const record = FIXED + ((data[pos + 8]! << 8) | data[pos + 9]!);
        pos += record;
        size += owner + record;
      }
    }
    if (pos !== data.length) throw new BlockFormatError("block cut short or with trailing octets");
  }
  // Second pass: copy.
  const out = new Uint8Array(size);
  let at = 0;
  let apex = soaFirst;
  for (const data of blocks) {
    const nodes = (data[1]! << 8) | data[2]!;
    let pos = BLOCK_HEADER;
    for (let i = 0; i < nodes; i++) {
      const ownerAt = pos;
      pos = ownerEnd(data, pos);
      const owner = data.subarray(ownerAt, pos);
      const records = (data[pos]! << 8) | data[pos + 1]!;
      pos += 2;
      const recordsAt = pos;
      for (let pass = apex ? 0 : 1; pass < 2; pass++) {
        // Pass 0 (the apex only): its SOA records; pass 1: the others (every record for other nodes).
        pos = recordsAt;
        for (let j = 0; j < records; j++) {
          const end = pos + FIXED + ((data[pos + 8]! << 8) | data[pos + 9]!);
          const isSoa = data[pos] === 0 && data[pos + 1] === RRType.SOA;
          if (!apex || (pass === 0) === isSoa) {
            out.set(owner, at);
            out.set(data.subarray(pos, end), at + owner.length);
            at += owner.length + (end - pos);
          }
          pos = end;
        }
      }
      apex = false;
    }
  }
  return out;
}
