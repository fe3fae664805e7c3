/**
 * @module SQL over the `blocks` table. Version V sees a row when
 * `added_version <= V AND (removed_version IS NULL OR removed_version > V)` and no newer row with the same
 * `(zone, tree, first_key)` was added at or before V: an IXFR that rewrites a block without moving its
 * first key *shadows* the old row instead of retiring it, one row written instead of two (the old row
 * stays as it was for readers of older versions). Every read here applies that rule, and every lookup is
 * one indexed query on `blocks_lookup (zone_id, tree, first_key)` (the shadow check probes the same index).
 */
import { encodeBlock } from "./block-codec.ts";
import { storedBytes, textToBytes } from "./blob-text.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import type { Budget } from "./statement-budget.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";

/**
 * A newer row of the same key added at or before `v` shadows `alias`, whether or not that row was itself
 * retired later (an emptied block is retired, and must not bring back the one it shadowed).
 */
const shadowed = (alias: string, v: string) =>
  `EXISTS (SELECT 1 FROM blocks s WHERE s.zone_id = ${alias}.zone_id AND s.tree = ${alias}.tree AND s.first_key = ${alias}.first_key
    AND s.added_version > ${alias}.added_version AND s.added_version <= ${v})`;

const visible = (alias: string, v: string) =>
  `${alias}.added_version <= ${v} AND (${alias}.removed_version IS NULL OR ${alias}.removed_version > ${v}) AND NOT ${shadowed(alias, v)}`;

/** Deletes the rows of a zone shadowed at or before version `oldest` (?2): no kept version sees them. */
export function deleteShadowedStatement(budget: Budget, zoneId: number, oldest: number): D1PreparedStatement {
  return budget.prepare(`DELETE FROM blocks WHERE zone_id = ?1 AND ${shadowed("blocks", "?2")}`, [zoneId, oldest]);
}

/**
 * A block row as read back. `nextKey` is the first key of the following visible block (null at the end);
 * `first` says no visible block precedes it.
 */
export interface BlockRow {
  id: number;
  /** With the zone and `id`, names the row's content forever (ids may be reused once a row is pruned). */
  addedVersion: number;
  firstKey: Uint8Array;
  lastKey: Uint8Array;
  nextKey: Uint8Array | null;
  first: boolean;
  data: Uint8Array;
}

interface RawBlockRow {
  id: number;
  added_version: number;
  first_key: ArrayBuffer | number[];
  last_key: ArrayBuffer | number[];
  next_key: ArrayBuffer | number[] | null;
  has_prev?: number | null;
  /** Base64 text, or a BLOB (an owner too big for text, or a row from before `blob-text.ts`). */
  data: string | ArrayBuffer | number[];
}

function toRow(r: RawBlockRow): BlockRow {
  return {
    id: r.id,
    addedVersion: r.added_version,
    firstKey: textToBytes(r.first_key),
    lastKey: textToBytes(r.last_key),
    nextKey: r.next_key == null ? null : textToBytes(r.next_key),
    first: r.has_prev == null,
    data: textToBytes(r.data),
  };
}

const NEXT_KEY = `(SELECT n.first_key FROM blocks n WHERE n.zone_id = ?1 AND n.tree = ?2 AND n.first_key > b.first_key
  AND ${visible("n", "?4")} ORDER BY n.first_key LIMIT 1) AS next_key,
  (SELECT 1 FROM blocks p WHERE p.zone_id = ?1 AND p.tree = ?2 AND p.first_key < b.first_key
  AND ${visible("p", "?4")} LIMIT 1) AS has_prev`;

const AT_OR_BEFORE = `SELECT b.id, b.added_version, b.first_key, b.last_key, b.data, ${NEXT_KEY}
  FROM blocks b WHERE b.zone_id = ?1 AND b.tree = ?2 AND b.first_key <= ?3 AND ${visible("b", "?4")}
  ORDER BY b.first_key DESC LIMIT 1`;

