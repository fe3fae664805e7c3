/**
 * @module Signals from the Worker, end to end with the real Worker (`wrangler dev`, real D1), the service
 * and knotd (which sends no NOTIFY here, and the service polls only once a minute, so only the Worker's
 * push can explain a quick refresh):
 * - the HTTP NOTIFY webhook with the zone's own secret reaches the service within a second, and the new
 *   serial is answered over DoH soon after (timed over several edits; the figures are printed);
 * - `POST /api/v1/zones/:name/refresh` checks the SOA; after the primary's serial went backwards the zone
 *   is `serial-regressed` and keeps serving ours, until `{"force":"axfr","acceptLowerSerial":true}` takes
 *   the primary's zone as it is.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RefreshSignal } from "../../transfer-service/ops/control-http.ts";
import { startKnotd, type PeerHandle, type TsigKey } from "../peers/index.ts";
import { generateZone } from "../zones/generate.ts";
import { soaSerialOf, startLocalStack, type LocalStack } from "./local-stack.ts";
import { waitFor } from "./service-under-test.ts";

const ZONE = "signals.test";
const key: TsigKey = { name: "signals-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const text = (serial: number) => generateZone({ origin: ZONE, records: 40 + serial, seed: 5, serial });
/** Edits timed from webhook to DoH answer. */
const ROUNDS = 5;
/**
 * The bound is "reaches the service within a second"; that is asserted as is. From the webhook
 * to the new serial answered over DoH the service also asks the primary, transfers and commits, and CI
 * machines are shared: 3 s leaves room for a loaded runner while still catching a lost push (the poll
 * here runs once a minute).
 */
const SIGNAL_BOUND_MS = 1000;
const ANSWER_BOUND_MS = 3000;

let stack: LocalStack | undefined;
let knotd: PeerHandle | undefined;
let webhookSecret: string;
const signalled: number[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ env: { BACKSTOP_POLL_INTERVAL_S: "60" } });
  // The moments the Worker's pushes reach the service (the HTTP port calls the zone set's `signal`).
  const refresher = stack.refresher;
  const signal = refresher.signal.bind(refresher);
  refresher.signal = (s: RefreshSignal) => {
    signalled.push(performance.now());
    return signal(s);
  };
  knotd = await startKnotd({ keys: [key], zones: [{ name: ZONE, text: text(1), transferKey: key.name }] });
  expect((await stack.api("POST", "/api/v1/tsig-keys", key)).status).toBe(201);
  const created = await stack.api("POST", "/api/v1/zones", { name: ZONE, primaries: [{ address: "127.0.0.1", port: knotd.port, tsigKey: key.name }] });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  webhookSecret = created.json.webhookSecret;
  await waitFor("first transfer", async () => (await stack!.api("GET", `/api/v1/zones/${ZONE}`)).json.serial === 1, 20_000);
}, 120_000);

afterAll(async () => {
  await knotd?.stop();
  await stack?.stop();
});

const zoneView = async () => (await stack!.api("GET", `/api/v1/zones/${ZONE}`)).json;
const servedSerial = async () => soaSerialOf(await stack!.doh(ZONE, "SOA"));

describe("signals from the Worker", () => {
  it(`the NOTIFY webhook reaches the service within ${SIGNAL_BOUND_MS} ms and the new serial is answered within ${ANSWER_BOUND_MS} ms`, async () => {
    const s = stack!;
    await waitFor("serial 1 over DoH", async () => (await servedSerial()) === 1, 5_000);
    const toSignal: number[] = [];
    const toAnswer: number[] = [];
    for (let serial = 2; serial <= ROUNDS + 1; serial++) {
      await knotd!.updateZone(ZONE, text(serial));
      expect(await servedSerial()).toBe(serial - 1);
      const pushes = signalled.length;
      const started = performance.now();
      const hook = await s.api("POST", `/api/v1/zones/${ZONE}/notify`, undefined, webhookSecret);
      expect(hook.status).toBe(202);
      // Poll DoH as a resolver would, every 10 ms, bounded.
      const deadline = started + 10_000;
      while ((await servedSerial()) !== serial && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      toAnswer.push(performance.now() - started);
      expect(signalled.length).toBeGreaterThan(pushes);
      toSignal.push(signalled[pushes]! - started);
      expect(await servedSerial()).toBe(serial);
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
    console.log(`webhook → service: ${fmt(toSignal)} ms; webhook → new serial over DoH: ${fmt(toAnswer)} ms (max ${Math.max(...toAnswer).toFixed(0)} ms)`);
    expect(Math.max(...toSignal)).toBeLessThan(SIGNAL_BOUND_MS);
    expect(Math.max(...toAnswer)).toBeLessThan(ANSWER_BOUND_MS);
    // The request is acknowledged with the report, which follows the commit.
    await waitFor("request acknowledged", async () => (await zoneView()).refreshPending === false, 5_000);
    expect(await zoneView()).toMatchObject({ status: "active", serial: ROUNDS + 1, lastTransfer: { kind: "ixfr", result: "ok" } });
  }, 60_000);

  it("refresh: an SOA check on request; after a serial regression, serial-regressed until force AXFR with acceptLowerSerial", async () => {
    const s = stack!;
    const current = ROUNDS + 1;
    const checks = async () => (await s.api("GET", `/api/v1/zones/${ZONE}/transfers`)).json.transfers.filter((t: { kind: string }) => t.kind === "soa").length;

    // A plain refresh with nothing new: one more SOA check, up to date.
    const before = await checks();
    expect((await s.api("POST", `/api/v1/zones/${ZONE}/refresh`)).status).toBe(202);
    await waitFor("an SOA check", async () => (await checks()) > before, 5_000);
    expect((await zoneView()).lastTransfer).toMatchObject({ kind: "soa", result: "up-to-date" });

    // The primary starts over from serial 1 (restarted without its journal, as an operator would).
    await knotd!.updateZone(ZONE, text(1), { restart: true });
    expect((await s.api("POST", `/api/v1/zones/${ZONE}/refresh`)).status).toBe(202);
    await waitFor("serial-regressed", async () => (await zoneView()).status === "serial-regressed", 5_000);
    const regressed = await zoneView();
    expect(regressed).toMatchObject({ serial: current, primarySerial: 1, lastTransfer: { kind: "soa", result: "serial-regressed" } });
    expect(regressed.statusDetail).toMatch(/serves serial 1, older than our serial \d+; keeping ours.*acceptLowerSerial/);
    expect(await servedSerial()).toBe(current);

    // A forced AXFR alone would not take a lower serial: the request must say so.
    const refused = await s.api("POST", `/api/v1/zones/${ZONE}/refresh`, { acceptLowerSerial: true });
    expect([refused.status, refused.json.error.field]).toEqual([400, "acceptLowerSerial"]);

    expect((await s.api("POST", `/api/v1/zones/${ZONE}/refresh`, { force: "axfr", acceptLowerSerial: true })).status).toBe(202);
    // Served request acknowledged with the report, after the commit.
    await waitFor("serial 1 taken", async () => {
      const z = await zoneView();
      return z.serial === 1 && z.refreshPending === false;
    }, 10_000);
    const taken = await zoneView();
    expect(taken).toMatchObject({ status: "active", serial: 1, primarySerial: 1, recordCount: 41, refreshPending: false, lastTransfer: { kind: "axfr", result: "ok" } });
    await waitFor("serial 1 over DoH", async () => (await servedSerial()) === 1, 3_000);
  }, 60_000);
});
