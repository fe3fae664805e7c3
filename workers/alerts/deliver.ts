/**
 * @module Alert delivery: the queue in D1 (`alert_deliveries`), drained by each cron run and by
 * `POST /api/v1/alert-webhook/test`. Each due row is claimed by compare-and-set before it is sent, so two
 * drains at once (two cron invocations, or a test request during a cron run) never send it twice; a row
 * that is not answered 2xx is retried with exponential backoff (BACKSTOP_ALERT_RETRY_BASE_S, 30 s by
 * default, doubling, at most 15 min apart) until an hour after it was queued, then marked `failed`. Every
 * attempt is a line of `alert_delivery_log`.
 *
 * Bodies are rendered when sent, in the webhook's format at that time: `json` is the event itself plus
 * `deliveryId` (stable across retries, for a receiver to drop duplicates) and `timestamp`; `slack` is
 * `{text}` for an incoming-webhook URL. Both are signed (`signature.ts`).
 */
import type { D1Queryable } from "../db/d1-queryable.ts";
import { SecretBox } from "../db/secret-box.ts";
import type { AlertPayload } from "./evaluate.ts";
import type { WebhookFormat } from "./kinds.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from "./signature.ts";
import { webhookUrlProblem } from "./webhook-target.ts";

/** The additional data the webhook secret is sealed under (`SecretBox` binds a name to its ciphertext). */
export const WEBHOOK_SECRET_NAME = "alert-webhook";

/** Retries stop this long after a delivery was queued. */
export const RETRY_WINDOW_MS = 3_600_000;
const MAX_BACKOFF_MS = 15 * 60_000;
/** An attempt holds its claim this long; a drain that dies mid-send leaves the row to the next one after it. */
const CLAIM_MS = 60_000;
const SEND_TIMEOUT_MS = 10_000;
/** Rows sent per drain; the rest wait for the next cron run. */
const DRAIN_BATCH = 50;

export interface DrainOptions {
  now?: () => number;
  /** The first retry's delay, seconds (BACKSTOP_ALERT_RETRY_BASE_S). */
  retryBaseSeconds?: number;
  /** Only this delivery (the test endpoint). */
  onlyId?: number;
  fetch?: typeof fetch;
}

export interface AttemptOutcome {
  id: number;
  delivered: boolean;
  status: number | null;
  error: string | null;
}

interface WebhookRow {
  url: string;
  format: WebhookFormat;
  secret_encrypted: ArrayBuffer | Uint8Array | number[];
}

/** The delay before retry number `attempts` (1: the first retry). */
export function backoffMs(attempts: number, baseSeconds: number): number {
  return Math.min(MAX_BACKOFF_MS, baseSeconds * 1000 * 2 ** Math.max(0, attempts - 1));
}

/** `BACKSTOP_ALERT_RETRY_BASE_S` as a number of seconds (30 when unset or not a positive number). */
export function retryBaseSeconds(value: string | undefined): number {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : 30;
}

/** The body for `format`, stamped with `timestamp` (Unix seconds). */
export function renderBody(format: WebhookFormat, deliveryId: number, payload: AlertPayload, timestamp: number): string {
  if (format === "slack") {
    const what =
      payload.event === "test"
        ? "test delivery from Backstop"
        : `${payload.event === "opened" ? "ALERT" : "resolved"} ${payload.zone} ${payload.kind}`;
    return JSON.stringify({ text: `[backstop] ${what}: ${payload.message}` });
  }
  return JSON.stringify({ ...payload, deliveryId, timestamp });
}

/** Sends every due delivery once (see the module comment); returns what each attempt got. */
export async function drainDeliveries(db: D1Queryable, tsigEncryptionKey: string | undefined, options: DrainOptions = {}): Promise<AttemptOutcome[]> {
  const now = options.now ?? Date.now;
  const webhook = await db.prepare("SELECT url, format, secret_encrypted FROM alert_webhook WHERE id = 1").first<WebhookRow>();
  if (!webhook) return [];
  const start = now();
  const due = options.onlyId !== undefined
    ? [{ id: options.onlyId }]
    : (
        await db
          .prepare(
            `SELECT id FROM alert_deliveries WHERE state = 'pending' AND next_attempt_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
             ORDER BY id LIMIT ?2`,
          )
          .bind(start, DRAIN_BATCH)
          .all<{ id: number }>()
      ).results;
  if (due.length === 0) return [];
  let secret: Uint8Array;
  try {
    const box = await SecretBox.fromBase64(tsigEncryptionKey);
    secret = await box.open(new Uint8Array(webhook.secret_encrypted as ArrayBuffer), WEBHOOK_SECRET_NAME);
  } catch (err) {
    // Nothing can be signed: leave the queue as it is (it is retried once the key is right) and say why.
    console.log(JSON.stringify({ msg: "alert deliveries held: the webhook secret does not open", reason: (err as Error).message }));
    return [];
  }
  const out: AttemptOutcome[] = [];
  for (const { id } of due) {
    const outcome = await attempt(db, webhook, secret, id, now, options);
    if (outcome) out.push(outcome);
  }
  return out;
}

async function attempt(
  db: D1Queryable,
  webhook: WebhookRow,
  secret: Uint8Array,
  id: number,
  now: () => number,
  options: DrainOptions,
): Promise<AttemptOutcome | undefined> {
  const at = now();
  const claimed = await db
    .prepare(
      `UPDATE alert_deliveries SET claimed_until = ?2, attempts = attempts + 1
        WHERE id = ?1 AND state = 'pending' AND next_attempt_at <= ?3 AND (claimed_until IS NULL OR claimed_until <= ?3)
        RETURNING attempts, payload, created_at`,
    )
    .bind(id, at + CLAIM_MS, at)
    .first<{ attempts: number; payload: string; created_at: number }>();
  // Another drain has it, has sent it, or has moved it to a later retry since the list was read.
  if (!claimed) return undefined;

  const timestamp = Math.floor(at / 1000);
  const body = renderBody(webhook.format, id, JSON.parse(claimed.payload) as AlertPayload, timestamp);
  let status: number | null = null;
  let error: string | null = webhookUrlProblem(webhook.url) ?? null;
  if (error === null) {
    try {
      const res = await (options.fetch ?? fetch)(webhook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "backstop-alerts",
          [SIGNATURE_HEADER]: await signBody(secret, body),
          [TIMESTAMP_HEADER]: String(timestamp),
        },
        body,
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      status = res.status;
      // The body is not needed; reading it frees the connection.
      await res.body?.cancel();
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
  } else {
    error = `webhook URL refused: ${error}`;
  }
  const done = now();
  const delivered = error === null;
  const log = db
    .prepare("INSERT INTO alert_delivery_log (delivery_id, at, status, error, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(id, at, status, error, done - at);
  const retryAt = done + backoffMs(claimed.attempts, options.retryBaseSeconds ?? 30);
  const update = delivered
    ? db.prepare("UPDATE alert_deliveries SET state = 'delivered', delivered_at = ?2, claimed_until = NULL, last_error = NULL WHERE id = ?1").bind(id, done)
    : retryAt > claimed.created_at + RETRY_WINDOW_MS
      ? db.prepare("UPDATE alert_deliveries SET state = 'failed', claimed_until = NULL, last_error = ?2 WHERE id = ?1").bind(id, error)
      : db
          .prepare("UPDATE alert_deliveries SET next_attempt_at = ?2, claimed_until = NULL, last_error = ?3 WHERE id = ?1")
          .bind(id, retryAt, error);
  await db.batch([log, update]);
  return { id, delivered, status, error };
}