const FIRST = `SELECT b.id, b.added_version, b.first_key, b.last_key, b.data, ${NEXT_KEY}
  FROM blocks b WHERE b.zone_id = ?1 AND b.tree = ?2 AND ?3 IS NOT NULL AND ${visible("b", "?4")}
  ORDER BY b.first_key ASC LIMIT 1`;

const LAST = `SELECT b.id, b.added_version, b.first_key, b.last_key, b.data, ${NEXT_KEY}
  FROM blocks b WHERE b.zone_id = ?1 AND b.tree = ?2 AND ?3 IS NOT NULL AND ${visible("b", "?4")}
  ORDER BY b.first_key DESC LIMIT 1`;

/** The block whose range holds `key`: the last visible block starting at or before it. */
export function blockAtOrBeforeStatement(budget: Budget, zoneId: number, tree: Tree, key: Uint8Array, version: number) {
  return budget.prepare(AT_OR_BEFORE, [zoneId, tree, key, version]);
}

export function firstBlockStatement(budget: Budget, zoneId: number, tree: Tree, version: number) {
  return budget.prepare(FIRST, [zoneId, tree, 1, version]);
}

export function lastBlockStatement(budget: Budget, zoneId: number, tree: Tree, version: number) {
  return budget.prepare(LAST, [zoneId, tree, 1, version]);
}

export async function firstRow(statement: D1PreparedStatement): Promise<BlockRow | null> {
  const row = await statement.first<RawBlockRow>();
  return row ? toRow(row) : null;
}

export function rowsOf(result: D1Result<unknown>): BlockRow[] {
  return (result.results as RawBlockRow[]).map(toRow);
}

export const INSERT_BLOCK_SQL =
  "INSERT INTO blocks (zone_id, tree, first_key, last_key, added_version, record_count, data, rrsig_expires_at) " +
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/**
 * Insert of one block, made only if `guard` holds: used inside a commit batch so that a batch whose
 * compare-and-set on the zone failed writes nothing.
 */
export const INSERT_BLOCK_GUARDED_SQL =
  "INSERT INTO blocks (zone_id, tree, first_key, last_key, added_version, record_count, data, rrsig_expires_at) " +
  "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE (SELECT current_version FROM zones WHERE id = ?1) = ?5";

export function insertBlockStatement(
  budget: Budget,
  zoneId: number,
  tree: Tree,
  nodes: readonly StoredNode[],
  version: number,
  guarded = false,
): D1PreparedStatement {
  let records = 0;
  const expiry = new EarliestExpiry();
  for (const n of nodes) {
    records += n.records.length;
    for (const r of n.records) expiry.record(r.type, r.rdata);
  }
  const first = nodes[0]!, last = nodes[nodes.length - 1]!;
  return budget.prepare(guarded ? INSERT_BLOCK_GUARDED_SQL : INSERT_BLOCK_SQL, [
    zoneId,
    tree,
    first.key,
    last.key,
    version,
    records,
    storedBytes(encodeBlock(nodes)),
    expiry.ms,
  ]);
}

/** A block already encoded (the ingest copies node bytes into blocks; see `raw-nodes.ts`). */
export interface EncodedBlock {
  /** The column's value: a merge writes under a shadow tree until its flip (`full-ingest.ts`). */
  tree: number;
  firstKey: Uint8Array;
  lastKey: Uint8Array;
  records: number;
  rrsigExpiresAt: number | null;
  data: Uint8Array;
}

/**
 * Insert of an encoded block. With `range`, made only if the ingest chunk's claim on its key range
 * (`ingest_ranges`, same batch, same random token) succeeded: see `full-ingest.ts`.
 */
