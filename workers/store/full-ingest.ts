/**
 * @module A full transfer into D1 as a new zone version, built beside the served one and flipped in at
 * the end (begin → append chunks → commit, or abort).
 *
 * AXFR order is arbitrary (RFC 5936 §2.2) but blocks must hold owners in canonical order. So:
 *  1. **Append** sorts each chunk on its own into a *run* (nodes in canonical order, per tree) and stores
 *     the run as a few `ingest_runs` pieces of ≤ 32 KB. A retried chunk (same `seq`) replaces its run.
 *  2. **Commit** k-way merges the runs with a heap, holding one decoded piece per run, merges owners that
 *     arrived in several chunks, cuts the merged sequence into blocks and inserts them with
 *     `added_version = V`: invisible, because every reader asks for the current version, which is < V.
 *  3. One D1 batch (a transaction) then moves `zones.current_version` to V, marks the old version's
 *     blocks `removed_version = V` and the version committed, guarded by a compare-and-set on the lease
 *     and the open version, so readers see the whole old zone or the whole new one, never a mix.
 *  Abandoned versions are never referenced by `current_version`; their rows are deleted on the next
 *  begin or commit and by the sweep.
 */
import type { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";
import { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES } from "./block-builder.ts";
import { insertRawBlockStatement, toBytes } from "./block-table.ts";
import { decodeRawNode, indexStream, mergeRawNodes, PieceWriter, rawNodes, RawStreamError, writePieces } from "./raw-nodes.ts";
import type { RawNode } from "./raw-nodes.ts";
import { readSoa } from "./soa.ts";
import type { Budget } from "./statement-budget.ts";
import { StoreError } from "./store-error.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { StoredNode, Tree } from "./stored-node.ts";

/** The zone an ingest writes to. */
export interface ZoneRef {
  id: number;
  /** The apex. */
  name: Name;
}

/** Block inserts per D1 batch: ~32 KB each keeps a batch near 1 MB. */
const INSERTS_PER_BATCH = 24;
/**
 * Run pieces are only merged, never searched: they are made as big as a statement allows (fewer rows to
 * write and read back: a 1M-record commit reads ~450 pieces) and may hold many small owners.
 */
const RUN_PIECE_BYTES = 90 * 1024;
/** Keeps a piece's u16 node count far from overflow. */
const RUN_MAX_NODES = 16_384;
/** Run pieces fetched per batch when the merge starts. */
const PIECES_PER_FETCH = 50;

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

async function requireOpen(budget: Budget, zone: ZoneRef, version: number, owner: string, now: number): Promise<void> {
  const row = await budget
    .prepare(
      `SELECT v.state, v.owner, (z.lease_owner = ?2 AND z.lease_until > ?3) AS leased
       FROM zone_versions v JOIN zones z ON z.id = v.zone_id WHERE v.zone_id = ?1 AND v.version = ?4`,
      [zone.id, owner, now, version],
    )
    .first<{ state: string; owner: string | null; leased: number | null }>();
  if (!row) throw new StoreError("not-found", `zone ${zone.name} has no version ${version}`);
  if (row.state !== "open") throw new StoreError("state", `version ${version} of ${zone.name} is ${row.state}, not open`);
  if (row.owner !== owner || !row.leased) {
    throw new StoreError("lease", `this instance does not hold the refresh lease of ${zone.name}`);
  }
}

/**
 * Stores one chunk (a record stream) as a sorted run.
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
  await requireOpen(budget, zone, version, owner, now);
  let records;
  const statements = [
    budget.prepare("DELETE FROM ingest_runs WHERE zone_id = ?1 AND version = ?2 AND run = ?3", [zone.id, version, seq]),
  ];
  const pieceNumbers = [0, 0];
  try {
    records = indexStream(body, zone.name.sortKey());
    writePieces(body, records, RUN_PIECE_BYTES, RUN_MAX_NODES, NODE_MAX_BYTES, (tree, piece) => {
      statements.push(
        budget.prepare(
          "INSERT INTO ingest_runs (zone_id, version, run, tree, piece, record_count, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
          [zone.id, version, seq, tree, pieceNumbers[tree]!++, piece.recordCount, piece.finish()],
        ),
      );
    });
  } catch (err) {
    if (err instanceof RawStreamError) throw new StoreError(/holds/.test(err.message) ? "too-large" : "bad-records", `chunk ${seq}: ${err.message}`);
    throw err;
  }
  for (let i = 0; i < statements.length; i += INSERTS_PER_BATCH) {
    await budget.batch(statements.slice(i, i + INSERTS_PER_BATCH));
  }
  return records.length;
}

/** One run of one tree, read piece by piece. */
class RunCursor {
  private nodes: RawNode[] = [];
  private pos = 0;
  private next = 0;

  constructor(
    private readonly pieceIds: number[],
    private readonly load: (id: number) => Promise<Uint8Array>,
  ) {}

  /** Sets the first piece (fetched in bulk by the caller). */
  prime(data: Uint8Array): void {
    this.nodes = rawNodes(data);
    this.pos = 0;
    this.next = 1;
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
    while (this.pos >= this.nodes.length && this.next < this.pieceIds.length) {
      this.nodes = rawNodes(await this.load(this.pieceIds[this.next++]!));
      this.pos = 0;
    }
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
 * Merges the runs of one tree into blocks with `added_version = version`, calling `onApex` with the
 * first node. Returns the record and block counts.
 */
async function mergeTree(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  tree: Tree,
  runs: Map<number, number[]>,
  onFirst: (node: StoredNode) => void,
): Promise<{ records: number; blocks: number }> {
  const load = async (id: number): Promise<Uint8Array> => {
    const row = await budget.prepare("SELECT data FROM ingest_runs WHERE id = ?1", [id]).first<{ data: ArrayBuffer }>();
    if (!row) throw new StoreError("conflict", `ingest data of ${zone.name} version ${version} vanished (aborted?)`);
    return toBytes(row.data);
  };
  const cursors = [...runs.values()].map((ids) => new RunCursor(ids, load));
  for (let i = 0; i < cursors.length; i += PIECES_PER_FETCH) {
    const group = cursors.slice(i, i + PIECES_PER_FETCH);
    const results = await budget.batch<{ data: ArrayBuffer }>(
      group.map((c) => budget.prepare("SELECT data FROM ingest_runs WHERE id = ?1", [c.firstPieceId])),
    );
    group.forEach((c, j) => c.prime(toBytes(results[j]!.results[0]!.data)));
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
    pending.push(insertRawBlockStatement(budget, zone.id, tree, writer.firstKey!, writer.lastKey!, writer.recordCount, writer.finish(), version));
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

/** Merges the runs into blocks and flips the zone to the new version. */
export async function commitIngest(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  owner: string,
  options: CommitOptions = {},
): Promise<CommitResult> {
  const now = options.now ?? Date.now();
  await requireOpen(budget, zone, version, owner, now);
  // A commit retried after a failure half-way starts over.
  await budget.run(budget.prepare("DELETE FROM blocks WHERE zone_id = ?1 AND added_version = ?2", [zone.id, version]));

  const pieces = await budget
    .prepare("SELECT id, run, tree FROM ingest_runs WHERE zone_id = ?1 AND version = ?2 ORDER BY tree, run, piece", [zone.id, version])
    .all<{ id: number; run: number; tree: number }>();
  const runsByTree: [Map<number, number[]>, Map<number, number[]>] = [new Map(), new Map()];
  for (const p of pieces.results) {
    const runs = runsByTree[p.tree === TREE_NSEC3 ? 1 : 0];
    const ids = runs.get(p.run);
    if (ids) ids.push(p.id);
    else runs.set(p.run, [p.id]);
  }

  let apex: StoredNode | undefined;
  const main = await mergeTree(budget, zone, version, TREE_MAIN, runsByTree[0], (n) => (apex = n));
  const nsec3 = await mergeTree(budget, zone, version, TREE_NSEC3, runsByTree[1], () => {});

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
  const recordCount = main.records + nsec3.records;
  await flip(budget, zone, version, owner, now, { serial, recordCount, expiresAt: options.expiresAt, kind: "AXFR" });
  await budget.run(budget.prepare("DELETE FROM ingest_runs WHERE zone_id = ?1 AND version = ?2", [zone.id, version]));
  return { version, serial, recordCount, blocks: main.blocks + nsec3.blocks };
}

/** The atomic switch to a fully written version (shared with nothing else: IXFR has its own batch). */
async function flip(
  budget: Budget,
  zone: ZoneRef,
  version: number,
  owner: string,
  now: number,
  info: { serial: number; recordCount: number; expiresAt: number | undefined; kind: string },
): Promise<void> {
  // Every statement after the first runs only if the first one moved the pointer (?2 = version).
  const moved = "(SELECT current_version FROM zones WHERE id = ?1) = ?2";
  const detail = `serving serial ${info.serial} (${info.recordCount} records) from an ${info.kind}`;
  const results = await budget.batch([
    budget.prepare(
      `UPDATE zones SET current_version = ?4, serial = ?5, record_count = ?6, status = 'active', status_detail = ?7,
         expires_at = COALESCE(?8, expires_at), updated_at = ?3
       WHERE id = ?1 AND ${HOLDS_LEASE}
         AND EXISTS (SELECT 1 FROM zone_versions WHERE zone_id = ?1 AND version = ?4 AND state = 'open' AND owner = ?2)`,
      [zone.id, owner, now, version, info.serial, info.recordCount, detail, info.expiresAt ?? null],
    ),
    budget.prepare(`UPDATE zone_versions SET state = 'abandoned' WHERE zone_id = ?1 AND state = 'open' AND version < ?2 AND ${moved}`, [
      zone.id,
      version,
    ]),
    ...deleteAbandonedStatements(budget, zone.id, version),
    budget.prepare(
      `UPDATE blocks SET removed_version = ?2 WHERE zone_id = ?1 AND removed_version IS NULL AND added_version < ?2 AND ${moved}`,
      [zone.id, version],
    ),
    budget.prepare(
      `UPDATE zone_versions SET state = 'committed', serial = ?3, record_count = ?4, committed_at = ?5
       WHERE zone_id = ?1 AND version = ?2 AND ${moved}`,
      [zone.id, version, info.serial, info.recordCount, now],
    ),
  ]);
  if ((results[0]!.meta.changes ?? 0) !== 1) {
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
