/**
 * @module Alerts caused by real faults (issue 25), against the real stack: `wrangler dev --test-scheduled`
 * (workerd, local D1), the transfer-service in-process, knotd primaries on loopback, and a webhook receiver
 * on 127.0.0.1. The cron's alert round is driven by `GET /__scheduled` (two calls at once each time, as two
 * overlapping cron invocations), never by the wall-clock trigger.
 *
 * Faults, one zone each, side by side: a primary stopped (failing, expiring, expired) and started again
 * (resolved); a primary stopped for one failed check (damping: nothing opens); a change at the primary with
 * no NOTIFY and transfers cut short by a proxy (stale); a primary restarted with a lower serial
 * (serial-regressed); apex NS sets without this deployment's nameservers, or a dark zone with them
 * (ns-mismatch); a zone signed with one day of signature lifetime (rrsig-expiring). Every opened and
 * resolved alert reaches the webhook signed, exactly once, after a 500 and a retry; the Slack format is
 * sent by `POST /alert-webhook/test`.
 *
 * SOA timers are seconds (REFRESH and RETRY 1 s; the zones' clamps allow it), so the default damping (one
 * check interval, RETRY) is 1 s; what each step waits for is a condition, bounded in time.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultProxy, startKnotd, type FaultProxy, type PeerHandle } from "../peers/index.ts";
import { startLocalStack, type Json, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { generateZone } from "../zones/generate.ts";
import { signZone } from "../zones/sign.ts";
import { startReceiver, type Receiver } from "./receiver.ts";

const OURS = ["ns1.backstop.test", "ns2.backstop.test"];
const SECRET = randomBytes(24).toString("base64url");
const FAST = { refresh: 1, retry: 1, expire: 600 };
const CLAMPS = { minRefresh: 1, minRetry: 1, minExpire: 1 };

/** A generated zone whose apex NS set also lists `ns` (this deployment's nameservers unless told otherwise). */
function zoneText(origin: string, opts: { serial?: number; soa?: Partial<typeof FAST>; ns?: string[] } = {}): string {
  const base = generateZone({ origin, records: 20, seed: 7, serial: opts.serial ?? 1, soa: { ...FAST, ...opts.soa } });
  return base + (opts.ns ?? OURS).map((ns) => `${origin}. 3600 IN NS ${ns}.\n`).join("");
}

let stack: LocalStack;
let receiver: Receiver;
let dir: string;
const peers: PeerHandle[] = [];
let proxy: FaultProxy | undefined;
let driving = true;
let driver: Promise<void> | undefined;
let rounds = 0;
let startedAt = 0;