export function insertEncodedBlockStatement(
  budget: Budget,
  zoneId: number,
  version: number,
  block: EncodedBlock,
  range?: { firstKey: Uint8Array; token: string },
): D1PreparedStatement {
  const values = [zoneId, block.tree, block.firstKey, block.lastKey, version, block.records, storedBytes(block.data), block.rrsigExpiresAt];
  if (!range) return budget.prepare(INSERT_BLOCK_SQL, values);
  return budget.prepare(
    "INSERT INTO blocks (zone_id, tree, first_key, last_key, added_version, record_count, data, rrsig_expires_at) " +
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM ingest_ranges " +
      "WHERE zone_id = ?1 AND version = ?5 AND tree = ?2 AND first_key = ?9 AND token = ?10)",
    [...values, range.firstKey, range.token],
  );
}

/** Keys one packed lookup takes: zone, tree and version are 3 of D1's 100 parameters. */
export const KEYS_PER_LOOKUP = 96;

/**
 * The distinct blocks holding each of `keys` (all of one tree) at `version`, in one statement: for every
 * key, the same indexed probe as {@link blockAtOrBeforeStatement} (the last visible block starting at or
 * before it), joined to its row. A key before every block finds nothing: the caller tells by comparing
 * keys with the blocks returned. Rows carry no `next_key` (null) and `first` is not known (false).
 */
export function blocksAtOrBeforeStatement(budget: Budget, zoneId: number, tree: Tree, keys: readonly Uint8Array[], version: number): D1PreparedStatement {
  if (keys.length === 0 || keys.length > KEYS_PER_LOOKUP) throw new RangeError(`a packed lookup takes 1 to ${KEYS_PER_LOOKUP} keys`);
  return budget.prepare(
    `SELECT DISTINCT b.id, b.added_version, b.first_key, b.last_key, b.data, NULL AS next_key, 1 AS has_prev
     FROM (VALUES ${keys.map((_, i) => `(?${i + 4})`).join(", ")}) k
     JOIN blocks b ON b.id = (SELECT x.id FROM blocks x WHERE x.zone_id = ?1 AND x.tree = ?2 AND x.first_key <= k.column1
       AND ${visible("x", "?3")} ORDER BY x.first_key DESC LIMIT 1)`,
    [zoneId, tree, version, ...keys],
  );
}

/** What makes a packed insert write its rows: nothing, the ingest's claim (its token), or the flip. */
export type InsertGuard = { kind: "none" } | { kind: "claim"; token: string } | { kind: "flipped" };

/** Parameters and bytes one packed insert may take: D1 allows 100 and 100 KB (`statement-budget.ts`). */
const PACK_PARAMS = 96;
const PACK_BYTES = 90_000;
/** Bound values per block row: tree, first key, last key, record count, data, earliest RRSIG. */
const PER_ROW = 6;

/**
 * Inserts of many blocks, as few statements as D1's per-statement limits allow: each statement is one
 * `INSERT … SELECT … FROM (VALUES (…), (…), …)` of as many rows as fit in 96 parameters and 90 KB (a 4 KiB
 * block is ~5.5 KB as text, so ~14 rows), instead of one statement per block. The guard is the same for
 * every row of a statement: `claim` writes only if the ingest chunk's claim with `token` went in (same
 * batch: `full-ingest.ts`), `flipped` only if the zone's pointer is at `version` (an IXFR's batch).
 */
