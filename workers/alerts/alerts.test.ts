/**
 * @module The alert lifecycle and the delivery queue in workerd with real D1 (the rules themselves are in
 * `rules.test.ts`, the real faults in `test/alerts/`): a condition is pending until it has held for the
 * damping interval, opens once, resolves, and stays as history; two evaluations at once open and queue it
 * once; the queue retries a 500 with backoff, stops after an hour, and never sends a row twice; the API
 * validates its input, seals the secret and never returns it.
 */
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { backoffMs, drainDeliveries, renderBody } from "./deliver.ts";
import { evaluateAlerts } from "./evaluate.ts";
import { ALERT_HISTORY_MS, pruneAlerts } from "./prune.ts";
import { signBody } from "./signature.ts";

const ADMIN = "test-admin-token";
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const T0 = Date.parse("2026-12-07T08:00:00Z");
const SECRET = "a-webhook-secret-of-some-length";

async function failedCheck(zone: string, at: number, error = "SOA query to 192.0.2.1:53 timed out") {
  const row = await env.DB.prepare("SELECT id FROM zones WHERE name = ?1").bind(zone).first<{ id: number }>();
  await env.DB.prepare("INSERT INTO transfer_log (zone_id, at, kind, result, direction, error) VALUES (?1, ?2, 'soa', 'failed', 'in', ?3)").bind(row!.id, at, error).run();
}

async function goodCheck(zone: string, at: number) {
  const row = await env.DB.prepare("SELECT id FROM zones WHERE name = ?1").bind(zone).first<{ id: number }>();
  await env.DB.prepare("INSERT INTO transfer_log (zone_id, at, kind, result, direction) VALUES (?1, ?2, 'soa', 'up-to-date', 'in')").bind(row!.id, at).run();
}

async function makeZone(name: string) {
  const created = await call("POST", "/zones", { name, primaries: [{ address: "192.0.2.1", port: 53 }] });
  expect(created.status, created.text).toBe(201);
  // As after a first good check: SOA timers REFRESH 3600, RETRY 600, EXPIRE a week.
  await env.DB.prepare("UPDATE zones SET soa_refresh = 3600, soa_retry = 600, soa_expire = 604800, soa_minimum = 300, serial = 1, primary_serial = 1, expires_at = ?2 WHERE name = ?1")
    .bind(name, T0 + 7 * 86_400_000)
    .run();
}

async function alertsOf(zone: string, state?: string): Promise<Json[]> {
  const r = await call("GET", `/alerts?zone=${zone}${state ? `&state=${state}` : ""}`);
  expect(r.status, r.text).toBe(200);
  return r.json.alerts;
}

beforeEach(async () => {
  await env.DB.batch([env.DB.prepare("DELETE FROM alerts"), env.DB.prepare("DELETE FROM alert_deliveries"), env.DB.prepare("DELETE FROM alert_webhook"), env.DB.prepare("DELETE FROM alert_thresholds"), env.DB.prepare("DELETE FROM zones")]);
});

