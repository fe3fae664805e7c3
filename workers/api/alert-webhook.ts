/**
 * @module `/api/v1/alert-webhook`: where alerts are POSTed (`workers/alerts/deliver.ts`). `PUT` sets the URL,
 * the signing secret and the format (`json` or `slack`); the secret is sealed like TSIG secrets and never
 * returned. `GET` shows the URL and format, `DELETE` removes the webhook, `POST /test` sends a sample at once
 * and answers with what the receiver said, and `GET /deliveries` lists the latest attempts (the delivery log).
 */
import { Hono } from "hono";
import { z } from "zod";
import { WEBHOOK_FORMATS } from "../alerts/kinds.ts";
import { drainDeliveries, retryBaseSeconds, WEBHOOK_SECRET_NAME } from "../alerts/deliver.ts";
import type { AlertPayload } from "../alerts/evaluate.ts";
import { webhookUrlProblem } from "../alerts/webhook-target.ts";
import { SecretBox } from "../db/secret-box.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { adminAuth } from "./admin-auth.ts";
import { operation } from "./openapi.ts";

const WebhookPut = z
  .object({
    url: z
      .string()
      .max(2000)
      .superRefine((url, ctx) => {
        const problem = webhookUrlProblem(url);
        if (problem) ctx.addIssue({ code: "custom", message: `not a webhook URL Backstop may send to: ${problem}` });
      }),
    secret: z.string().min(16, "at least 16 characters").max(512),
    format: z.enum(WEBHOOK_FORMATS).default("json"),
  })
  .strict();

const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }).strict();

export const alertWebhookRoutes = new Hono<RouteEnv>();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

alertWebhookRoutes.put(
  "/",
  adminAuth,
  operation({ summary: 'Set the alert webhook (URL, secret, format); the secret is never shown again', tag: 'alerts', responses: [{ status: 200, description: 'the webhook, without its secret' }], errors: [400, 415] }),
  async (c) => {
  const body = await jsonBody(c, WebhookPut);
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker: the webhook secret cannot be sealed");
  });
  const sealed = await box.seal(new TextEncoder().encode(body.secret), WEBHOOK_SECRET_NAME);
  const now = Date.now();
  await c.var.db
    .prepare(
      `INSERT INTO alert_webhook (id, url, format, secret_encrypted, updated_at) VALUES (1, ?1, ?2, ?3, ?4)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, format = excluded.format, secret_encrypted = excluded.secret_encrypted, updated_at = excluded.updated_at`,
    )
    .bind(body.url, body.format, sealed, now)
    .run();
  return c.json({ url: body.url, format: body.format, updatedAt: iso(now) });
});

alertWebhookRoutes.get(
  "/",
  adminAuth,
  operation({ summary: 'Read the alert webhook (never its secret)', tag: 'alerts', responses: [{ status: 200, description: 'the webhook' }], errors: [404] }),
  async (c) => {
  const row = await c.var.db.prepare("SELECT url, format, updated_at FROM alert_webhook WHERE id = 1").first<{ url: string; format: string; updated_at: number }>();
  if (!row) throw new ApiError(404, "not-found", "no alert webhook is set (PUT /api/v1/alert-webhook)");
  return c.json({ url: row.url, format: row.format, updatedAt: iso(row.updated_at) });
});

alertWebhookRoutes.delete(
  "/",
  adminAuth,
  operation({ summary: 'Remove the alert webhook', tag: 'alerts', responses: [{ status: 200, description: 'removed' }] }),
  async (c) => {
  await c.var.db.prepare("DELETE FROM alert_webhook WHERE id = 1").run();
  return c.body(null, 204);
});

alertWebhookRoutes.post(
  "/test",
  adminAuth,
  operation({ summary: 'Send a sample alert to the webhook now', tag: 'alerts', responses: [{ status: 200, description: "the delivery's outcome" }], errors: [404] }),
  async (c) => {
  const configured = await c.var.db.prepare("SELECT 1 AS one FROM alert_webhook WHERE id = 1").first();
  if (!configured) throw new ApiError(404, "not-found", "no alert webhook is set (PUT /api/v1/alert-webhook)");
  const now = Date.now();
  const payload: AlertPayload = {
    event: "test",
    zone: "example.com",
    kind: "test",
    since: iso(now)!,
    openedAt: iso(now),
    resolvedAt: null,
    message: "a test delivery from Backstop: alerts reach this webhook",
  };
  const row = await c.var.db
    .prepare("INSERT INTO alert_deliveries (alert_id, event, payload, next_attempt_at, created_at) VALUES (NULL, 'test', ?1, ?2, ?2) RETURNING id")
    .bind(JSON.stringify(payload), now)
    .first<{ id: number }>();
  // Sent now, not at the next cron run; a failure is retried like any delivery.
  const [outcome] = await drainDeliveries(c.var.db, c.env.TSIG_ENCRYPTION_KEY, { onlyId: row!.id, retryBaseSeconds: retryBaseSeconds(c.env.BACKSTOP_ALERT_RETRY_BASE_S) });
  return c.json({ deliveryId: row!.id, delivered: outcome?.delivered ?? false, status: outcome?.status ?? null, error: outcome?.error ?? null });
});

alertWebhookRoutes.get(
  "/deliveries",
  adminAuth,
  operation({ summary: "List the webhook's deliveries and their attempts", tag: 'alerts', responses: [{ status: 200, description: 'the delivery queue' }] }),
  async (c) => {
  const query = validate(DeliveriesQuery, c.req.query());
  const rows = await c.var.db
    .prepare(
      `SELECT d.id, d.alert_id, d.event, d.state, d.attempts, d.last_error, d.created_at, d.delivered_at, d.next_attempt_at,
              a.zone, a.kind
         FROM alert_deliveries d LEFT JOIN alerts a ON a.id = d.alert_id
        ORDER BY d.id DESC LIMIT ?1`,
    )
    .bind(query.limit ?? 100)
    .all<{
      id: number;
      alert_id: number | null;
      event: string;
      state: string;
      attempts: number;
      last_error: string | null;
      created_at: number;
      delivered_at: number | null;
      next_attempt_at: number;
      zone: string | null;
      kind: string | null;
    }>();
  return c.json({
    deliveries: rows.results.map((r) => ({
      id: r.id,
      alertId: r.alert_id,
      zone: r.zone,
      kind: r.kind,
      event: r.event,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      createdAt: iso(r.created_at),
      deliveredAt: iso(r.delivered_at),
      nextAttemptAt: r.state === "pending" ? iso(r.next_attempt_at) : null,
    })),
  });
});
