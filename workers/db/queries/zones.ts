/**
 * @module Rows of `zones` as the two APIs read and write them: by name (the management API's whole row,
 * the ingest API's reference to it), created, listed, changed, deleted, and the webhook secret's hash
 * replaced. The transfer-service's view of a row is `zone-config.ts`; its timers, `zone-timers.ts`.
 */
import { and, asc, eq, gt, gte, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { ZONE_STATUSES } from "../../../contract/vocabulary.ts";
import { Budget } from "../../store/statement-budget.ts";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";
import { zones } from "../schema.ts";
import type { ZoneModel, ZoneStatus } from "../schema.ts";

export type ZoneRow = typeof zones.$inferSelect;
export type NewZone = typeof zones.$inferInsert;

/** The whole row of the zone named `name` (lowercase, no trailing dot), if there is one. */
export function zoneByName(db: D1Queryable, name: string): Promise<ZoneRow | undefined> {
  return drizzleOf(db).select().from(zones).where(eq(zones.name, name)).get();
}

/** What the ingest API needs of a zone: its id, its name, and the version and serial it serves. */
export interface ZonePointerRow {
  id: number;
  name: string;
  current_version: number | null;
  serial: number | null;
  /** 1 for a catalog zone (RFC 9432): its commits reconcile its members (`store/catalog.ts`). */
  catalog: number;
}

/** The ingest API's one read of a zone by name. */
export function zonePointerByName(db: D1Queryable, name: string): Promise<ZonePointerRow | null> {
  return db.prepare("SELECT id, name, current_version, serial, catalog FROM zones WHERE name = ?1").bind(name).first<ZonePointerRow>();
}

/** Every zone, by name. */
export function listZones(db: D1Queryable): Promise<ZoneRow[]> {
  return drizzleOf(db).select().from(zones).orderBy(asc(zones.name));
}

/** Creates a zone; null when a zone of that name exists already. */
export async function insertZone(db: D1Queryable, values: NewZone): Promise<ZoneRow | null> {
  const inserted = await drizzleOf(db).insert(zones).values(values).onConflictDoNothing().returning();
  return inserted[0] ?? null;
}

/** Changes the given columns (and `updated_at`); returns the row as it is now. */
export async function updateZone(db: D1Queryable, zoneId: number, changes: Partial<NewZone>, now = Date.now()): Promise<ZoneRow | undefined> {
  const [updated] = await drizzleOf(db)
    .update(zones)
    .set({ ...changes, updatedAt: now })
    .where(eq(zones.id, zoneId))
    .returning();
  return updated;
}

/**
 * Deletes a zone; foreign keys cascade to its versions, blocks, staging, journal and log. A catalog's members
 * go with it, in the same transaction (issue 19): RFC 9432 §5.2 removes a member, and its data, when it leaves
 * the catalog it was configured from, and a deleted catalog lists none. Zones of the same name that are not its
 * members (created through the API, or another catalog's) stay.
 */
export async function deleteZone(db: D1Queryable, zoneId: number): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM zones WHERE member_of = (SELECT name FROM zones WHERE id = ?1 AND catalog = 1)").bind(zoneId),
    db.prepare("DELETE FROM zones WHERE id = ?1").bind(zoneId),
  ]);
}

/**
 * A zone stops being a catalog (PATCH or PUT with `"catalog": false`, issue 19): the members it still holds go,
 * with their data, in the same batch as the flag and its last report. As BIND does when a catalog leaves
 * `catalog-zones` ("catz: removing catalog zone", merged with an empty catalog: every member deleted) and Knot
 * when a zone loses `catalog-role: interpret` (its members are orphans, no longer loaded, purged by
 * `knotc zone-purge +orphan`). A member to keep is detached first (`{"memberOf": null}`). Returns the members
 * deleted.
 */
export async function endCatalog(db: D1Queryable, zoneId: number, now = Date.now()): Promise<number> {
  const [members] = await db.batch([
    db.prepare("DELETE FROM zones WHERE member_of = (SELECT name FROM zones WHERE id = ?1 AND catalog = 1)").bind(zoneId),
    db.prepare("UPDATE zones SET catalog = 0, catalog_report = NULL, updated_at = ?2 WHERE id = ?1").bind(zoneId, now),
  ]);
  return members?.meta.changes ?? 0;
}

/** Replaces the stored hash of the zone's webhook secret. */
export async function setWebhookSecretHash(db: D1Queryable, zoneId: number, hash: string, now = Date.now()): Promise<void> {
  await drizzleOf(db).update(zones).set({ webhookSecretHash: hash, updatedAt: now }).where(eq(zones.id, zoneId));
}

/**
 * The status `/api/v1` shows (`db/zone-status.ts`'s `shownStatus`) as an SQL expression at `now`, so a list
 * can filter and count by it: `refreshing` only under a live lease, else what a dead lease leaves
 * (expired, pending without a serial, failing); `expired` past `expiresAt`; otherwise the stored status.
 * `zone-status.test.ts` holds the two to the same answer over a table of rows.
 */