describe("alert lifecycle", () => {
  it("pending while damped, opens once after one check interval (RETRY), resolves, kept as history", async () => {
    await makeZone("life.example");
    for (const i of [0, 1, 2]) await failedCheck("life.example", T0 + i * 600_000);
    const now = T0 + 2 * 600_000 + 1000;
    expect(await evaluateAlerts(env.DB, { now })).toMatchObject({ pending: 1, opened: 0 });
    expect(await alertsOf("life.example", "open")).toEqual([]);
    expect((await alertsOf("life.example", "pending"))[0]).toMatchObject({ kind: "failing", state: "pending" });
    // Not yet one RETRY (600 s) later: still pending.
    expect(await evaluateAlerts(env.DB, { now: now + 599_000 })).toMatchObject({ opened: 0 });
    // Two evaluations at once, a RETRY later: one opens it.
    const both = await Promise.all([evaluateAlerts(env.DB, { now: now + 600_000 }), evaluateAlerts(env.DB, { now: now + 600_000 })]);
    expect(both.map((r) => r.opened).sort()).toEqual([0, 1]);
    const open = await alertsOf("life.example", "open");
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      zone: "life.example",
      kind: "failing",
      since: new Date(T0).toISOString(),
      resolvedAt: null,
      message: expect.stringMatching(/^3 failed checks or transfers in a row since .*; last: SOA query to 192\.0\.2\.1:53 timed out$/),
    });
    // Still failing: nothing new.
    expect(await evaluateAlerts(env.DB, { now: now + 700_000 })).toMatchObject({ opened: 0, resolved: 0 });
    await goodCheck("life.example", now + 750_000);
    expect(await evaluateAlerts(env.DB, { now: now + 800_000 })).toMatchObject({ resolved: 1 });
    expect(await alertsOf("life.example", "open")).toEqual([]);
    const history = await alertsOf("life.example", "resolved");
    expect(history).toEqual([expect.objectContaining({ kind: "failing", since: new Date(T0).toISOString(), resolvedAt: new Date(now + 800_000).toISOString() })]);
    // A new episode is a new alert; the old one stays.
    for (const i of [1, 2, 3]) await failedCheck("life.example", now + 800_000 + i * 1000);
    await evaluateAlerts(env.DB, { now: now + 900_000 });
    await evaluateAlerts(env.DB, { now: now + 1_600_000 });
    expect((await alertsOf("life.example")).map((a: Json) => a.state).sort()).toEqual(["open", "resolved"]);
  });

  it("damping: a condition that clears before one check interval opens nothing and leaves no history", async () => {
    await makeZone("damp.example");
    expect((await call("PUT", "/zones/damp.example/alert-thresholds", { failingChecks: 1 })).status).toBe(200);
    await failedCheck("damp.example", T0);
    expect(await evaluateAlerts(env.DB, { now: T0 + 1000 })).toMatchObject({ pending: 1 });
    await goodCheck("damp.example", T0 + 2000);
    expect(await evaluateAlerts(env.DB, { now: T0 + 700_000 })).toMatchObject({ opened: 0 });
    expect(await alertsOf("damp.example")).toEqual([]);
  });

  it("failing counts failed lines in a row: an SOA check that found a newer serial is neither, an up-to-date check ends the run", async () => {
    await makeZone("streak.example");
    const row = await env.DB.prepare("SELECT id FROM zones WHERE name = 'streak.example'").first<{ id: number }>();
    const line = (at: number, kind: string, result: string, error: string | null = null) =>
      env.DB.prepare("INSERT INTO transfer_log (zone_id, at, kind, result, direction, error) VALUES (?1, ?2, ?3, ?4, 'in', ?5)").bind(row!.id, at, kind, result, error);
    await env.DB.batch([
      line(T0, "soa", "up-to-date"),
      line(T0 + 1000, "soa", "ok"),
      line(T0 + 2000, "ixfr", "failed", "IXFR from 192.0.2.1: connection reset"),
      line(T0 + 3000, "axfr", "failed", "AXFR from 192.0.2.1: connection reset"),
      line(T0 + 4000, "soa", "ok"),
      line(T0 + 5000, "ixfr", "failed", "IXFR from 192.0.2.1: connection reset"),
    ]);
    await evaluateAlerts(env.DB, { now: T0 + 6000 });
    expect((await alertsOf("streak.example", "pending"))[0]).toMatchObject({
      kind: "failing",
      since: new Date(T0 + 2000).toISOString(),
      message: expect.stringMatching(/^3 failed checks or transfers in a row .*; last: IXFR from 192\.0\.2\.1: connection reset$/),
    });
    // A good check ends the run: the pending alert is dropped.
    await env.DB.batch([line(T0 + 7000, "soa", "up-to-date")]);
    await evaluateAlerts(env.DB, { now: T0 + 8000 });
    expect(await alertsOf("streak.example")).toEqual([]);
  });

  it("history is kept 90 days; a deleted zone's thresholds go", async () => {
    await makeZone("old.example");
    expect((await call("PUT", "/zones/old.example/alert-thresholds", { failingChecks: 2 })).status).toBe(200);
    await env.DB.prepare("UPDATE zones SET expires_at = ?2 WHERE name = ?1").bind("old.example", T0 - 1).run();
    await evaluateAlerts(env.DB, { now: T0 });
    await evaluateAlerts(env.DB, { now: T0 + 600_000 });
    expect((await call("DELETE", "/zones/old.example")).status).toBe(204);
    await evaluateAlerts(env.DB, { now: T0 + 700_000 });
    await pruneAlerts(env.DB, T0 + 700_000 + ALERT_HISTORY_MS - 1);
    expect((await alertsOf("old.example", "resolved")).map((a: Json) => a.kind)).toEqual(["expired"]);
    expect(await env.DB.prepare("SELECT zone FROM alert_thresholds WHERE zone = 'old.example'").first()).toBeNull();
    await pruneAlerts(env.DB, T0 + 700_000 + ALERT_HISTORY_MS + 1);
    expect(await alertsOf("old.example")).toEqual([]);
  });

  it("an alert of a deleted zone resolves", async () => {
    await makeZone("gone.example");
    await env.DB.prepare("UPDATE zones SET expires_at = ?2 WHERE name = ?1").bind("gone.example", T0 - 1).run();
    await evaluateAlerts(env.DB, { now: T0 });
    await evaluateAlerts(env.DB, { now: T0 + 600_000 });
    expect((await alertsOf("gone.example", "open")).map((a: Json) => a.kind)).toEqual(["expired"]);
    expect((await call("DELETE", "/zones/gone.example")).status).toBe(204);
    await evaluateAlerts(env.DB, { now: T0 + 700_000 });
    expect((await alertsOf("gone.example", "resolved")).map((a: Json) => a.kind)).toEqual(["expired"]);
  });
});

