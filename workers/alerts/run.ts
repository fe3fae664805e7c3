/**
 * @module One alert round, as the Worker's cron runs it (`workers/index.ts`): work the alerts out over every
 * zone (`evaluate.ts`), then send what is due (`deliver.ts`), then drop old history (`prune.ts`). Each part
 * is idempotent, so an overlapping or repeated run (`/__scheduled` called twice, `npm start`'s local driver
 * beside a real trigger) changes nothing twice.
 */
import type { Env } from "../env.d.ts";
import { drainDeliveries, retryBaseSeconds } from "./deliver.ts";
import { evaluateAlerts, parseNameservers } from "./evaluate.ts";
import { pruneAlerts } from "./prune.ts";

export async function runAlerts(env: Env, now = Date.now()) {
  const evaluated = await evaluateAlerts(env.DB, { now, nameservers: parseNameservers(env.BACKSTOP_NAMESERVERS) });
  const attempts = await drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { retryBaseSeconds: retryBaseSeconds(env.BACKSTOP_ALERT_RETRY_BASE_S) });
  await pruneAlerts(env.DB, now);
  return { ...evaluated, deliveries: attempts.length, delivered: attempts.filter((a) => a.delivered).length };
}
