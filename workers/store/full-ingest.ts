/**
 * @module A full transfer into D1 as a new zone version, built beside the served one and flipped in at
 * the end (begin → append chunks → commit, or abort).
 *
 * AXFR order is arbitrary (RFC 5936 §2.2) but blocks must hold owners in canonical order. Primaries
 * (knotd, named, nsd) send their zone in canonical order all the same, so the usual case is cheap:
 *  1. **Append** takes each chunk as block-format pieces per tree: cut by the transfer-service (issue 28,
 *     `appendBlocks`: the Worker only checks them, `raw-nodes.ts` `checkBlockChunk`), or, for a record
 *     stream (the whole-zone request), cut here by the same shared code (`appendChunk`,
 *     `answer/store/block-chunk.ts` `cutBlocks`: as it is read when its owners come in canonical order, no
 *     sort and no object per record, else after sorting the chunk on its own).
 *     - **Direct:** when the chunk's key range (per tree) overlaps no range already written directly,
 *       its pieces *are* final blocks: one D1 batch records the ranges in `ingest_ranges` (a
 *       compare-and-set that also checks the lease and the open version) and inserts the blocks with
 *       `added_version = V`, each insert guarded by the request's token, so the batch writes all or
 *       nothing. Chunks may arrive in any order (the service pipelines them): only overlap matters.
 *     - **Staged:** otherwise (an owner split across chunks, a shuffled primary) the pieces are stored
 *       as a sorted *run* in `ingest_runs`. A retried chunk (same `seq`) replaces its run; a retried
 *       direct chunk finds its own ranges and is a no-op.
 *  2. **Commit.** Without staged runs, the blocks are already the version: it only reads the apex block
 *     and the totals, in the round trip that checks the lease (the commit is two round trips with the
 *     flip). With staged runs, it k-way merges them with the direct blocks (read back as one
 *     more run) into blocks written under a shadow tree (`tree + 2`, which no reader asks for), folding
 *     owners that arrived in several chunks; the flip then drops the direct blocks and moves the shadow
 *     ones into place. A commit retried after a failure half-way starts its merge over.
 *  3. One D1 batch (a transaction) then moves `zones.current_version` to V, marks the old version's
 *     blocks `removed_version = V` and the version committed, guarded by a compare-and-set on the lease
 *     and the open version, so readers see the whole old zone or the whole new one, never a mix: every
 *     reader asks for the current version, which is < V until then.
 *  Abandoned versions are never referenced by `current_version`; their rows are deleted on the next
 *  begin or commit and by the sweep.
 */
