/**
 * @module `/api/v1/alerts` and the alert thresholds (issue 25). `GET /alerts?state=open|resolved|pending&zone=`
 * lists alerts newest first, as `{alerts: [{zone, kind, state, since, openedAt, message, resolvedAt}]}`
 * (`pending`: seen, not yet held for the damping interval). Thresholds: `GET`/`PUT /alert-thresholds` for
 * the deployment, `GET`/`PUT`/`DELETE /zones/:name/alert-thresholds` for one zone's overrides; `GET`
 * answers the effective values with what each layer sets. The webhook lives in `alert-webhook.ts`,
 * mounted here so the API's index has one line for all of it.
 *
 * Every route names its auth itself: this app is mounted at `/`, where a `use("*")` would reach every route
 * of the API.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ALERT_KINDS, ALERT_STATES, type AlertKind, type AlertState } from "../alerts/kinds.ts";
import { AlertThresholdsPatch, DEFAULT_THRESHOLDS, DEPLOYMENT_ROW, mergeThresholds } from "../alerts/thresholds.ts";
import { zoneByName } from "../db/queries/zones.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import { dnsName, nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { adminAuth } from "./admin-auth.ts";
import { alertWebhookRoutes } from "./alert-webhook.ts";
import { operation } from "./openapi.ts";

const AlertsQuery = z
  .object({
    state: z.enum(ALERT_STATES).optional(),
    zone: dnsName.optional(),
    kind: z.enum(ALERT_KINDS).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

interface AlertRow {
  zone: string;
  kind: AlertKind;
  state: AlertState;
  since: number;
  opened_at: number | null;
  resolved_at: number | null;
  message: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const alertRoutes = new Hono<RouteEnv>();

alertRoutes.get(
  "/alerts",
  adminAuth,
  operation({ summary: 'List alerts, open, pending or resolved, by zone and kind', tag: 'alerts', responses: [{ status: 200, description: '{alerts: [...]}' }], errors: [400] }),
  async (c) => {
  const q = validate(AlertsQuery, c.req.query());
  const rows = await c.var.db
    .prepare(
      `SELECT zone, kind, state, since, opened_at, resolved_at, message FROM alerts
        WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR zone = ?2) AND (?3 IS NULL OR kind = ?3)
        ORDER BY COALESCE(resolved_at, opened_at, seen_at) DESC, id DESC LIMIT ?4`,
    )
    .bind(q.state ?? null, q.zone ?? null, q.kind ?? null, q.limit ?? 1000)
    .all<AlertRow>();
  return c.json({
    alerts: rows.results.map((r) => ({
      zone: r.zone,
      kind: r.kind,
      state: r.state,
      since: iso(r.since),
      openedAt: iso(r.opened_at),
      message: r.message,
      resolvedAt: iso(r.resolved_at),
    })),
  });
});

async function layer(db: D1Queryable, zone: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.prepare("SELECT settings FROM alert_thresholds WHERE zone = ?1").bind(zone).first<{ settings: string }>();
  return row ? (JSON.parse(row.settings) as Record<string, unknown>) : undefined;
}

async function saveLayer(db: D1Queryable, zone: string, patch: Record<string, unknown>): Promise<Record<string, unknown>> {
  const merged = { ...(await layer(db, zone)), ...patch };
  // A field set to null in a zone's layer goes back to the deployment's value (dampSeconds: null is a value there).
  for (const [k, v] of Object.entries(patch)) if (v === null && zone !== DEPLOYMENT_ROW) delete merged[k];
  await db
    .prepare(
      `INSERT INTO alert_thresholds (zone, settings, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (zone) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    )
    .bind(zone, JSON.stringify(merged), Date.now())
    .run();
  return merged;
}

alertRoutes.get(
  "/alert-thresholds",
  adminAuth,
  operation({ summary: "Read the deployment's alert thresholds", tag: 'alerts', responses: [{ status: 200, description: 'the thresholds in effect' }] }),
  async (c) => {
  const own = await layer(c.var.db, DEPLOYMENT_ROW);
  return c.json({ thresholds: mergeThresholds(own), defaults: DEFAULT_THRESHOLDS, deployment: own ?? {} });
});

alertRoutes.put(
  "/alert-thresholds",
  adminAuth,
  operation({ summary: "Set the deployment's alert thresholds", tag: 'alerts', responses: [{ status: 200, description: 'the thresholds in effect' }], errors: [400, 415] }),
  async (c) => {
  const patch = await jsonBody(c, AlertThresholdsPatch);
  const own = await saveLayer(c.var.db, DEPLOYMENT_ROW, patch);
  return c.json({ thresholds: mergeThresholds(own), defaults: DEFAULT_THRESHOLDS, deployment: own });
});

async function zoneNameOf(c: { req: { param(name: string): string | undefined }; var: { db: D1Queryable } }): Promise<string> {
  const name = nameFromPath(c.req.param("name"));
  if (!(await zoneByName(c.var.db, name))) throw new ApiError(404, "not-found", `no zone named ${name}`);
  return name;
}

alertRoutes.get(
  "/zones/:name/alert-thresholds",
  adminAuth,
  operation({ summary: "Read a zone's alert thresholds", tag: 'alerts', responses: [{ status: 200, description: "the zone's overrides and the thresholds in effect" }], errors: [404] }),
  async (c) => {
  const zone = await zoneNameOf(c);
  const [deployment, own] = await Promise.all([layer(c.var.db, DEPLOYMENT_ROW), layer(c.var.db, zone)]);
  return c.json({ zone, thresholds: mergeThresholds(deployment, own), zoneOverrides: own ?? {} });
});

alertRoutes.put(
  "/zones/:name/alert-thresholds",
  adminAuth,
  operation({ summary: "Override a zone's alert thresholds", tag: 'alerts', responses: [{ status: 200, description: 'the thresholds in effect' }], errors: [400, 404, 415] }),
  async (c) => {
  const zone = await zoneNameOf(c);
  const patch = await jsonBody(c, AlertThresholdsPatch);
  const own = await saveLayer(c.var.db, zone, patch);
  return c.json({ zone, thresholds: mergeThresholds(await layer(c.var.db, DEPLOYMENT_ROW), own), zoneOverrides: own });
});

alertRoutes.delete(
  "/zones/:name/alert-thresholds",
  adminAuth,
  operation({ summary: "Drop a zone's alert threshold overrides", tag: 'alerts', responses: [{ status: 200, description: 'the thresholds in effect' }], errors: [404] }),
  async (c) => {
  const zone = await zoneNameOf(c);
  await c.var.db.prepare("DELETE FROM alert_thresholds WHERE zone = ?1").bind(zone).run();
  return c.body(null, 204);
});

alertRoutes.route("/alert-webhook", alertWebhookRoutes);