/** The cron, as fast as it completes: two `/__scheduled` calls at once, then 300 ms. */
async function drive(base: string): Promise<void> {
  while (driving) {
    const once = () => fetch(`${base}/__scheduled?cron=*+*+*+*+*`).then((r) => r.text());
    await Promise.all([once(), once()]);
    rounds++;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Waits until the cron has completed `n` more rounds (each a pair of runs). */
async function moreRounds(n: number): Promise<void> {
  const target = rounds + n;
  await waitFor(`${n} cron rounds`, () => rounds >= target, 30_000);
}

async function alerts(zone: string, state?: "open" | "resolved" | "pending"): Promise<Json[]> {
  const r = await stack.api("GET", `/api/v1/alerts?zone=${zone}${state ? `&state=${state}` : ""}`);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.alerts;
}

const kindsOf = (list: Json[]) => list.map((a) => a.kind as string).sort();

async function createZone(name: string, port: number, extra: Record<string, unknown> = {}) {
  const r = await stack.api("POST", "/api/v1/zones", { name, primaries: [{ address: "127.0.0.1", port }], ...CLAMPS, ...extra });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
}

/** One per-zone gauge of the service's /metrics, or undefined when it has no sample for the zone. */
async function gauge(name: string, zone: string): Promise<number | undefined> {
  const { host, port } = stack.service.httpAddress;
  const text = await (await fetch(`http://${host}:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{zone="${zone}"} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

async function serialOf(zone: string): Promise<number | null> {
  return (await stack.api("GET", `/api/v1/zones/${zone}`)).json.serial;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "backstop-alerts-"));
  receiver = await startReceiver(SECRET, { failFirstAttempt: true });
  stack = await startLocalStack({
    env: { BACKSTOP_METRICS_ZONE_LABELS: "true", BACKSTOP_SOA_TIMEOUT_MS: "300", BACKSTOP_SOA_TRIES: "1", BACKSTOP_PRIMARY_BACKOFF_BASE_S: "1", BACKSTOP_PRIMARY_BACKOFF_MAX_S: "1" },
    worker: { testScheduled: true, vars: { BACKSTOP_NAMESERVERS: OURS.join(","), BACKSTOP_ALERT_RETRY_BASE_S: "1" } },
  });
  const put = await stack.api("PUT", "/api/v1/alert-webhook", { url: receiver.url, secret: SECRET, format: "json" });
  expect(put.status, JSON.stringify(put.json)).toBe(200);
  startedAt = Date.now();
  driver = drive(stack.base);
}, 180_000);

afterAll(async () => {
  driving = false;
  await driver;
  console.log(`alerts stack test: ${rounds} cron rounds (each two /__scheduled at once) in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  await proxy?.close();
  await Promise.all(peers.map((p) => p.stop()));
  await stack?.stop();
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

async function knotd(zones: { name: string; text?: string; file?: string }[]): Promise<PeerHandle> {
  const peer = await startKnotd({ zones });
  peers.push(peer);
  return peer;
}

describe.concurrent("alerts from real faults", () => {
  it("failing, expiring and expired with the primary stopped; resolved when it is back", async () => {
    const zone = "down.alerts.test";
    const peer = await knotd([{ name: zone, text: zoneText(zone, { soa: { expire: 20 } }) }]);
    await createZone(zone, peer.port);
    // EXPIRE 20 s, and "expiring" at half of it left for this zone: a window of 10 s, far longer than the
    // damping (1 s) and a cron round on a slow machine, while a healthy zone (checked every second) keeps
    // 10 s clear of it.
    expect((await stack.api("PUT", `/api/v1/zones/${zone}/alert-thresholds`, { expiringFraction: 0.5 })).status).toBe(200);
    await waitFor("first transfer", async () => (await serialOf(zone)) === 1, 20_000);
    await moreRounds(3);
    expect(await alerts(zone)).toEqual([]);

    peer.kill("SIGKILL");
    await peer.exited;
    await waitFor("failing and expiring open", async () => {
      const open = kindsOf(await alerts(zone, "open"));
      return open.includes("failing") && (open.includes("expiring") || open.includes("expired"));
    }, 30_000);
    const failing = (await alerts(zone, "open")).find((a) => a.kind === "failing");
    // The same faults on /metrics (BACKSTOP_METRICS_ZONE_LABELS=true), for the rules file.
    expect(await gauge("backstop_zone_consecutive_failures", zone)).toBeGreaterThanOrEqual(3);
    expect(await gauge("backstop_zone_expire_seconds", zone)).toBe(20);
    expect(await gauge("backstop_zone_expires_in_seconds", zone)).toBeLessThan(20);
    // The cause, in words from the transfer log.
    expect(failing.message).toMatch(/^\d+ failed checks or transfers in a row since .*; last: .+/);
    await waitFor("expired opens", async () => kindsOf(await alerts(zone, "open")).includes("expired"), 40_000);
    // Expired replaces expiring: under 0 s left is no longer "less than half".
    await waitFor("expiring resolved", async () => kindsOf(await alerts(zone, "resolved")).includes("expiring"), 10_000);
    expect((await alerts(zone, "open")).find((a) => a.kind === "expired").message).toMatch(/^not served since /);

    await peer.restart();
    await waitFor("failing and expired resolve", async () => (await alerts(zone, "open")).length === 0, 30_000);
    const history = await alerts(zone, "resolved");
    expect(kindsOf(history)).toEqual(["expired", "expiring", "failing"]);
    for (const a of history) expect(Date.parse(a.resolvedAt)).toBeGreaterThanOrEqual(Date.parse(a.since));
  });

  it("damping: one failed check opens nothing", async () => {
    const zone = "blip.alerts.test";
    // RETRY 300 s: after the one failure the next check is ours to ask for, and the damping (one check
    // interval, RETRY) is far longer than a restart and a refresh take on any machine.
    const peer = await knotd([{ name: zone, text: zoneText(zone, { soa: { retry: 300, expire: 1200 } }) }]);
    await createZone(zone, peer.port);
    expect((await stack.api("PUT", `/api/v1/zones/${zone}/alert-thresholds`, { failingChecks: 1 })).status).toBe(200);
    await waitFor("first transfer", async () => (await serialOf(zone)) === 1, 20_000);

    peer.kill("SIGKILL");
    await peer.exited;
    // The one failed check is seen: the alert is pending, not open.
    await waitFor("failing pending", async () => kindsOf(await alerts(zone, "pending")).includes("failing"), 20_000);
    await peer.restart();
    expect((await stack.api("POST", `/api/v1/zones/${zone}/refresh`, {})).status).toBeLessThan(300);
    await waitFor("pending dropped", async () => (await alerts(zone)).length === 0, 20_000);
    const log = (await stack.api("GET", `/api/v1/zones/${zone}/transfers`)).json.transfers as Json[];
    expect(log.filter((t) => t.result === "failed").length).toBeGreaterThanOrEqual(1);
    expect(await alerts(zone)).toEqual([]);
  });

  it("stale: the primary changed, no NOTIFY, and transfers cut short", async () => {
    const zone = "stale.alerts.test";
    const peer = await knotd([{ name: zone, text: zoneText(zone) }]);
    proxy = await startFaultProxy({ target: peer });
    await createZone(zone, proxy.port);
    await waitFor("first transfer", async () => (await serialOf(zone)) === 1, 20_000);
    // SOA queries over UDP still pass; every TCP stream (IXFR, AXFR) is closed before its first octet.
    proxy.fault = { kind: "truncate", afterBytes: 0 };
    await peer.updateZone(zone, zoneText(zone, { serial: 2 }));
    await waitFor("stale opens", async () => kindsOf(await alerts(zone, "open")).includes("stale"), 20_000);
    const stale = (await alerts(zone, "open")).find((a) => a.kind === "stale");
    expect(stale.message).toMatch(/^the primary is at serial 2, Backstop serves 1: not caught up within 2 × REFRESH/);
    expect(await gauge("backstop_zone_serial_behind", zone)).toBe(1);
    proxy.fault = { kind: "none" };
    await waitFor("serial 2 served", async () => (await serialOf(zone)) === 2, 20_000);
    await waitFor("stale resolves", async () => !kindsOf(await alerts(zone, "open")).includes("stale"), 20_000);
    expect(kindsOf(await alerts(zone, "resolved"))).toContain("stale");
  });

  it("serial-regressed, with the operator's override in the message", async () => {
    const zone = "regress.alerts.test";
    const peer = await knotd([{ name: zone, text: zoneText(zone, { serial: 10 }) }]);
    await createZone(zone, peer.port);
    await waitFor("first transfer", async () => (await serialOf(zone)) === 10, 20_000);
    await peer.updateZone(zone, zoneText(zone, { serial: 5 }), { restart: true });
    await waitFor("serial-regressed opens", async () => kindsOf(await alerts(zone, "open")).includes("serial-regressed"), 20_000);
    const a = (await alerts(zone, "open")).find((x) => x.kind === "serial-regressed");
    expect(a.message).toContain(`POST /api/v1/zones/${zone}/refresh {"force":"axfr","acceptLowerSerial":true}`);
  });

  it("ns-mismatch: a live zone without our nameservers, a dark zone with them; not a zone that is right", async () => {
    const live = "ns-live.alerts.test";
    const dark = "ns-dark.alerts.test";
    const right = "ns-right.alerts.test";
    const peer = await knotd([
      { name: live, text: zoneText(live, { ns: [OURS[0]!] }) },
      { name: dark, text: zoneText(dark, { ns: [OURS[1]!] }) },
      { name: right, text: zoneText(right) },
    ]);
    await createZone(live, peer.port);
    await createZone(dark, peer.port, { model: "hidden" });
    await createZone(right, peer.port);
    await waitFor("all three served", async () => (await Promise.all([live, dark, right].map(serialOf))).every((s) => s === 1), 20_000);
    await waitFor("ns-mismatch opens for both", async () => (await Promise.all([live, dark].map((z) => alerts(z, "open")))).every((l) => kindsOf(l).includes("ns-mismatch")), 20_000);
    expect((await alerts(live, "open")).find((a) => a.kind === "ns-mismatch").message).toMatch(/omits this deployment's nameserver ns2\.backstop\.test$/);
    expect((await alerts(dark, "open")).find((a) => a.kind === "ns-mismatch").message).toMatch(/dark \(hidden\) zone .* lists this deployment's nameserver ns2\.backstop\.test/);
    // The zone that lists both was judged by the same rounds, and more since.
    await moreRounds(2);
    expect(await alerts(right)).toEqual([]);
  });

  it("rrsig-expiring: a zone signed with a day of signature lifetime names the record and the time", async () => {
    const zone = "signed.alerts.test";
    const unsigned = path.join(dir, `${zone}.zone`);
    await writeFile(unsigned, zoneText(zone, { soa: { refresh: 1, retry: 1, expire: 600 } }));
    const signed = await signZone(unsigned, zone, { end: "+86400" });
    // The earliest RRSIG expiration in the signed file (YYYYMMDDHHmmSS, RFC 4034 §3.2).
    const text = await readFile(signed.file, "utf8");
    const earliest = Math.min(
      ...[...text.matchAll(/RRSIG\s+\S+\s+\d+\s+\d+\s+\d+\s+\(?\s*(\d{14})/g)].map(([, t]) =>
        Date.UTC(+t!.slice(0, 4), +t!.slice(4, 6) - 1, +t!.slice(6, 8), +t!.slice(8, 10), +t!.slice(10, 12), +t!.slice(12, 14)),
      ),
    );
    expect(Number.isFinite(earliest)).toBe(true);
    const peer = await knotd([{ name: zone, file: signed.file }]).finally(() => signed.remove());
    await createZone(zone, peer.port);
    await waitFor("served", async () => (await serialOf(zone)) === 1, 20_000);
    await waitFor("rrsig-expiring opens", async () => kindsOf(await alerts(zone, "open")).includes("rrsig-expiring"), 20_000);
    const a = (await alerts(zone, "open")).find((x) => x.kind === "rrsig-expiring");
    expect(a.message).toMatch(new RegExp(`^the signature of (\\S+\\.)?${zone.replace(/\./g, "\\.")}\\. RRSIG [A-Z0-9]+ in serial 1 expires at \\S+ \\(in 2\\d h \\d+ min\\)`));
    expect(a.message).toContain(`expires at ${new Date(earliest).toISOString()}`);
    await waitFor("the RRSIG gauge", async () => (await gauge("backstop_zone_rrsig_expires_in_seconds", zone)) !== undefined, 10_000);
    const left = (await gauge("backstop_zone_rrsig_expires_in_seconds", zone))!;
    expect(Math.abs(left - (earliest - Date.now()) / 1000)).toBeLessThan(60);
  });
});

describe("webhook", () => {
  it("every opened and resolved alert reached the receiver once, signed, after a 500 and a retry", async () => {
    const all = (await stack.api("GET", "/api/v1/alerts")).json.alerts as Json[];
    const expected = new Set<string>();
    for (const a of all) {
      if (a.state === "pending") continue;
      expected.add(`${a.zone} ${a.kind} opened`);
      if (a.state === "resolved") expected.add(`${a.zone} ${a.kind} resolved`);
    }
    expect(expected.size).toBeGreaterThanOrEqual(10);
    const acknowledged = () => receiver.received.filter((r) => r.status === 200).map((r) => `${r.json.zone} ${r.json.kind} ${r.json.event}`);
    await waitFor("every event delivered", () => [...expected].every((e) => acknowledged().includes(e)), 30_000);
    await moreRounds(3);
    // Once each, though every round ran the cron twice at once.
    const counts = new Map<string, number>();
    for (const e of acknowledged()) counts.set(e, (counts.get(e) ?? 0) + 1);
    for (const [e, n] of counts) expect(n, e).toBe(1);
    for (const r of receiver.received) {
      expect(r.signatureValid).toBe(true);
      expect(r.json.timestamp).toBe(r.timestamp);
    }
    // Each delivery was answered 500 first and sent again after the backoff (BACKSTOP_ALERT_RETRY_BASE_S=1).
    const byId = new Map<unknown, typeof receiver.received>();
    for (const r of receiver.received) byId.set(r.json.deliveryId, [...(byId.get(r.json.deliveryId) ?? []), r]);
    for (const [, attempts] of byId) {
      // A delivery still in its backoff (an alert that opened since `all` was read) is left out.
      if (!attempts.some((a) => a.status === 200)) continue;
      expect(attempts.map((a) => a.status)).toEqual([500, 200]);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    }
    const deliveries = (await stack.api("GET", "/api/v1/alert-webhook/deliveries")).json.deliveries as Json[];
    for (const d of deliveries) if (d.state === "delivered") expect(d.attempts).toBe(2);
  });

  it("slack format: POST /alert-webhook/test sends {text}, signed", async () => {
    expect((await stack.api("PUT", "/api/v1/alert-webhook", { url: receiver.url, secret: SECRET, format: "slack" })).status).toBe(200);
    const before = receiver.received.length;
    const first = await stack.api("POST", "/api/v1/alert-webhook/test");
    expect(first.json).toMatchObject({ delivered: false, status: 500 });
    await waitFor("the retry", () => receiver.received.slice(before).some((r) => r.status === 200), 20_000);
    const got = receiver.received.slice(before);
    expect(got.map((r) => r.json)).toEqual([{ text: expect.stringMatching(/^\[backstop\] test delivery from Backstop: /) }, expect.anything()]);
    expect(got.every((r) => r.signatureValid)).toBe(true);
  });
});
