/**
 * @module A primary zone following a Cloudflare zone (issue 22 item 5), end to end: the real Worker
 * (`wrangler dev`, local D1) polls a stand-in of Cloudflare's DNS records export on 127.0.0.1
 * (`workers/store/primary/cloudflare-source.testing.ts`, which serves the export and the error bodies as
 * Cloudflare's documentation shows them; NOT tested against the real API), reached through
 * CLOUDFLARE_API_BASE:
 * - the cron (`GET /__scheduled`) makes the first poll; a record added, changed and removed there is answered
 *   over DoH after the next poll, made on demand (`POST …/refresh`) and by the NOTIFY webhook; the wait is
 *   bounded at 3 s and the figures are printed (the issue asks for 1 s);
 * - proxied records are not answered and are counted in the zone view;
 * - a token Cloudflare refuses: the reason in words, the answers as they were;
 * - the token reaches the stand-in's Authorization header and nowhere else: not in a response, not in
 *   anything wrangler or the Worker printed.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeFromString } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { standInAnswer, type StandInZone } from "../../workers/store/primary/cloudflare-source.testing.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const ZONE = "cfsrc.test";
const ZONE_ID = randomBytes(16).toString("hex");
const TOKEN = `cf-${randomBytes(20).toString("base64url")}`;
const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
/** The issue asks for 1 s; bounded at 3 s so a slower machine tells the truth about following, not speed. */
const ANSWER_BOUND_MS = 3_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const cloudflare: StandInZone = {
  zoneName: ZONE,
  zoneId: ZONE_ID,
  token: TOKEN,
  serial: 2053368469,
  records: [
    { name: ZONE, type: "A", ttl: 1, content: "192.0.2.10", proxied: true },
    { name: `www.${ZONE}`, type: "A", ttl: 1, content: "192.0.2.1", proxied: false },
    { name: `shop.${ZONE}`, type: "A", ttl: 1, content: "198.51.100.7", proxied: true, comment: "origin behind the proxy" },
    { name: `old.${ZONE}`, type: "TXT", ttl: 60, content: '"remove me"' },
  ],
  seen: { exports: 0, authorizations: [] },
};

let standIn: http.Server | undefined;
let worker: WranglerDev | undefined;
let webhookSecret = "";

async function api(method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: Json; text: string }> {
  const res = await fetch(`${worker!.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = (res.headers.get("content-type") ?? "").includes("json") && text ? (JSON.parse(text) as Json) : undefined;
  return { status: res.status, json, text };
}

/** One DoH GET to the Worker: the answer's rdata of `type`, sorted. */
async function doh(name: string, type: string): Promise<string[]> {
  const wire = queryWire(name, type, { id: 0, edns: false });
  const res = await fetch(`${worker!.base}/dns-query?dns=${Buffer.from(wire).toString("base64url")}`, { headers: { accept: "application/dns-message" } });
  if (res.status !== 200) throw new Error(`DoH answered HTTP ${res.status}`);
  const reply = decodeMessage(new Uint8Array(await res.arrayBuffer()));
  const qtype = typeFromString(type);
  return reply.answers.filter((rr) => rr.type === qtype).map((rr) => rdataToText(rr.type, rr.rdata)).sort();
}

/** Waits until DoH answers `want` for every `[name, type]`; returns the milliseconds since `since`. */
async function answered(expectations: [string, string, string[]][], since: number): Promise<number> {
  await waitFor(
    expectations.map(([n, t, w]) => `${n} ${t} = [${w.join(", ")}]`).join("; "),
    async () => {
      for (const [name, type, want] of expectations) if (JSON.stringify(await doh(name, type)) !== JSON.stringify(want.slice().sort())) return false;
      return true;
    },
    ANSWER_BOUND_MS,
  );
  return performance.now() - since;
}

beforeAll(async () => {
  standIn = http.createServer((req, res) => {
    const answer = standInAnswer(cloudflare, req.method ?? "GET", new URL(req.url ?? "/", "http://stand-in").pathname, req.headers.authorization ?? null);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise<void>((resolve) => standIn!.listen(0, "127.0.0.1", resolve));
  const port = (standIn.address() as AddressInfo).port;
  worker = await startWranglerDev({
    adminToken: ADMIN,
    internalToken: `internal-${randomBytes(12).toString("hex")}`,
    vars: { CLOUDFLARE_API_BASE: `http://127.0.0.1:${port}` },
    testScheduled: true,
  });
  const created = await api("POST", "/api/v1/zones", {
    name: ZONE,
    model: "primary",
    soa: { mname: "ns1.backstop.test.", rname: "hostmaster.backstop.test." },
    nameservers: ["ns1.backstop.test.", "ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."],
    source: { kind: "cloudflare", zoneId: ZONE_ID, apiToken: TOKEN },
  });
  expect(created.status, created.text).toBe(201);
  expect(created.text).not.toContain(TOKEN);
  webhookSecret = created.json.webhookSecret as string;
}, 150_000);

afterAll(async () => {
  await worker?.stop();
  await new Promise((resolve) => (standIn ? standIn.close(resolve) : resolve(undefined)));
});