export function shownStatusSql(now: number): SQL<ZoneStatus> {
  const leaseLive = sql`(${zones.leaseUntil} IS NOT NULL AND ${zones.leaseUntil} > ${now})`;
  const expired = sql`(${zones.expiresAt} IS NOT NULL AND ${now} > ${zones.expiresAt})`;
  return sql<ZoneStatus>`(CASE
    WHEN ${zones.status} = 'refreshing' AND ${leaseLive} THEN 'refreshing'
    WHEN ${zones.status} = 'refreshing' AND ${expired} THEN 'expired'
    WHEN ${zones.status} = 'refreshing' AND ${zones.serial} IS NULL THEN 'pending'
    WHEN ${zones.status} = 'refreshing' THEN 'failing'
    WHEN ${expired} THEN 'expired'
    ELSE ${zones.status} END)`;
}

/** What a page of zones is filtered by (every field optional). */
export interface ZoneFilter {
  model?: ZoneModel | undefined;
  /** The shown status (`shownStatusSql`). */
  status?: ZoneStatus | undefined;
  /** Names starting with these characters (lowercase). */
  prefix?: string | undefined;
  /** Only these names (a zone-limited API token's zones, issue 24), passed as one JSON parameter. */
  names?: readonly string[] | undefined;
}

export type ZoneSort = "name" | "next-refresh";

/** Where a page ends: the last row's sort key. */
export interface ZoneKeyset {
  name: string;
  /** For `next-refresh`: the last row's next refresh (null sorts first). */
  nextRefreshAt?: number | null | undefined;
}

function filterConditions(filter: ZoneFilter, now: number): SQL[] {
  const conditions: SQL[] = [];
  if (filter.model !== undefined) conditions.push(eq(zones.model, filter.model));
  if (filter.status !== undefined) conditions.push(sql`${shownStatusSql(now)} = ${filter.status}`);
  if (filter.prefix) {
    // A range on the name's index: [prefix, prefix with its last character raised by one).
    const p = filter.prefix;
    const upper = p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
    conditions.push(gte(zones.name, p), lt(zones.name, upper));
  }
  if (filter.names !== undefined) conditions.push(sql`${zones.name} IN (SELECT value FROM json_each(${JSON.stringify(filter.names)}))`);
  return conditions;
}

function afterCondition(sort: ZoneSort, after: ZoneKeyset): SQL {
  if (sort === "name") return gt(zones.name, after.name);
  // SQLite sorts NULL first in ascending order: zones never planned come first.
  const at = after.nextRefreshAt ?? null;
  if (at === null) return or(and(isNull(zones.nextRefreshAt), gt(zones.name, after.name)), isNotNull(zones.nextRefreshAt))!;
  return or(gt(zones.nextRefreshAt, at), and(eq(zones.nextRefreshAt, at), gt(zones.name, after.name)))!;
}

/**
 * One page of zones in `sort` order after `after` (keyset pagination: a zone that exists for the whole walk
 * is on exactly one page, whatever is added or removed meanwhile, as long as its sort key does not move),
 * and whether more follow.
 */
export async function listZonesPage(
  db: D1Queryable,
  options: { filter: ZoneFilter; sort: ZoneSort; after?: ZoneKeyset | undefined; limit: number; now: number },
): Promise<{ rows: ZoneRow[]; more: boolean }> {
  const conditions = filterConditions(options.filter, options.now);
  if (options.after) conditions.push(afterCondition(options.sort, options.after));
  const order = options.sort === "name" ? [asc(zones.name)] : [asc(zones.nextRefreshAt), asc(zones.name)];
  const rows = await drizzleOf(db)
    .select()
    .from(zones)
    .where(and(...conditions))
    .orderBy(...order)
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), more: rows.length > options.limit };
}

export type ZoneTotals = { total: number } & Record<ZoneStatus, number>;

/** How many zones the filter matches, in all and by shown status. */
export async function zoneTotals(db: D1Queryable, filter: ZoneFilter, now: number): Promise<ZoneTotals> {
  const status = shownStatusSql(now);
  const rows = await drizzleOf(db)
    .select({ status, n: sql<number>`count(*)` })
    .from(zones)
    .where(and(...filterConditions(filter, now)))
    .groupBy(status);
  const totals = { total: 0, ...Object.fromEntries(ZONE_STATUSES.map((s) => [s, 0])) } as ZoneTotals;
  for (const row of rows) {
    totals[row.status] += row.n;
    totals.total += row.n;
  }
  return totals;
}

