/**
 * @module Refresh signals as stored on the zone row: an API refresh or a webhook NOTIFY records one (so the
 * transfer-service's poll finds it even if the push of `api/refresh-signal.ts` is lost), the service lists
 * the pending ones (`GET /internal/v1/signals`) and acknowledges each (`POST …/signal/ack`).
 */
import type { Signal } from "../../../contract/internal-v1.ts";
import type { D1Queryable } from "../d1-queryable.ts";

export interface RefreshOptions {
  force?: "axfr" | undefined;
  acceptLowerSerial?: boolean | undefined;
  /** Who asked (issue 24): an API token's name, `admin` or `webhook`; the transfer log's `actor`. */
  by?: string | null | undefined;
}

interface SignalRow {
  name: string;
  refresh_requested_at: number;
  refresh_force: "axfr" | null;
  refresh_accept_lower_serial: number;
}

const signalOf = (r: SignalRow): Signal => ({
  zone: r.name,
  requestedAt: r.refresh_requested_at,
  force: r.refresh_force,
  acceptLowerSerial: r.refresh_accept_lower_serial === 1,
});

/**
 * Records the request; a pending forced AXFR is never downgraded by a later plain refresh. `options.by` is
 * who asked, which the transfer log's rows name while the request is pending (the latest asker's).
 */
export async function recordRefreshRequest(db: D1Queryable, zoneId: number, options: RefreshOptions, now = Date.now()): Promise<Signal | null> {
  const row = await db
    .prepare(
      `UPDATE zones SET refresh_requested_at = ?2, refresh_requested_by = ?5,
         refresh_force = COALESCE(?3, CASE WHEN refresh_requested_at IS NULL THEN NULL ELSE refresh_force END),
         refresh_accept_lower_serial = (?4 OR (refresh_requested_at IS NOT NULL AND refresh_accept_lower_serial))
       WHERE id = ?1
       RETURNING name, refresh_requested_at, refresh_force, refresh_accept_lower_serial`,
    )
    .bind(zoneId, now, options.force ?? null, options.acceptLowerSerial ? 1 : 0, options.by ?? null)
    .first<SignalRow>();
  return row ? signalOf(row) : null;
}

/** Every pending signal, oldest first. */
export async function pendingSignals(db: D1Queryable): Promise<Signal[]> {
  const rows = await db
    .prepare(
      "SELECT name, refresh_requested_at, refresh_force, refresh_accept_lower_serial FROM zones WHERE refresh_requested_at IS NOT NULL ORDER BY refresh_requested_at",
    )
    .all<SignalRow>();
  return rows.results.map(signalOf);
}

/** Clears the zone's signal if no newer request arrived since `requestedAt` (compare-and-set); true if cleared. */
export async function acknowledgeSignal(db: D1Queryable, zoneId: number, requestedAt: number): Promise<boolean> {
  const result = await acknowledgeSignalStatement(db, zoneId, requestedAt).run();
  // `changes` counts the triggers' rows too (the zone change log, the change feed): 0 means not cleared.
  return (result.meta.changes ?? 0) > 0;
}

/**
 * `acknowledgeSignal`'s statement, for a batch (`internal/folded.ts`). With `leaseHolder`, it clears only
 * while that owner holds a live lease: in a batch after a lease-guarded report, the acknowledgement lands
 * only with the report.
 */
export function acknowledgeSignalStatement(db: D1Queryable, zoneId: number, requestedAt: number, leaseHolder?: { owner: string; now: number }): D1PreparedStatement {
  const guard = leaseHolder ? " AND lease_owner = ?3 AND lease_until > ?4" : "";
  const statement = db.prepare(
    `UPDATE zones SET refresh_requested_at = NULL, refresh_force = NULL, refresh_accept_lower_serial = 0, refresh_requested_by = NULL
     WHERE id = ?1 AND refresh_requested_at = ?2${guard}`,
  );
  return leaseHolder ? statement.bind(zoneId, requestedAt, leaseHolder.owner, leaseHolder.now) : statement.bind(zoneId, requestedAt);
}