describe("a primary zone following a Cloudflare zone, through the real Worker", () => {
  it("takes its records at the cron's poll, without the proxied ones, which the view counts", async () => {
    expect((await api("GET", `/api/v1/zones/${ZONE}`)).json.source).toMatchObject({ kind: "cloudflare", zoneId: ZONE_ID, pollSeconds: 300, lastPoll: null });
    const since = performance.now();
    const cron = await fetch(`${worker!.base}/__scheduled`);
    expect(cron.status).toBe(200);
    const ms = await answered([[`www.${ZONE}`, "A", ["192.0.2.1"]], [`old.${ZONE}`, "TXT", ['"remove me"']]], since);
    console.log(`first poll by the cron: answered over DoH ${ms.toFixed(0)} ms after /__scheduled was called`);
    expect(await doh(`shop.${ZONE}`, "A")).toEqual([]);
    expect(await doh(ZONE, "A")).toEqual([]);
    expect(await doh(ZONE, "NS")).toEqual(["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com.", "ns1.backstop.test."]);
    await waitFor("the poll in the zone view", async () => (await api("GET", `/api/v1/zones/${ZONE}`)).json.source.lastPoll !== null);
    const view = (await api("GET", `/api/v1/zones/${ZONE}`)).json;
    expect(view.source.lastPoll).toMatchObject({ result: "changed", added: 2, removed: 0, droppedProxied: 2, error: null });
    expect(cloudflare.seen.authorizations).toEqual([`Bearer ${TOKEN}`]);
  });

  it("follows a record added, changed and removed there, polled on demand and by the webhook", async () => {
    cloudflare.records.push({ name: `api.${ZONE}`, type: "AAAA", ttl: 300, content: "2001:db8::5", proxied: false });
    cloudflare.records.find((r) => r.name === `www.${ZONE}`)!.content = "192.0.2.2";
    cloudflare.records = cloudflare.records.filter((r) => r.name !== `old.${ZONE}`);
    cloudflare.serial++;
    const serial = (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial as number;
    const refresh = await api("POST", `/api/v1/zones/${ZONE}/refresh`, {});
    const since = performance.now();
    expect(refresh.status, refresh.text).toBe(200);
    expect(refresh.json).toMatchObject({ zone: ZONE, polled: true, lastPoll: { result: "changed", added: 2, removed: 2, droppedProxied: 2, serial: serial + 1 } });
    const ms = await answered([[`api.${ZONE}`, "AAAA", ["2001:db8::5"]], [`www.${ZONE}`, "A", ["192.0.2.2"]], [`old.${ZONE}`, "TXT", []]], since);
    console.log(`poll on POST …/refresh: answered over DoH ${ms.toFixed(0)} ms after the API's answer`);

    // The NOTIFY webhook, with the zone's own secret: the poll runs after the 202.
    cloudflare.records.push({ name: `hook.${ZONE}`, type: "A", ttl: 60, content: "192.0.2.60", proxied: false });
    const hook = await api("POST", `/api/v1/zones/${ZONE}/notify`, undefined, webhookSecret);
    const hookSince = performance.now();
    expect(hook.status, hook.text).toBe(202);
    const hookMs = await answered([[`hook.${ZONE}`, "A", ["192.0.2.60"]]], hookSince);
    console.log(`poll on the NOTIFY webhook: answered over DoH ${hookMs.toFixed(0)} ms after the webhook's answer`);
  });

  it("says in words that Cloudflare refused the token, and keeps answering what it had", async () => {
    cloudflare.token = "rotated-at-cloudflare";
    cloudflare.records.push({ name: `late.${ZONE}`, type: "A", ttl: 60, content: "192.0.2.70", proxied: false });
    const serial = (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial as number;
    const refresh = await api("POST", `/api/v1/zones/${ZONE}/refresh`, {});
    expect(refresh.status).toBe(200);
    expect(refresh.json.lastPoll).toMatchObject({ result: "failed", added: 0, removed: 0 });
    expect(refresh.json.lastPoll.error).toMatch(/^Cloudflare refused the API token \(HTTP 401: Invalid API Token \(code 1000\)\)/);
    const view = await api("GET", `/api/v1/zones/${ZONE}`);
    expect(view.json.serial).toBe(serial);
    expect(view.json.source.lastPoll.error).toBe(refresh.json.lastPoll.error);
    expect(await doh(`late.${ZONE}`, "A")).toEqual([]);
    expect(await doh(`www.${ZONE}`, "A")).toEqual(["192.0.2.2"]);
    cloudflare.token = TOKEN;
  });

  it("never shows or prints the token: not in a response, not in the Worker's output", async () => {
    for (const path of [`/api/v1/zones/${ZONE}`, "/api/v1/zones", `/api/v1/zones/${ZONE}/export`, `/api/v1/zones/${ZONE}/transfers`]) {
      expect((await api("GET", path)).text).not.toContain(TOKEN);
    }
    // The cron once more (a poll that is not due does nothing), then everything wrangler and the Worker printed.
    await fetch(`${worker!.base}/__scheduled`);
    expect(worker!.output()).not.toContain(TOKEN);
    expect(worker!.output()).not.toContain(TOKEN.slice(3, 15));
  });
});
