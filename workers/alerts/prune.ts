/**
 * @module What the alert tables keep: resolved alerts for 90 days (history for the API and the panel),
 * finished deliveries and their attempt log for 30 days, and thresholds only of zones that exist. Run with
 * every alert round; each statement touches only what is past its bound, so an idle run deletes nothing.
 */
import type { D1Queryable } from "../db/d1-queryable.ts";
import { DEPLOYMENT_ROW } from "./thresholds.ts";

export const ALERT_HISTORY_MS = 90 * 86_400_000;
export const DELIVERY_HISTORY_MS = 30 * 86_400_000;

export async function pruneAlerts(db: D1Queryable, now: number): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1").bind(now - ALERT_HISTORY_MS),
    db.prepare("DELETE FROM alert_delivery_log WHERE at < ?1").bind(now - DELIVERY_HISTORY_MS),
    db.prepare("DELETE FROM alert_deliveries WHERE state != 'pending' AND created_at < ?1").bind(now - DELIVERY_HISTORY_MS),
    db.prepare("DELETE FROM alert_thresholds WHERE zone != ?1 AND zone NOT IN (SELECT name FROM zones)").bind(DEPLOYMENT_ROW),
  ]);
}