describe("webhook delivery queue", () => {
  it("queues each event once, retries a 500 with backoff, signs the body, and never sends a row twice", async () => {
    expect((await call("PUT", "/alert-webhook", { url: "http://127.0.0.1:9/hook", secret: SECRET, format: "json" })).status).toBe(200);
    await makeZone("hook.example");
    await env.DB.prepare("UPDATE zones SET expires_at = ?2 WHERE name = ?1").bind("hook.example", T0 - 1).run();
    await evaluateAlerts(env.DB, { now: T0 });
    await Promise.all([evaluateAlerts(env.DB, { now: T0 + 600_000 }), evaluateAlerts(env.DB, { now: T0 + 600_000 })]);
    const queued = await env.DB.prepare("SELECT id, event FROM alert_deliveries").all<{ id: number; event: string }>();
    expect(queued.results.map((r) => r.event)).toEqual(["opened"]);

    const received: { body: string; signature: string | null; timestamp: string | null }[] = [];
    let answer = 500;
    const receiver = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      received.push({ body: String(init?.body), signature: h.get("x-backstop-signature"), timestamp: h.get("x-backstop-timestamp") });
      return new Response("", { status: answer });
    }) as typeof fetch;
    let clock = T0 + 600_000;
    const now = () => clock;
    // Two drains at once: the row is claimed by one.
    const first = await Promise.all([
      drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now, fetch: receiver, retryBaseSeconds: 30 }),
      drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now, fetch: receiver, retryBaseSeconds: 30 }),
    ]);
    expect(first.flat()).toEqual([{ id: queued.results[0]!.id, delivered: false, status: 500, error: "HTTP 500" }]);
    // Not due before the backoff.
    clock += 29_000;
    expect(await drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now, fetch: receiver, retryBaseSeconds: 30 })).toEqual([]);
    answer = 200;
    clock += 2_000;
    expect((await drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now, fetch: receiver, retryBaseSeconds: 30 }))[0]).toMatchObject({ delivered: true, status: 200 });
    expect(await drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now: () => clock + 3_600_000, fetch: receiver })).toEqual([]);
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.signature).toBe(await signBody(new TextEncoder().encode(SECRET), r.body));
      const body = JSON.parse(r.body);
      expect(body).toMatchObject({ event: "opened", zone: "hook.example", kind: "expired", deliveryId: queued.results[0]!.id, timestamp: Number(r.timestamp) });
    }
    const log = await env.DB.prepare("SELECT status, error FROM alert_delivery_log ORDER BY id").all();
    expect(log.results).toEqual([{ status: 500, error: "HTTP 500" }, { status: 200, error: null }]);
  });

  it("gives up an hour after queuing", async () => {
    expect((await call("PUT", "/alert-webhook", { url: "http://127.0.0.1:9/hook", secret: SECRET })).status).toBe(200);
    await env.DB.prepare("INSERT INTO alert_deliveries (alert_id, event, payload, next_attempt_at, created_at) VALUES (NULL, 'test', ?1, ?2, ?2)")
      .bind(JSON.stringify({ event: "test", zone: "x", kind: "test", since: "", openedAt: null, resolvedAt: null, message: "m" }), T0)
      .run();
    const failing = (async () => new Response("", { status: 503 })) as typeof fetch;
    let clock = T0;
    let attempts = 0;
    for (;;) {
      const out = await drainDeliveries(env.DB, env.TSIG_ENCRYPTION_KEY, { now: () => clock, fetch: failing, retryBaseSeconds: 30 });
      attempts += out.length;
      const row = await env.DB.prepare("SELECT state, next_attempt_at FROM alert_deliveries").first<{ state: string; next_attempt_at: number }>();
      if (row!.state !== "pending") break;
      clock = row!.next_attempt_at;
    }
    // 30 s, 1, 2, 4, 8, 15, 15, 15 min …: every attempt within the hour, none after.
    expect(clock - T0).toBeLessThanOrEqual(3_600_000);
    expect(attempts).toBeGreaterThanOrEqual(6);
    expect(backoffMs(1, 30)).toBe(30_000);
    expect(backoffMs(10, 30)).toBe(15 * 60_000);
  });

  it("slack format is {text}", () => {
    const payload = { event: "opened" as const, zone: "a.example", kind: "failing" as const, since: "", openedAt: null, resolvedAt: null, message: "3 failed checks" };
    expect(JSON.parse(renderBody("slack", 1, payload, 1))).toEqual({ text: "[backstop] ALERT a.example failing: 3 failed checks" });
  });
});