/** A zone of a bulk create, as written (clamps filled in). */
export interface BulkZone {
  name: string;
  model: ZoneModel;
  primaries: unknown[];
  tsigKey: string | null;
  notifyAllow: string[];
  transferAllow: unknown[];
  answerAllow: string[];
  minRefresh: number;
  maxRefresh: number;
  minRetry: number;
  maxRetry: number;
  minExpire: number;
  maxExpire: number;
  webhookSecretHash: string;
  refreshRequestedAt: number;
  /** A catalog member's place in its catalog (issue 19, `store/catalog.ts`); absent: no catalog. */
  memberOf?: string;
  catalogMemberId?: string;
  catalogGroup?: string | null;
  catalogCoo?: string | null;
}

/** JSON text per statement: D1 allows 100 KB of SQL and values in one statement (`statement-budget.ts`). */
const JSON_CHUNK_BYTES = 90_000;

/** `values` as JSON arrays of at most `JSON_CHUNK_BYTES` each. */
function jsonChunks(values: readonly unknown[]): string[] {
  const chunks: string[] = [];
  let part: string[] = [];
  let bytes = 2;
  for (const v of values) {
    const text = JSON.stringify(v);
    const size = new TextEncoder().encode(text).length + 1;
    if (part.length > 0 && bytes + size > JSON_CHUNK_BYTES) {
      chunks.push(`[${part.join(",")}]`);
      part = [];
      bytes = 2;
    }
    part.push(text);
    bytes += size;
  }
  if (part.length > 0) chunks.push(`[${part.join(",")}]`);
  return chunks;
}

/** The names among `names` that are zones already. */
export async function existingZoneNames(db: D1Queryable, names: readonly string[]): Promise<Set<string>> {
  const budget = new Budget(db);
  const statements = jsonChunks(names).map((chunk) =>
    budget.prepare("SELECT name FROM zones WHERE name IN (SELECT value FROM json_each(?1))", [chunk]),
  );
  const found = new Set<string>();
  for (const result of await budget.batch<{ name: string }>(statements)) for (const row of result.results) found.add(row.name);
  return found;
}

/**
 * Creates every zone or none: the rows go in as JSON (a statement per ~90 KB, so 1,000 zones are a few
 * statements, far under D1's 100 bound parameters and its statements per batch), in one D1 batch, which is
 * one transaction. A name taken meanwhile fails the whole batch (UNIQUE).
 */
export async function insertZones(db: D1Queryable, rows: readonly BulkZone[]): Promise<void> {
  const budget = new Budget(db);
  const statements = jsonChunks(rows).map((chunk) =>
    budget.prepare(
      `INSERT INTO zones (name, model, primaries, tsig_key, notify_allow, transfer_allow, answer_allow,
         min_refresh, max_refresh, min_retry, max_retry, min_expire, max_expire, webhook_secret_hash, refresh_requested_at,
         catalog, catalog_groups, serial_policy, update_allow, member_of, catalog_member_id, catalog_group, catalog_coo)
       SELECT z.value ->> '$.name', z.value ->> '$.model', z.value -> '$.primaries', z.value ->> '$.tsigKey',
         z.value -> '$.notifyAllow', z.value -> '$.transferAllow', z.value -> '$.answerAllow',
         z.value ->> '$.minRefresh', z.value ->> '$.maxRefresh', z.value ->> '$.minRetry', z.value ->> '$.maxRetry',
         z.value ->> '$.minExpire', z.value ->> '$.maxExpire', z.value ->> '$.webhookSecretHash', z.value ->> '$.refreshRequestedAt',
         coalesce(z.value ->> '$.catalog', 0), coalesce(z.value -> '$.catalogGroups', '{}'),
         COALESCE(z.value ->> '$.serialPolicy', 'increment'), COALESCE(z.value -> '$.updateAllow', '[]'),
         z.value ->> '$.memberOf', z.value ->> '$.catalogMemberId', z.value ->> '$.catalogGroup', z.value ->> '$.catalogCoo'
       FROM json_each(?1) AS z`,
      [chunk],
    ),
  );
  await budget.batch(statements);
}

/** Deletes the zones named (those that exist), all in one batch; returns how many there were. */
export async function deleteZonesByName(db: D1Queryable, names: readonly string[]): Promise<number> {
  const budget = new Budget(db);
  const statements: D1PreparedStatement[] = [];
  for (const chunk of jsonChunks([...new Set(names)])) {
    // Counted first, in the same transaction: D1's `changes` would count cascaded and trigger rows too.
    statements.push(budget.prepare("SELECT count(*) AS n FROM zones WHERE name IN (SELECT value FROM json_each(?1))", [chunk]));
    // A deleted catalog's members go with it (`deleteZone`); they are not counted among the names deleted.
    statements.push(budget.prepare("DELETE FROM zones WHERE member_of IN (SELECT name FROM zones WHERE catalog = 1 AND name IN (SELECT value FROM json_each(?1)))", [chunk]));
    statements.push(budget.prepare("DELETE FROM zones WHERE name IN (SELECT value FROM json_each(?1))", [chunk]));
  }
  const results = await budget.batch<{ n: number }>(statements);
  return results.filter((_, i) => i % 3 === 0).reduce((sum, r) => sum + (r.results[0]?.n ?? 0), 0);
}
