/**
 * @module Refresh signals: an API refresh or a webhook NOTIFY is stored on the zone row (so the
 * transfer-service's poll finds it even if the push is lost; `db/queries/refresh-signals.ts`) and pushed at once to every
 * `SERVICE_CONTROL_URLS` entry (`POST /control/refresh`, body `contract/control.ts`, internal token, 1 s
 * timeout), which is how it reaches the service within a second. A push that fails is tolerated: the poll
 * is the fallback.
 */
import { CONTROL_REFRESH_PATH, type ControlRefreshBody } from "../../contract/control.ts";
import type { Env } from "../env.d.ts";

const PUSH_TIMEOUT_MS = 1000;

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

/**
 * Keeps `work` running after the response (`waitUntil`); without an execution context (a direct
 * `app.request` in a test) it still runs, unawaited.
 */
export function afterResponse(c: { executionCtx: { waitUntil(promise: Promise<unknown>): void } }, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    void work;
  }
}

/** Pushes a signal to the service instances after the response (the poll is the fallback). */
export function pushInBackground(c: { env: Env; executionCtx: { waitUntil(promise: Promise<unknown>): void } }, signal: ControlRefreshBody): void {
  afterResponse(c, pushRefresh(c.env, signal));
}
