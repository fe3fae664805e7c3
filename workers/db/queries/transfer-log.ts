/**
 * @module The transfer log: one row per SOA check, IXFR or AXFR the transfer-service reports
 * (`POST /internal/v1/zones/:zone/transfers`), read back by `/api/v1` as each zone's last transfer and
 * its history.
 */
import { and, desc, eq, inArray } from "drizzle-orm";
import type { TransferLogEntry } from "../../../contract/internal-v1.ts";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";
import { transferLog } from "../schema.ts";

export type TransferRow = typeof transferLog.$inferSelect;

/**
 * Appends an entry; returns its id. An incoming entry names its `actor` (issue 24): who asked for the
 * refresh pending on the zone as the row is written (the service writes a refresh's rows before it
 * acknowledges the request), or `service` when none is (the SOA timers, a DNS NOTIFY). Outgoing entries
 * name none: a downstream asked.
 */
export async function appendTransfer(db: D1Queryable, zoneId: number, e: TransferLogEntry, now = Date.now()): Promise<number> {
  const row = await appendTransferStatement(db, zoneId, e, now).first<{ id: number }>();
  return row!.id;
}

/** `appendTransfer`'s statement, for a batch (`internal/folded.ts`); it returns the new row's id. */
export function appendTransferStatement(db: D1Queryable, zoneId: number, e: TransferLogEntry, now = Date.now()): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO transfer_log (zone_id, at, kind, result, "primary", from_serial, to_serial, records, bytes, duration_ms, error, instance, direction, actor)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
         CASE WHEN ?13 = 'in' THEN COALESCE((SELECT refresh_requested_by FROM zones WHERE id = ?1 AND refresh_requested_at IS NOT NULL), 'service') END)
       RETURNING id`,
    )
    .bind(
      zoneId,
      e.at ?? now,
      e.kind,
      e.result,
      e.primary ?? null,
      e.fromSerial ?? null,
      e.toSerial ?? null,
      e.records ?? null,
      e.bytes ?? null,
      e.durationMs ?? null,
      e.error ?? null,
      e.instance ?? null,
      e.direction ?? "in",
    );
}

/**
 * The latest incoming entry (direction `in`) of each of these zones that has one, by zone id: one query for a page of the zone list
 * (the ids go in as one JSON parameter, so a page of 1,000 stays under D1's 100 bound parameters; and only
 * these zones' entries are read, not the whole log); none for no zones.
 */
export async function lastTransfers(db: D1Queryable, zoneIds: readonly number[]): Promise<Map<number, TransferRow>> {
  if (zoneIds.length === 0) return new Map();
  const rows = await db
    .prepare(
      `SELECT t.* FROM transfer_log t WHERE t.id IN
         (SELECT MAX(id) FROM transfer_log WHERE direction = 'in' AND zone_id IN (SELECT value FROM json_each(?1)) GROUP BY zone_id)`,
    )
    .bind(JSON.stringify(zoneIds))
    .all<Record<string, unknown>>();
  const out = new Map<number, TransferRow>();
  for (const r of rows.results) {
    out.set(r.zone_id as number, {
      id: r.id as number,
      zoneId: r.zone_id as number,
      at: r.at as number,
      kind: r.kind as "soa",
      result: r.result as "ok",
      direction: r.direction as "in",
      primary: r.primary as string | null,
      fromSerial: r.from_serial as number | null,
      toSerial: r.to_serial as number | null,
      records: r.records as number | null,
      bytes: r.bytes as number | null,
      durationMs: r.duration_ms as number | null,
      error: r.error as string | null,
      instance: r.instance as string | null,
      actor: (r.actor as string | null | undefined) ?? null,
    });
  }
  return out;
}

/** The latest transfer out to each downstream of a zone (by address), newest first, at most `limit`. */
export async function lastTransfersOut(db: D1Queryable, zoneId: number, limit = 64): Promise<TransferRow[]> {
  const rows = await db
    .prepare(
      `SELECT t.id FROM transfer_log t JOIN (SELECT "primary" AS peer, MAX(id) AS id FROM transfer_log WHERE zone_id = ?1 AND direction = 'out' GROUP BY "primary") m
       ON m.id = t.id ORDER BY t.id DESC LIMIT ?2`,
    )
    .bind(zoneId, limit)
    .all<{ id: number }>();
  const ids = rows.results.map((r) => r.id);
  if (ids.length === 0) return [];
  return drizzleOf(db).select().from(transferLog).where(inArray(transferLog.id, ids)).orderBy(desc(transferLog.id));
}

/** A zone's latest entries, newest first. */
export function transfersOf(db: D1Queryable, zoneId: number, limit: number): Promise<TransferRow[]> {
  return drizzleOf(db).select().from(transferLog).where(eq(transferLog.zoneId, zoneId)).orderBy(desc(transferLog.id)).limit(limit);
}

/** A zone's latest incoming entry (its last refresh), if any: transfers out do not count. */
export function lastTransfer(db: D1Queryable, zoneId: number): Promise<TransferRow | undefined> {
  return drizzleOf(db)
    .select()
    .from(transferLog)
    .where(and(eq(transferLog.zoneId, zoneId), eq(transferLog.direction, "in")))
    .orderBy(desc(transferLog.id))
    .limit(1)
    .get();
}
