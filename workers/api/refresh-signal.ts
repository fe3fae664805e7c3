/**
 * @module Refresh signals: an API refresh or a webhook NOTIFY is stored on the zone row (so the
 * transfer-service's poll finds it even if the push is lost) and pushed at once to every
 * `SERVICE_CONTROL_URLS` entry (`POST /control/refresh`, body `contract/control.ts`, internal token, 1 s
 * timeout), which is how it reaches the service within a second. A push that fails is tolerated: the poll
 * is the fallback.
 */
import { CONTROL_REFRESH_PATH, type ControlRefreshBody } from "../../contract/control.ts";
import type { Signal } from "../../contract/internal-v1.ts";
import type { RefreshForce } from "../../contract/vocabulary.ts";
import type { Env } from "../env.d.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";

export interface RefreshOptions {
  force?: RefreshForce | undefined;
  acceptLowerSerial?: boolean | undefined;
}

const PUSH_TIMEOUT_MS = 1000;

/** Records the request; a pending forced AXFR is never downgraded by a later plain refresh. */
export async function recordRefreshRequest(db: D1Queryable, zoneId: number, options: RefreshOptions, now = Date.now()): Promise<Signal | null> {
  const row = await db
    .prepare(
      `UPDATE zones SET refresh_requested_at = ?2,
         refresh_force = COALESCE(?3, CASE WHEN refresh_requested_at IS NULL THEN NULL ELSE refresh_force END),
         refresh_accept_lower_serial = (?4 OR (refresh_requested_at IS NOT NULL AND refresh_accept_lower_serial))
       WHERE id = ?1
       RETURNING name, refresh_requested_at, refresh_force, refresh_accept_lower_serial`,
    )
    .bind(zoneId, now, options.force ?? null, options.acceptLowerSerial ? 1 : 0)
    .first<{ name: string; refresh_requested_at: number; refresh_force: RefreshForce | null; refresh_accept_lower_serial: number }>();
  if (!row) return null;
  return {
    zone: row.name,
    requestedAt: row.refresh_requested_at,
    force: row.refresh_force,
    acceptLowerSerial: row.refresh_accept_lower_serial === 1,
  };
}

export function controlUrls(env: Env): string[] {
  return (env.SERVICE_CONTROL_URLS ?? "")
    .split(",")
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter((u) => u !== "");
}

/** Pushes the signal to every service instance; resolves when all have answered or timed out. */
export async function pushRefresh(env: Env, signal: ControlRefreshBody, fetcher: typeof fetch = fetch): Promise<void> {
  const body = JSON.stringify(signal);
  await Promise.allSettled(
    controlUrls(env).map(async (base) => {
      const res = await fetcher(`${base}${CONTROL_REFRESH_PATH}`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.INTERNAL_TOKEN ?? ""}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
    }),
  );
}
