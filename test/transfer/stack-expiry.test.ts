/**
 * @module Expiry through the real Worker (RFC 1034 §4.3.5: a secondary that cannot refresh within EXPIRE
 * stops answering for the zone): knotd as primary with SOA timers of seconds (the zone's clamps allow it),
 * the transfer-service and `wrangler dev` with real D1. With the primary stopped, once `expiresAt` passes
 * the Worker answers SERVFAIL over DoH and the zone's status is `expired`; with the primary back, the next
 * successful refresh (an SOA check is enough: the expire timer restarts on every good check) makes it
 * answered and `active` again.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rcode } from "../../dns/constants.ts";
import { startKnotd, type PeerHandle, type TsigKey } from "../peers/index.ts";
import { generateZone, zoneRecords } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "./local-stack.ts";
import { waitFor } from "./service-under-test.ts";

const ZONE = "expiry.test";
const key: TsigKey = { name: "expiry-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
/** REFRESH and RETRY 1 s, EXPIRE 3 s (at least REFRESH + RETRY, as soa-timers.ts keeps it). */
const soa = { refresh: 1, retry: 1, expire: 3 };
const zone = { origin: ZONE, records: 40, seed: 11, serial: 1, soa };
const host = [...zoneRecords(zone)].find((r) => r.type === "A" && r.owner.startsWith("host-"))!;

let stack: LocalStack | undefined;
let knotd: PeerHandle | undefined;

beforeAll(async () => {
  stack = await startLocalStack({ env: { BACKSTOP_SOA_TIMEOUT_MS: "300", BACKSTOP_SOA_TRIES: "1", BACKSTOP_PRIMARY_BACKOFF_BASE_S: "1", BACKSTOP_PRIMARY_BACKOFF_MAX_S: "1" } });
  knotd = await startKnotd({ keys: [key], zones: [{ name: ZONE, text: generateZone(zone), transferKey: key.name }] });
}, 120_000);

afterAll(async () => {
  await knotd?.stop();
  await stack?.stop();
});

describe("expiry through the Worker", () => {
  it("a stopped primary: SERVFAIL and expired past EXPIRE; restarted: answered and active after the next good refresh", async () => {
    const s = stack!;
    const status = async () => (await s.api("GET", `/api/v1/zones/${ZONE}`)).json;
    expect((await s.api("POST", "/api/v1/tsig-keys", key)).status).toBe(201);
    const created = await s.api("POST", "/api/v1/zones", {
      name: ZONE,
      primaries: [{ address: "127.0.0.1", port: knotd!.port, tsigKey: key.name }],
      minRefresh: 1,
      minRetry: 1,
      minExpire: 1,
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await waitFor("serial 1 active", async () => (await status()).serial === 1, 20_000);
    const answered = `${host.owner} ${host.ttl} ${host.data}`;
    await waitFor("answered over DoH", async () => (await s.doh(host.owner, "A")).answers[0] === answered, 5_000);
    const live = await status();
    expect(live).toMatchObject({ status: "active", timers: { refresh: 1, retry: 1, expire: 3 } });
    // The expire timer restarts with every good SOA check, so it stays about EXPIRE ahead.
    expect(Date.parse(live.expiresAt) - Date.now()).toBeGreaterThan(0);

    knotd!.kill("SIGKILL");
    await knotd!.exited;
    const stoppedAt = Date.now();
    await waitFor("SERVFAIL over DoH", async () => (await s.doh(host.owner, "A")).rcode === Rcode.SERVFAIL, 10_000);
    const servfailAfter = Date.now() - stoppedAt;
    const expired = await status();
    expect(expired.status).toBe("expired");
    expect(expired.statusDetail).toMatch(/^expired at /);
    expect(Date.parse(expired.expiresAt)).toBeLessThanOrEqual(Date.now());
    // Not before EXPIRE since the last good check (which was at most REFRESH before the kill), and not long after.
    expect(servfailAfter).toBeGreaterThan((soa.expire - soa.refresh) * 1000 - 500);
    expect(servfailAfter).toBeLessThan((soa.expire + 3) * 1000);
    // The SOA too: an expired zone is not answered at all.
    expect((await s.doh(ZONE, "SOA")).rcode).toBe(Rcode.SERVFAIL);

    await knotd!.restart();
    const restartedAt = Date.now();
    await waitFor("answered again over DoH", async () => (await s.doh(host.owner, "A")).answers[0] === answered, 10_000);
    const back = await status();
    expect(back).toMatchObject({ status: "active", serial: 1 });
    expect(Date.parse(back.expiresAt)).toBeGreaterThan(Date.now());
    console.log(`expiry through the Worker: SERVFAIL ${servfailAfter} ms after the primary stopped (EXPIRE ${soa.expire} s); answered ${Date.now() - restartedAt} ms after it restarted`);
  }, 60_000);
});