export function insertBlocksStatements(budget: Budget, zoneId: number, version: number, blocks: readonly EncodedBlock[], guard: InsertGuard): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const shared: (string | number)[] = guard.kind === "claim" ? [zoneId, version, guard.token] : [zoneId, version];
  const where =
    guard.kind === "claim"
      ? " WHERE EXISTS (SELECT 1 FROM ingest_ranges WHERE zone_id = ?1 AND version = ?2 AND token = ?3)"
      : guard.kind === "flipped"
        ? " WHERE (SELECT current_version FROM zones WHERE id = ?1) = ?2"
        : "";
  let params: (string | number | null | Uint8Array)[] = [...shared];
  let tuples: string[] = [];
  let bytes = 400;
  const emit = () => {
    if (tuples.length === 0) return;
    out.push(
      budget.prepare(
        "INSERT INTO blocks (zone_id, tree, first_key, last_key, added_version, record_count, data, rrsig_expires_at) " +
          `SELECT ?1, v.column1, v.column2, v.column3, ?2, v.column4, v.column5, v.column6 FROM (VALUES ${tuples.join(", ")}) v${where}`,
        params,
      ),
    );
    params = [...shared];
    tuples = [];
    bytes = 400;
  };
  for (const block of blocks) {
    const data = storedBytes(block.data);
    const size = 80 + block.firstKey.length + block.lastKey.length + (typeof data === "string" ? data.length : data.byteLength);
    if (tuples.length > 0 && (params.length + PER_ROW > PACK_PARAMS || bytes + size > PACK_BYTES)) emit();
    const at = params.length;
    params.push(block.tree, block.firstKey, block.lastKey, block.records, data, block.rrsigExpiresAt);
    tuples.push(`(?${at + 1}, ?${at + 2}, ?${at + 3}, ?${at + 4}, ?${at + 5}, ?${at + 6})`);
    bytes += size;
  }
  emit();
  return out;
}

/** A block's nodes as an {@link EncodedBlock} of `tree`. */
export function encodedBlock(tree: Tree, nodes: readonly StoredNode[]): EncodedBlock {
  let records = 0;
  const expiry = new EarliestExpiry();
  for (const n of nodes) {
    records += n.records.length;
    for (const r of n.records) expiry.record(r.type, r.rdata);
  }
  return { tree, firstKey: nodes[0]!.key, lastKey: nodes[nodes.length - 1]!.key, records, rrsigExpiresAt: expiry.ms, data: encodeBlock(nodes) };
}

/** Blocks of a version and tree in key order, starting after `afterKey` (exclusive), `limit` at a time. */
export function pageStatement(
  budget: Budget,
  zoneId: number,
  version: number,
  tree: Tree,
  afterKey: Uint8Array | null,
  limit: number,
): D1PreparedStatement {
  return budget.prepare(
    `SELECT b.id, b.added_version, b.first_key, b.last_key, b.data, NULL AS next_key, 1 AS has_prev FROM blocks b
     WHERE b.zone_id = ?1 AND b.tree = ?2 AND b.first_key > ?3 AND ${visible("b", "?4")}
     ORDER BY b.first_key LIMIT ?5`,
    [zoneId, tree, afterKey ?? new Uint8Array(0), version, limit],
  );
}

/**
 * The blocks of version `version` holding RRSIGs, the earliest-expiring first, `limit` of them (every block row
 * of the zone is read: no index leads with the expiration). An IXFR through the overlay reads them when a node
 * it replaces may have held the zone's earliest expiration (`changeset-apply.ts` `exactEarliest`).
 */
export function earliestBlocksStatement(budget: Budget, zoneId: number, version: number, limit: number): D1PreparedStatement {
  return budget.prepare(
    `SELECT b.tree, b.rrsig_expires_at, b.data FROM blocks b WHERE b.zone_id = ?1 AND b.tree IN (0, 1) AND b.rrsig_expires_at IS NOT NULL
       AND ${visible("b", "?2")} ORDER BY b.rrsig_expires_at LIMIT ?3`,
    [zoneId, version, limit],
  );
}

/**
 * Sets the zone's earliest RRSIG expiration to the minimum over the blocks version `version` sees, if
 * that version is the served one (run inside a flip batch, after the pointer moved).
 */
export function earliestRrsigStatement(budget: Budget, zoneId: number, version: number): D1PreparedStatement {
  return budget.prepare(
    `UPDATE zones SET rrsig_expires_at = (SELECT MIN(b.rrsig_expires_at) FROM blocks b WHERE b.zone_id = ?1 AND b.tree IN (0, 1)
       AND ${visible("b", "?2")}) WHERE id = ?1 AND current_version = ?2`,
    [zoneId, version],
  );
}