import type { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";
import { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES } from "./block-builder.ts";
import { earliestRrsigStatement, insertBlocksStatements, insertEncodedBlockStatement } from "./block-table.ts";
import { retireOverlayStatement } from "./overlay-table.ts";
import type { EncodedBlock } from "./block-table.ts";
import { storedBytes, textToBytes } from "./blob-text.ts";
import { checkBlockChunk, decodeRawNode, mergeRawNodes, PieceWriter, rawNodes } from "./raw-nodes.ts";
import { BlockChunkError, cutBlocks } from "../../answer/store/block-chunk.ts";
import { BLOCK_FORMAT, BLOCK_HEADER } from "../../answer/store/block-cutter.ts";
import { RecordStreamError } from "./record-stream.ts";
import type { RawNode } from "./raw-nodes.ts";
import { readSoa } from "./soa.ts";
import type { Budget } from "./statement-budget.ts";
import { StoreError } from "./store-error.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";

/** The zone an ingest writes to. */
export interface ZoneRef {
  id: number;
  /** The apex. */
  name: Name;
}

/** Block inserts per D1 batch: ~32 KB each (~43 KB as text) keeps a batch near 1 MB. */
const INSERTS_PER_BATCH = 24;
/**
 * A chunk goes straight into blocks only if its blocks fit one batch (all or nothing, so a range in
 * `ingest_ranges` always means its blocks are there): ~2.5 MB of records in 4 KiB blocks, packed ~14 to a
 * statement (`insertBlocksStatements`). Bigger chunks are staged.
 */
const DIRECT_MAX_BLOCKS = 640;
/**
 * Staged runs are cut in pieces this big, not block-sized: the merge reads them back one by one and cuts
 * its own blocks, so bigger pieces mean fewer round trips.
 */
const RUN_PIECE_BYTES = 32 * 1024;
/** Run pieces fetched per batch when the merge starts. */
const PIECES_PER_FETCH = 50;
/** The merge writes its blocks under `tree + SHADOW_TREE` until the flip moves them into place. */
const SHADOW_TREE = 2;

export interface CommitResult {
  version: number;
  serial: number;
  recordCount: number;
  blocks: number;
}

/** Guard fragment: the caller still holds the zone's lease. Parameters ?1 zone id, ?2 owner, ?3 now. */
const HOLDS_LEASE = "EXISTS (SELECT 1 FROM zones z WHERE z.id = ?1 AND z.lease_owner = ?2 AND z.lease_until > ?3)";

/**
 * Deletes the rows of versions that were abandoned (begin, commit, changesets and the sweep call it).
 * With `onlyIfCurrent`, only when the zone's pointer is at that version (inside a guarded commit batch).
 */
export function deleteAbandonedStatements(budget: Budget, zoneId: number, onlyIfCurrent?: number): D1PreparedStatement[] {
  const abandoned = "SELECT version FROM zone_versions WHERE zone_id = ?1 AND state = 'abandoned'";
  const guard = onlyIfCurrent === undefined ? "" : " AND (SELECT current_version FROM zones WHERE id = ?1) = ?2";
  const params = onlyIfCurrent === undefined ? [zoneId] : [zoneId, onlyIfCurrent];
  return [
    budget.prepare(`DELETE FROM blocks WHERE zone_id = ?1 AND added_version IN (${abandoned})${guard}`, params),
    budget.prepare(`DELETE FROM ingest_runs WHERE zone_id = ?1 AND version IN (${abandoned})${guard}`, params),
    budget.prepare(`DELETE FROM ingest_ranges WHERE zone_id = ?1 AND version IN (${abandoned})${guard}`, params),
  ];
}

/**
 * Opens a new version for a full transfer. Any other open version of the zone is abandoned and its
 * rows deleted: the lease guarantees it belongs to a transfer that is no longer running.
 */
export async function beginIngest(budget: Budget, zone: ZoneRef, owner: string, now = Date.now()): Promise<number> {
  const results = await budget.batch<{ version: number }>([
    budget.prepare(`UPDATE zone_versions SET state = 'abandoned' WHERE zone_id = ?1 AND state = 'open' AND ${HOLDS_LEASE}`, [
      zone.id,
      owner,
      now,
    ]),
    ...deleteAbandonedStatements(budget, zone.id),
    budget.prepare(
      `INSERT INTO zone_versions (zone_id, version, kind, owner, state)
       SELECT ?1, COALESCE((SELECT MAX(version) FROM zone_versions WHERE zone_id = ?1), 0) + 1, 'axfr', ?2, 'open'
       WHERE ${HOLDS_LEASE} RETURNING version`,
      [zone.id, owner, now],
    ),
  ]);
  const row = results[results.length - 1]!.results[0];
  if (!row) throw new StoreError("lease", `this instance does not hold the refresh lease of ${zone.name}`);
  return row.version;
}

type OpenRow = { state: string; owner: string | null; leased: number | null };

/** The version's state and whether `owner` holds the lease, for {@link checkOpen}. */
function openStatement(budget: Budget, zone: ZoneRef, version: number, owner: string, now: number): D1PreparedStatement {
  return budget.prepare(
    `SELECT v.state, v.owner, (z.lease_owner = ?2 AND z.lease_until > ?3) AS leased
     FROM zone_versions v JOIN zones z ON z.id = v.zone_id WHERE v.zone_id = ?1 AND v.version = ?4`,
    [zone.id, owner, now, version],
  );
}

async function requireOpen(budget: Budget, zone: ZoneRef, version: number, owner: string, now: number): Promise<void> {
  checkOpen(await openStatement(budget, zone, version, owner, now).first<OpenRow>(), zone, version, owner);
}

/** @throws StoreError unless the version is open and `owner`'s, under its lease. */
function checkOpen(row: OpenRow | null | undefined, zone: ZoneRef, version: number, owner: string): void {
  if (!row) throw new StoreError("not-found", `zone ${zone.name} has no version ${version}`);
  if (row.state !== "open") throw new StoreError("state", `version ${version} of ${zone.name} is ${row.state}, not open`);
  if (row.owner !== owner || !row.leased) {
    throw new StoreError("lease", `this instance does not hold the refresh lease of ${zone.name}`);
  }
}

/** A finished block-format piece of one tree. */
interface Piece extends EncodedBlock {
  tree: Tree;
}

const chunkError = (seq: number, err: unknown): unknown =>
  err instanceof RecordStreamError ? new StoreError(err.kind === "too-large" ? "too-large" : "bad-records", `chunk ${seq}: ${err.message}`) : err;

/**
 * Stores one chunk (a record stream): cut into blocks here (`answer/store/block-chunk.ts` `cutBlocks`),
 * then straight into the version when its key range allows, else as a sorted run (see the module comment).
 * The whole-zone request takes this path; a full transfer's chunks come cut already ({@link appendBlocks}).
 * @returns the number of records in the chunk.
 */
export async function appendChunk(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  seq: number,
  body: Uint8Array,
  owner: string,
  now = Date.now(),
): Promise<number> {
  let cut: { blocks: Piece[]; records: number };
  try {
    cut = cutBlocks(body, zone.name.toWire(), zone.name.sortKey(), BLOCK_TARGET_BYTES, BLOCK_MAX_NODES, NODE_MAX_BYTES);
  } catch (err) {
    throw chunkError(seq, err);
  }
  await storeBlocks(budget, zone, version, seq, cut.blocks, owner, now);
  return cut.records;
}

/**
 * Stores one chunk of blocks the transfer-service cut (issue 28): checked without decoding its records
 * (`raw-nodes.ts` `checkBlockChunk`; a chunk that fails is refused whole, before anything is written), then
 * stored as {@link appendChunk} stores the blocks it cuts.
 * @returns the number of records in the blocks.
 */
export async function appendBlocks(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  seq: number,
  body: Uint8Array,
  owner: string,
  now = Date.now(),
): Promise<number> {
  let checked: { blocks: Piece[]; records: number };
  try {
    checked = checkBlockChunk(body, zone.name.sortKey(), now);
  } catch (err) {
    if (err instanceof BlockChunkError) throw new StoreError("bad-records", `chunk ${seq}: ${err.message}`);
    throw err;
  }
  await storeBlocks(budget, zone, version, seq, checked.blocks, owner, now);
  return checked.records;
}

/**
 * A chunk's blocks, in order per tree, into the version: one direct batch when its key range overlaps no
 * other chunk's, else staged as a run, its blocks joined into pieces of about RUN_PIECE_BYTES (the merge
 * reads a run piece by piece).
 */
async function storeBlocks(budget: Budget, zone: ZoneRef, version: number, seq: number, blocks: Piece[], owner: string, now: number): Promise<void> {
  if (blocks.length > 0 && blocks.length <= DIRECT_MAX_BLOCKS && (await writeDirect(budget, zone, version, seq, blocks, owner, now))) return;
  await requireOpen(budget, zone, version, owner, now);
  const statements = [
    budget.prepare("DELETE FROM ingest_runs WHERE zone_id = ?1 AND version = ?2 AND run = ?3", [zone.id, version, seq]),
  ];
  const pieceNumbers = [0, 0];
  for (const p of joinBlocks(blocks, RUN_PIECE_BYTES)) {
    statements.push(
      budget.prepare(
        "INSERT INTO ingest_runs (zone_id, version, run, tree, piece, record_count, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [zone.id, version, seq, p.tree, pieceNumbers[p.tree]!++, p.records, storedBytes(p.data)],
      ),
    );
  }
  for (let i = 0; i < statements.length; i += INSERTS_PER_BATCH) {
    await budget.batch(statements.slice(i, i + INSERTS_PER_BATCH));
  }
}

/**
 * Consecutive blocks of one tree joined into pieces of at most `maxBytes` (or one block, if bigger) by
 * copying their nodes after one header: a run's pieces need only be in order, not block-sized.
 */
export function joinBlocks(blocks: readonly Piece[], maxBytes: number): { tree: Tree; records: number; data: Uint8Array }[] {
  const out: { tree: Tree; records: number; data: Uint8Array }[] = [];
  let group: Piece[] = [];
  let bytes = BLOCK_HEADER, nodes = 0;
  const close = () => {
    if (group.length === 0) return;
    const data = new Uint8Array(bytes);
    data[0] = BLOCK_FORMAT;
    data[1] = nodes >> 8;
    data[2] = nodes & 0xff;
    let pos = BLOCK_HEADER, records = 0;
    for (const b of group) {
      data.set(b.data.subarray(BLOCK_HEADER), pos);
      pos += b.data.length - BLOCK_HEADER;
      records += b.records;
    }
    out.push({ tree: group[0]!.tree, records, data });
    group = [];
    bytes = BLOCK_HEADER;
    nodes = 0;
  };
  for (const b of blocks) {
    const count = (b.data[1]! << 8) | b.data[2]!;
    if (group.length > 0 && (group[0]!.tree !== b.tree || bytes + b.data.length - BLOCK_HEADER > maxBytes || nodes + count > 0xffff)) close();
    group.push(b);
    bytes += b.data.length - BLOCK_HEADER;
    nodes += count;
  }
  close();
  return out;
}

/**
 * Tries to write a chunk's pieces as final blocks, in one batch: records the chunk's key range per tree
 * unless it overlaps a range written before (or the lease or the open version is gone), and inserts the
 * blocks only if that happened. True when the blocks are stored (now, or by an earlier try of the same
 * `seq` whose answer was lost); false when the chunk must be staged.
 */
async function writeDirect(budget: Budget, zone: ZoneRef, version: number, seq: number, pieces: Piece[], owner: string, now: number): Promise<boolean> {
  const ranges: { tree: Tree; first: Uint8Array; last: Uint8Array }[] = [];
  for (const p of pieces) {
    const r = ranges.find((x) => x.tree === p.tree);
    if (r) r.last = p.lastKey;
    else ranges.push({ tree: p.tree, first: p.firstKey, last: p.lastKey });
  }
  const token = crypto.randomUUID();
  // ?1 zone, ?2 version, ?3 seq, ?4 token, ?5 owner, ?6 now, then (tree, first, last) per range.
  const params: (number | string | Uint8Array)[] = [zone.id, version, seq, token, owner, now];
  const tuples: string[] = [], overlaps: string[] = [];
  for (const r of ranges) {
    const [t, f, l] = [params.length + 1, params.length + 2, params.length + 3];
    params.push(r.tree, r.first, r.last);
    tuples.push(`SELECT ?${t} AS tree, ?${f} AS f, ?${l} AS l`);
    overlaps.push(`(r.tree = ?${t} AND r.first_key <= ?${l} AND r.last_key >= ?${f})`);
  }
  const claim = budget.prepare(
    `INSERT INTO ingest_ranges (zone_id, version, tree, first_key, last_key, run, token)
     SELECT ?1, ?2, t.tree, t.f, t.l, ?3, ?4 FROM (${tuples.join(" UNION ALL ")}) t
     WHERE NOT EXISTS (SELECT 1 FROM ingest_ranges r WHERE r.zone_id = ?1 AND r.version = ?2 AND (${overlaps.join(" OR ")}))
       AND EXISTS (SELECT 1 FROM zone_versions v JOIN zones z ON z.id = v.zone_id
                   WHERE v.zone_id = ?1 AND v.version = ?2 AND v.state = 'open' AND v.owner = ?5
                     AND z.lease_owner = ?5 AND z.lease_until > ?6)`,
    params,
  );
  // The claim writes every range or none, so its token alone tells the inserts whether to write.
  const inserts = insertBlocksStatements(budget, zone.id, version, pieces, { kind: "claim", token });
  const results = await budget.batch([claim, ...inserts]);
  if ((results[0]!.meta.changes ?? 0) === ranges.length) return true;
  // A retry of a chunk that was stored directly finds exactly its own ranges.
  const mine = await budget
    .prepare("SELECT tree, first_key, last_key FROM ingest_ranges WHERE zone_id = ?1 AND version = ?2 AND run = ?3", [zone.id, version, seq])
    .all<{ tree: number; first_key: ArrayBuffer; last_key: ArrayBuffer }>();
  return (
    mine.results.length === ranges.length &&
    ranges.every((r) =>
      mine.results.some(
        (m) => m.tree === r.tree && compareBytes(textToBytes(m.first_key), r.first) === 0 && compareBytes(textToBytes(m.last_key), r.last) === 0,
      ),
    )
  );
}

/** Where a run's pieces live: staged runs in `ingest_runs`, directly written blocks in `blocks`. */
type RunTable = "ingest_runs" | "blocks";

/**
 * One run of one tree, read piece by piece. The next piece is fetched while the current one is merged,
 * so a merge of many runs does not wait on one D1 round trip per piece in turn.
 */
class RunCursor {
  private nodes: RawNode[] = [];
  private pos = 0;
  private next = 0;
  private prefetched: Promise<Uint8Array> | undefined;

  constructor(
    readonly table: RunTable,
    private readonly pieceIds: number[],
    private readonly load: (table: RunTable, id: number) => Promise<Uint8Array>,
  ) {}

  /** Sets the first piece (fetched in bulk by the caller). */
  prime(data: Uint8Array): void {
    this.nodes = rawNodes(data);
    this.pos = 0;
    this.next = 1;
    this.prefetch();
  }

  get firstPieceId(): number {
    return this.pieceIds[0]!;
  }

  get current(): RawNode | undefined {
    return this.nodes[this.pos];
  }

  /** Moves past the current node, loading the next piece when this one is used up. */
  async advance(): Promise<void> {
    this.pos++;
    while (this.pos >= this.nodes.length && this.prefetched) {
      const data = await this.prefetched;
      this.prefetched = undefined;
      this.next++;
      this.prefetch();
      this.nodes = rawNodes(data);
      this.pos = 0;
    }
  }

  private prefetch(): void {
    if (this.next >= this.pieceIds.length) return;
    const loading = this.load(this.table, this.pieceIds[this.next]!);
    // A failure surfaces when the piece is needed; until then it must not count as unhandled.
    loading.catch(() => undefined);
    this.prefetched = loading;
  }
}

/** A binary min-heap of cursors by their current node's key. */
class CursorHeap {
  private readonly items: RunCursor[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): RunCursor | undefined {
    return this.items[0];
  }

  push(c: RunCursor): void {
    const a = this.items;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): RunCursor | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  private less(x: RunCursor, y: RunCursor): boolean {
    return compareBytes(x.current!.key, y.current!.key) < 0;
  }
}

/**
 * Merges the runs of one tree into blocks with `added_version = version` under the shadow tree, calling
 * `onFirst` with the first node. Returns the record and block counts.
 */
async function mergeTree(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  tree: Tree,
  runs: { table: RunTable; ids: number[] }[],
  onFirst: (node: StoredNode) => void,
): Promise<{ records: number; blocks: number }> {
  const select = (table: RunTable, id: number) => budget.prepare(`SELECT data FROM ${table} WHERE id = ?1`, [id]);
  const load = async (table: RunTable, id: number): Promise<Uint8Array> => {
    const row = await select(table, id).first<{ data: string | ArrayBuffer }>();
    if (!row) throw new StoreError("conflict", `ingest data of ${zone.name} version ${version} vanished (aborted?)`);
    return textToBytes(row.data);
  };
  const cursors = runs.filter((r) => r.ids.length > 0).map((r) => new RunCursor(r.table, r.ids, load));
  for (let i = 0; i < cursors.length; i += PIECES_PER_FETCH) {
    const group = cursors.slice(i, i + PIECES_PER_FETCH);
    const results = await budget.batch<{ data: string | ArrayBuffer }>(group.map((c) => select(c.table, c.firstPieceId)));
    group.forEach((c, j) => {
      const row = results[j]!.results[0];
      if (!row) throw new StoreError("conflict", `ingest data of ${zone.name} version ${version} vanished (aborted?)`);
      c.prime(textToBytes(row.data));
    });
  }
  const heap = new CursorHeap();
  for (const c of cursors) if (c.current) heap.push(c);

  let writer = new PieceWriter(BLOCK_TARGET_BYTES + 4096);
  let pending: D1PreparedStatement[] = [];
  let records = 0, blocks = 0;
  let first = true;
  const flush = async () => {
    if (writer.nodeCount === 0) return;
    blocks++;
    pending.push(
      insertEncodedBlockStatement(budget, zone.id, version, {
        tree: tree + SHADOW_TREE,
        firstKey: writer.firstKey!,
        lastKey: writer.lastKey!,
        records: writer.recordCount,
        rrsigExpiresAt: writer.rrsigExpiresAt,
        data: writer.finish(),
      }),
    );
    writer = new PieceWriter(BLOCK_TARGET_BYTES + 4096);
    if (pending.length >= INSERTS_PER_BATCH) {
      const statements = pending;
      pending = [];
      await budget.batch(statements);
    }
  };
  while (heap.size > 0) {
    const c = heap.pop()!;
    let node = c.current!;
    await c.advance();
    if (c.current) heap.push(c);
    // The same owner may have arrived in several chunks: fold them together.
    while (heap.size > 0 && compareBytes(heap.peek()!.current!.key, node.key) === 0) {
      const d = heap.pop()!;
      node = mergeRawNodes(node, d.current!);
      await d.advance();
      if (d.current) heap.push(d);
    }
    if (first) {
      onFirst(decodeRawNode(node));
      first = false;
    }
    records += node.records;
    const size = node.end - node.start;
    if (size > NODE_MAX_BYTES) throw new StoreError("too-large", `an owner in ${zone.name} holds ${size} bytes of records, more than ${NODE_MAX_BYTES}`);
    if (writer.nodeCount > 0 && (writer.size + size > BLOCK_TARGET_BYTES || writer.nodeCount >= BLOCK_MAX_NODES)) await flush();
    writer.addNode(node);
  }
  await flush();
  if (pending.length > 0) await budget.batch(pending);
  return { records, blocks };
}

export interface CommitOptions {
  /** The serial the transfer-service saw; the zone's SOA must carry it. */
  serial?: number | undefined;
  /** Expiry instant to store with the flip (ms since the epoch). */
  expiresAt?: number | undefined;
  now?: number;
}

/** Merges staged runs (if any) into blocks and flips the zone to the new version. */
export async function commitIngest(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  owner: string,
  options: CommitOptions = {},
): Promise<CommitResult> {
  const now = options.now ?? Date.now();
  // One round trip: the checks, and what a commit without staged runs needs (its first block and totals).
  const [open, , staged, first, totals] = await budget.batch<
    OpenRow & { id: number; run: number; tree: number; data?: string | ArrayBuffer; records?: number; blocks?: number }
  >([
    openStatement(budget, zone, version, owner, now),
    // A merge retried after a failure half-way starts over (only the holder of the open version's lease may).
    budget.prepare(
      `DELETE FROM blocks WHERE zone_id = ?1 AND added_version = ?2 AND tree >= ?3
         AND EXISTS (SELECT 1 FROM zone_versions v JOIN zones z ON z.id = v.zone_id WHERE v.zone_id = ?1 AND v.version = ?2
                     AND v.state = 'open' AND v.owner = ?4 AND z.lease_owner = ?4 AND z.lease_until > ?5)`,
      [zone.id, version, SHADOW_TREE, owner, now],
    ),
    budget.prepare("SELECT id, run, tree FROM ingest_runs WHERE zone_id = ?1 AND version = ?2 ORDER BY tree, run, piece", [zone.id, version]),
    budget.prepare("SELECT data FROM blocks WHERE zone_id = ?1 AND tree = ?2 AND added_version = ?3 ORDER BY first_key LIMIT 1", [
      zone.id,
      TREE_MAIN,
      version,
    ]),
    budget.prepare(
      "SELECT COALESCE(SUM(record_count), 0) AS records, COUNT(*) AS blocks FROM blocks WHERE zone_id = ?1 AND added_version = ?2 AND tree < ?3",
      [zone.id, version, SHADOW_TREE],
    ),
  ]);
  checkOpen(open!.results[0], zone, version, owner);
  const pieces = staged!;
  let apex: StoredNode | undefined;
  let recordCount: number, blocks: number;
  const merged = pieces.results.length > 0;
  if (!merged) {
    // Every chunk went straight into blocks: they are the version already.
    const data = first!.results[0]?.data;
    if (data !== undefined) {
      const node = rawNodes(textToBytes(data))[0];
      if (node) apex = decodeRawNode(node);
    }
    recordCount = totals!.results[0]!.records!;
    blocks = totals!.results[0]!.blocks!;
  } else {
    // Staged runs per tree, plus the directly written blocks as one more run (they never overlap).
    const runsByTree: [Map<number, number[]>, Map<number, number[]>] = [new Map(), new Map()];
    for (const p of pieces.results) {
      const runs = runsByTree[p.tree === TREE_NSEC3 ? 1 : 0];
      const ids = runs.get(p.run);
      if (ids) ids.push(p.id);
      else runs.set(p.run, [p.id]);
    }
    const direct = await budget
      .prepare("SELECT id, tree FROM blocks WHERE zone_id = ?1 AND added_version = ?2 AND tree < ?3 ORDER BY tree, first_key", [
        zone.id,
        version,
        SHADOW_TREE,
      ])
      .all<{ id: number; tree: number }>();
    const runsOf = (tree: Tree) => [
      ...[...runsByTree[tree].values()].map((ids) => ({ table: "ingest_runs" as const, ids })),
      { table: "blocks" as const, ids: direct.results.filter((b) => b.tree === tree).map((b) => b.id) },
    ];
    const main = await mergeTree(budget, zone, version, TREE_MAIN, runsOf(TREE_MAIN), (n) => (apex = n));
    const nsec3 = await mergeTree(budget, zone, version, TREE_NSEC3, runsOf(TREE_NSEC3), () => {});
    recordCount = main.records + nsec3.records;
    blocks = main.blocks + nsec3.blocks;
  }

  const failed = async (err: StoreError): Promise<never> => {
    await abortIngest(budget, zone, version, owner).catch(() => {});
    throw err;
  };
  const soas = apex && apex.name.equals(zone.name) ? apex.records.filter((r) => r.type === RRType.SOA) : [];
  if (soas.length !== 1) {
    return failed(new StoreError("no-soa", `the transfer of ${zone.name} has ${soas.length} SOA records at the apex, not exactly one`));
  }
  let serial: number;
  try {
    serial = readSoa(soas[0]!.rdata).serial;
  } catch {
    return failed(new StoreError("bad-records", `the SOA of ${zone.name} does not parse`));
  }
  if (options.serial !== undefined && options.serial !== serial) {
    return failed(new StoreError("serial-mismatch", `the transfer of ${zone.name} carries serial ${serial}, expected ${options.serial}`));
  }
  await flip(budget, zone, version, owner, now, { serial, recordCount, expiresAt: options.expiresAt, kind: "AXFR", merged });
  return { version, serial, recordCount, blocks };
}

/** The atomic switch to a fully written version (shared with nothing else: IXFR has its own batch). */
async function flip(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  owner: string,
  now: number,
  info: { serial: number; recordCount: number; expiresAt: number | undefined; kind: string; merged: boolean },
): Promise<void> {
  // Every statement after the first runs only if the first one moved the pointer (?2 = version).
  const moved = "(SELECT current_version FROM zones WHERE id = ?1) = ?2";
  const detail = `serving serial ${info.serial} (${info.recordCount} records) from an ${info.kind}`;
  const results = await budget.batch([
    budget.prepare(
      `UPDATE zones SET current_version = ?4, serial = ?5, record_count = ?6, status = 'active', status_detail = ?7,
         expires_at = COALESCE(?8, expires_at), updated_at = ?3, overlay_from = NULL
       WHERE id = ?1 AND ${HOLDS_LEASE}
         AND EXISTS (SELECT 1 FROM zone_versions WHERE zone_id = ?1 AND version = ?4 AND state = 'open' AND owner = ?2)`,
      [zone.id, owner, now, version, info.serial, info.recordCount, detail, info.expiresAt ?? null],
    ),
    budget.prepare(`UPDATE zone_versions SET state = 'abandoned' WHERE zone_id = ?1 AND state = 'open' AND version < ?2 AND ${moved}`, [
      zone.id,
      version,
    ]),
    ...deleteAbandonedStatements(budget, zone.id, version),
    // After a merge, the merged blocks replace the directly written ones.
    ...(info.merged
      ? [
          budget.prepare(`DELETE FROM blocks WHERE zone_id = ?1 AND added_version = ?2 AND tree < ?3 AND ${moved}`, [zone.id, version, SHADOW_TREE]),
          budget.prepare(`UPDATE blocks SET tree = tree - ?3 WHERE zone_id = ?1 AND added_version = ?2 AND tree >= ?3 AND ${moved}`, [
            zone.id,
            version,
            SHADOW_TREE,
          ]),
        ]
      : []),
    budget.prepare(
      `UPDATE blocks SET removed_version = ?2 WHERE zone_id = ?1 AND removed_version IS NULL AND added_version < ?2 AND ${moved}`,
      [zone.id, version],
    ),
    // The IXFR overlay (issue 28) is folded into this version's blocks: its rows are seen no more.
    retireOverlayStatement(budget, zone.id, version),
    budget.prepare(
      `UPDATE zone_versions SET state = 'committed', serial = ?3, record_count = ?4, committed_at = ?5
       WHERE zone_id = ?1 AND version = ?2 AND ${moved}`,
      [zone.id, version, info.serial, info.recordCount, now],
    ),
    earliestRrsigStatement(budget, zone.id, version),
    // The ingest's bookkeeping, in the same transaction.
    budget.prepare(`DELETE FROM ingest_runs WHERE zone_id = ?1 AND version = ?2 AND ${moved}`, [zone.id, version]),
    budget.prepare(`DELETE FROM ingest_ranges WHERE zone_id = ?1 AND version = ?2 AND ${moved}`, [zone.id, version]),
  ]);
  // `changes` counts the rows the zone change log's triggers write too (`zone_changes`): 0 means the guard failed.
  if ((results[0]!.meta.changes ?? 0) === 0) {
    throw new StoreError("lease", `the commit of ${zone.name} version ${version} lost its lease or its version`);
  }
}

/** Gives up an open version: marks it abandoned and deletes its rows. */
export async function abortIngest(budget: Budget, zone: ZoneRef, version: number, owner: string): Promise<void> {
  const results = await budget.batch([
    budget.prepare(
      "UPDATE zone_versions SET state = 'abandoned' WHERE zone_id = ?1 AND version = ?2 AND state = 'open' AND owner = ?3",
      [zone.id, version, owner],
    ),
    ...deleteAbandonedStatements(budget, zone.id),
  ]);
  if ((results[0]!.meta.changes ?? 0) !== 1) {
    throw new StoreError("state", `version ${version} of ${zone.name} is not open for this instance`);
  }
}
