/**
 * @module What the transfer-service reports of a zone's refresh (`PUT /internal/v1/zones/:zone/timers`):
 * the SOA timers it saw, the primary's serial, when it checked and checks next, the expiry, the status in
 * words. Written only while the writer holds the zone's refresh lease (compare-and-set on the row), so a
 * service that lost its lease cannot overwrite the one that took it over.
 */
import type { TimersUpdate } from "../../../contract/internal-v1.ts";
import type { D1Queryable } from "../d1-queryable.ts";

/**
 * Writes the fields `update` carries; true when written (or when it carries none), false when
 * `update.owner` does not hold a live lease on the zone.
 */
export async function writeTimers(db: D1Queryable, zoneId: number, update: TimersUpdate, now = Date.now()): Promise<boolean> {
  const statement = writeTimersStatement(db, zoneId, update, now);
  if (!statement) return true;
  // `changes` counts the rows the zone change log's triggers write too (`zone_changes`): 0 means the guard failed.
  return ((await statement.run()).meta.changes ?? 0) > 0;
}

/**
 * `writeTimers`'s statement, for a batch (`internal/folded.ts`); null when `update` carries no field. Its
 * result's `meta.changes` is 0 when the lease guard failed.
 */
export function writeTimersStatement(db: D1Queryable, zoneId: number, update: TimersUpdate, now = Date.now()): D1PreparedStatement | null {
  const sets: string[] = [];
  const params: (string | number | null)[] = [zoneId, update.owner, now];
  const set = (column: string, value: string | number | null | undefined) => {
    if (value === undefined) return;
    params.push(value);
    sets.push(`${column} = ?${params.length}`);
  };
  set("soa_refresh", update.soa?.refresh);
  set("soa_retry", update.soa?.retry);
  set("soa_expire", update.soa?.expire);
  set("soa_minimum", update.soa?.minimum);
  set("primary_serial", update.primarySerial ?? update.soa?.serial);
  set("last_check_at", update.lastCheckAt);
  set("next_refresh_at", update.nextRefreshAt);
  set("expires_at", update.expiresAt);
  set("status", update.status);
  set("status_detail", update.statusDetail);
  if (sets.length === 0) return null;
  return db.prepare(`UPDATE zones SET ${sets.join(", ")}, updated_at = ?3 WHERE id = ?1 AND lease_owner = ?2 AND lease_until > ?3`).bind(...params);
}