describe("/api/v1/alert-webhook and thresholds", () => {
  it("a bad body is a 400 naming the field; the secret is never returned", async () => {
    for (const [body, field] of [
      [{ url: "http://169.254.169.254/latest", secret: SECRET }, "url"],
      [{ url: "ftp://example.com/", secret: SECRET }, "url"],
      [{ url: "http://[fe80::1]/", secret: SECRET }, "url"],
      [{ url: "https://hooks.example.com/x", secret: "short" }, "secret"],
      [{ url: "https://hooks.example.com/x", secret: SECRET, format: "xml" }, "format"],
      [{ url: "https://hooks.example.com/x", secret: SECRET, extra: 1 }, undefined],
    ] as const) {
      const r = await call("PUT", "/alert-webhook", body);
      expect(r.status, r.text).toBe(400);
      if (field) expect(r.json.error.field).toBe(field);
    }
    const put = await call("PUT", "/alert-webhook", { url: "https://hooks.example.com/x", secret: SECRET, format: "slack" });
    expect(put.status).toBe(200);
    const got = await call("GET", "/alert-webhook");
    expect(got.json).toMatchObject({ url: "https://hooks.example.com/x", format: "slack" });
    expect(put.text + got.text).not.toContain(SECRET);
    const stored = await env.DB.prepare("SELECT secret_encrypted FROM alert_webhook").first<{ secret_encrypted: ArrayBuffer }>();
    expect(new TextDecoder().decode(new Uint8Array(stored!.secret_encrypted))).not.toContain(SECRET);
    expect((await call("GET", "/alerts?state=closed")).json.error.field).toBe("state");
    expect((await call("PUT", "/alert-thresholds", { expiringFraction: 2 })).json.error.field).toBe("expiringFraction");
    expect((await call("PUT", "/alert-thresholds", { failingChecks: 4 })).json.thresholds.failingChecks).toBe(4);
    expect((await call("PUT", "/alert-thresholds", { failingChecks: 3 })).status).toBe(200);
    expect((await call("GET", "/zones/nope.example/alert-thresholds")).status).toBe(404);
    const anon = await exports.default.fetch("http://backstop.test/api/v1/alerts");
    expect(anon.status).toBe(401);
  });
});
