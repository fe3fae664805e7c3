/**
 * @module A primary zone following a Cloudflare zone (issue 22 item 5), in workerd with real D1, against the
 * export stand-in (`cloudflare-source.testing.ts`, NOT tested against the real API):
 * - the export is read as Cloudflare documents it: `cf_tags` after the last `cf_tags=`, proxied records
 *   left out and counted, Cloudflare's SOA and apex NS left out, TTL 1 ("automatic") served as 300;
 * - a poll applies the difference as one commit and one serial step: a record added, changed and removed
 *   there is so here, the zone's own apex NS kept;
 * - 401, 403, 404, 429 (Retry-After respected, on demand too), 5xx and an unreadable file each leave the
 *   zone as it was and say why in words in `lastPoll.error`;
 * - the API token is never in a response nor a console line; `POST …/refresh` polls a sourced zone now.
 * The Worker-and-HTTP path (cron, webhook, DoH answers following) is `test/primary/cloudflare-source.test.ts`.
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Name } from "../../../dns/name.ts";
import { RRType } from "../../../dns/constants.ts";
import { zoneByName } from "../../db/queries/zones.ts";
import { cfTags, readCloudflareExport } from "./cloudflare-source-export.ts";
import { pollCloudflareSource, pollDueSources } from "./cloudflare-source.ts";
import { exportFile, standInFetch } from "./cloudflare-source.testing.ts";
import { SourcePolled, ZoneDetail } from "../../../contract/api-v1.ts";
import type { StandInZone } from "./cloudflare-source.testing.ts";

const ADMIN = "test-admin-token";
const TOKEN = "cf-token-Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQ";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: object): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = (res.headers.get("content-type") ?? "").includes("json") && text ? (JSON.parse(text) as Json) : undefined;
  return { status: res.status, json, text };
}

function standIn(zoneName: string, zoneId: string): StandInZone {
  return {
    zoneName,
    zoneId,
    token: TOKEN,
    tokenWithoutPermission: "cf-token-read-only-elsewhere",
    serial: 2053368469,
    records: [
      { name: zoneName, type: "A", ttl: 1, content: "192.0.2.10", proxied: true },
      { name: zoneName, type: "MX", ttl: 1, content: `10 mail.${zoneName}.` },
      { name: zoneName, type: "TXT", ttl: 3600, content: '"v=spf1 -all"' },
      { name: `www.${zoneName}`, type: "A", ttl: 1, content: "192.0.2.1", proxied: false },
      { name: `www.${zoneName}`, type: "AAAA", ttl: 300, content: "2001:db8::1", proxied: false, comment: "the web server" },
      { name: `mail.${zoneName}`, type: "A", ttl: 120, content: "192.0.2.25", proxied: false },
      { name: `app.${zoneName}`, type: "CNAME", ttl: 1, content: "origin.example.net.", proxied: true, comment: "behind the proxy" },
      { name: `old.${zoneName}`, type: "A", ttl: 60, content: "192.0.2.99", proxied: false },
      { name: `sub.${zoneName}`, type: "NS", ttl: 3600, content: "ns.elsewhere.example." },
    ],
    seen: { exports: 0, authorizations: [] },
  };
}

/** The zone's RRsets as `owner ttl TYPE rdata` lines, the SOA aside (its serial is the policy's). */
async function records(zone: string): Promise<string[]> {
  const res = await call("GET", `/api/v1/zones/${zone}/rrsets?limit=1000`);
  expect(res.status, res.text).toBe(200);
  return (res.json.rrsets as Json[]).filter((r) => r.type !== "SOA").flatMap((r) => (r.records as string[]).map((d) => `${r.owner} ${r.ttl} ${r.type} ${d}`)).sort();
}

async function createSourced(zone: string, zoneId: string) {
  const res = await call("POST", "/api/v1/zones", {
    name: zone,
    model: "primary",
    soa: { mname: "ns1.backstop.example.", rname: "hostmaster.example.org." },
    nameservers: ["ns1.backstop.example.", "ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."],
    source: { kind: "cloudflare", zoneId, apiToken: TOKEN, pollSeconds: 120 },
  });
  expect(res.status, res.text).toBe(201);
  return res;
}

const row = async (zone: string) => (await zoneByName(env.DB, zone))!;

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("reading Cloudflare's export", () => {
  it("takes the tags after the last cf_tags=, as Cloudflare's documentation shows them", () => {
    // The documentation's own examples ("Import and export records", "DNS record attributes").
    expect([...cfTags("   cf_tags=awesome")]).toEqual([["awesome", ""]]);
    expect(Object.fromEntries(cfTags(' cf_tags=tag1,tag2:value2,tag3:"value,with,commas",tag4:"value with \\"escaped\\" quotation marks"'))).toEqual({
      tag1: "",
      tag2: "value2",
      tag3: "value,with,commas",
      tag4: 'value with "escaped" quotation marks',
    });
    expect([...cfTags(" just a comment without tags")]).toEqual([]);
    expect([...cfTags(" this comment contains cf_tags= as text cf_tags=")]).toEqual([]);
    expect(cfTags(" simple example cf_tags=important,ticket:THIS-12345").get("ticket")).toBe("THIS-12345");
    expect(cfTags(" cf_tags=tag-without-value,cf-proxied:true").get("cf-proxied")).toBe("true");
  });

  it("leaves out proxied records (counted), Cloudflare's SOA and apex NS, and serves TTL 1 as 300", () => {
    const zone = standIn("read.example", "0".repeat(32));
    const text = exportFile(zone) + 'quoted.read.example.\t60\tIN\tTXT\t"a; b cf_tags=cf-proxied:true" ; note\n';
    const read = readCloudflareExport(text, Name.parseAbsolute("read.example"));
    expect(read.droppedProxied).toBe(2);
    const lines = read.records.map((r) => `${r.name} ${r.ttl} ${r.type}`).sort();
    expect(lines).toEqual([
      "mail.read.example. 120 1",
      "old.read.example. 60 1",
      "quoted.read.example. 60 16",
      "read.example. 300 15",
      "read.example. 3600 16",
      "sub.read.example. 3600 2",
      "www.read.example. 300 1",
      "www.read.example. 300 28",
    ]);
    expect(read.records.some((r) => r.type === RRType.SOA)).toBe(false);
  });

  it("refuses a file that is not a zone file, with the line", () => {
    expect(() => readCloudflareExport("www.x.example. 60 IN A 192.0.2.300\n", Name.parseAbsolute("x.example"))).toThrow(/line 1.*192\.0\.2\.300/);
  });
});

describe("a primary zone following a Cloudflare zone", () => {
  it("stores the token sealed, never shows it, and follows what is added, changed and removed there", async () => {
    const logged: string[] = [];
    for (const level of ["log", "error", "warn", "info", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const zoneId = "0123456789abcdef0123456789abcdef";
    const created = await createSourced("cf.example", zoneId);
    expect(created.text).not.toContain(TOKEN);
    expect(created.json.source).toEqual({ kind: "cloudflare", zoneId, pollSeconds: 120, nextPoll: null, lastPoll: null });
    const stored = await env.DB.prepare("SELECT source, hex(source_token_sealed) AS sealed FROM zones WHERE name = 'cf.example'").first<{ source: string; sealed: string }>();
    expect(stored!.source).not.toContain(TOKEN);
    expect(stored!.sealed).not.toContain([...new TextEncoder().encode(TOKEN)].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase());
    const firstSerial = created.json.serial as number;

    const cloudflare = standIn("cf.example", zoneId);
    const fetcher = standInFetch(cloudflare);
    const first = await pollCloudflareSource(env.DB, env, await row("cf.example"), { fetch: fetcher });
    expect(first).toMatchObject({ result: "changed", droppedProxied: 2, serial: firstSerial + 1 });
    expect(cloudflare.seen.authorizations).toEqual([`Bearer ${TOKEN}`]);
    expect(await records("cf.example")).toEqual([
      "cf.example 300 MX 10 mail.cf.example.",
      "cf.example 3600 NS ada.ns.cloudflare.com.",
      "cf.example 3600 NS bob.ns.cloudflare.com.",
      "cf.example 3600 NS ns1.backstop.example.",
      'cf.example 3600 TXT "v=spf1 -all"',
      "mail.cf.example 120 A 192.0.2.25",
      "old.cf.example 60 A 192.0.2.99",
      "sub.cf.example 3600 NS ns.elsewhere.example.",
      "www.cf.example 300 A 192.0.2.1",
      "www.cf.example 300 AAAA 2001:db8::1",
    ]);

    // Nothing new there: no commit, no serial step.
    expect(await pollCloudflareSource(env.DB, env, await row("cf.example"), { fetch: fetcher })).toMatchObject({ result: "unchanged", added: 0, removed: 0 });
    expect((await row("cf.example")).serial).toBe(firstSerial + 1);

    // Added, changed and removed on Cloudflare; the next poll is one commit, one serial step.
    cloudflare.records.push({ name: "new.cf.example", type: "TXT", ttl: 300, content: '"hello"' });
    cloudflare.records.find((r) => r.name === "www.cf.example" && r.type === "A")!.content = "192.0.2.2";
    cloudflare.records = cloudflare.records.filter((r) => r.name !== "old.cf.example");
    cloudflare.serial++;
    const second = await pollCloudflareSource(env.DB, env, await row("cf.example"), { fetch: fetcher });
    expect(second).toMatchObject({ result: "changed", added: 2, removed: 2, droppedProxied: 2, serial: firstSerial + 2 });
    const now = await records("cf.example");
    expect(now).toContain('new.cf.example 300 TXT "hello"');
    expect(now).toContain("www.cf.example 300 A 192.0.2.2");
    expect(now.some((l) => l.startsWith("old.cf.example"))).toBe(false);
    expect(now.some((l) => l.includes("192.0.2.1 ") || l.endsWith("192.0.2.1"))).toBe(false);

    const shown = await call("GET", "/api/v1/zones/cf.example");
    expect(shown.json.source.lastPoll).toMatchObject({ result: "changed", added: 2, removed: 2, droppedProxied: 2, error: null, serial: firstSerial + 2 });
    expect(shown.json.source.nextPoll).not.toBeNull();
    // The view parses with the strict schema the OpenAPI document is built from.
    expect(() => ZoneDetail.parse(shown.json)).not.toThrow();
    for (const text of [shown.text, (await call("GET", "/api/v1/zones?limit=1000")).text, (await call("GET", "/api/v1/zones/cf.example/export")).text]) {
      expect(text).not.toContain(TOKEN);
    }
    expect(logged.join("\n")).not.toContain(TOKEN);
  });

  it("says why a poll failed, in words, and changes nothing: 401, 403, 404, 429 with Retry-After, 5xx, an unreadable file", async () => {
    const zoneId = "fedcba9876543210fedcba9876543210";
    await createSourced("bad.example", zoneId);
    const cloudflare = standIn("bad.example", zoneId);
    const fetcher = standInFetch(cloudflare);
    expect(await pollCloudflareSource(env.DB, env, await row("bad.example"), { fetch: fetcher })).toMatchObject({ result: "changed" });
    const before = { serial: (await row("bad.example")).serial, records: await records("bad.example") };
    cloudflare.records.push({ name: "never.bad.example", type: "A", ttl: 60, content: "192.0.2.7", proxied: false });

    let clock = Date.now();
    const pollAt = async () => pollCloudflareSource(env.DB, env, await row("bad.example"), { fetch: fetcher, now: () => clock });
    const unchanged = async () => {
      expect((await row("bad.example")).serial).toBe(before.serial);
      expect(await records("bad.example")).toEqual(before.records);
    };

    cloudflare.token = "a-rotated-token";
    const refused = await pollAt();
    expect(refused.result).toBe("failed");
    expect(refused.error).toMatch(/^Cloudflare refused the API token \(HTTP 401: Invalid API Token \(code 1000\)\)/);
    expect(refused.error).not.toContain(TOKEN);
    await unchanged();
    expect((await call("GET", "/api/v1/zones/bad.example")).json.source.lastPoll).toMatchObject({ result: "failed", error: refused.error, added: 0, removed: 0 });

    cloudflare.token = "someone-else";
    cloudflare.tokenWithoutPermission = TOKEN;
    expect((await pollAt()).error).toMatch(/^Cloudflare refused the API token \(HTTP 403: Authentication error \(code 10000\)\); give a token with DNS Read/);
    await unchanged();
    cloudflare.token = TOKEN;
    cloudflare.tokenWithoutPermission = undefined;

    cloudflare.zoneId = "f".repeat(32);
    expect((await pollAt()).error).toMatch(new RegExp(`^Cloudflare has no zone ${zoneId} for this token \\(HTTP 404: Could not route to /zones/${zoneId}/dns_records/export`));
    await unchanged();
    cloudflare.zoneId = zoneId;

    cloudflare.failWith = 503;
    expect((await pollAt()).error).toMatch(/^Cloudflare's API failed \(HTTP 503: service temporarily unavailable \(code 10001\)\)/);
    await unchanged();
    cloudflare.failWith = undefined;

    cloudflare.garbage = "<html>not a zone</html>\n";
    expect((await pollAt()).error).toMatch(/^the export is not a zone file Backstop can read: line 1/);
    await unchanged();
    cloudflare.garbage = undefined;

    // 429: Retry-After is kept, and no poll (on demand included) reaches Cloudflare before it has passed.
    cloudflare.rateLimitedFor = 600;
    const limited = await pollAt();
    expect(limited.error).toMatch(/^Cloudflare rate-limited the export \(HTTP 429: Please wait and consider throttling your request speed \(code 971\)\); not asked again before /);
    await unchanged();
    cloudflare.rateLimitedFor = undefined;
    const asked = cloudflare.seen.authorizations.length;
    clock += 300_000;
    expect((await pollAt()).error).toMatch(/^not polled: Cloudflare asked to wait until .* \(HTTP 429 Retry-After\)$/);
    expect(cloudflare.seen.authorizations.length).toBe(asked);
    await unchanged();
    expect((await call("GET", "/api/v1/zones/bad.example")).json.source.nextPoll).toBe(new Date(clock - 300_000 + 600_000).toISOString());
    clock += 301_000;
    expect(await pollAt()).toMatchObject({ result: "changed", added: 1, removed: 0 });
    expect(await records("bad.example")).toContain("never.bad.example 60 A 192.0.2.7");
  });

  it("the cron polls a zone when it is due, once, even with two cron runs at the same time", async () => {
    const zoneId = "abcdefabcdefabcdefabcdefabcdef01";
    await createSourced("cron.example", zoneId);
    const cloudflare = standIn("cron.example", zoneId);
    const fetcher = standInFetch(cloudflare);
    const announced: string[] = [];
    const t0 = Date.now();
    const run = (at: number) => pollDueSources(env.DB, env, { fetch: fetcher, now: () => at, announce: (zone, version) => void announced.push(`${zone}@${version}`) });
    // Other zones of this file are due too; their polls reach this stand-in with another zone id (a 404).
    await Promise.all([run(t0), run(t0)]);
    expect(cloudflare.seen.exports).toBe(1);
    expect(announced).toEqual([`cron.example@${(await row("cron.example")).currentVersion}`]);
    expect(await records("cron.example")).toContain("www.cron.example 300 A 192.0.2.1");
    // Not due again before pollSeconds (120) have passed; due after.
    await run(t0 + 119_000);
    expect(cloudflare.seen.exports).toBe(1);
    await run(t0 + 121_000);
    expect(cloudflare.seen.exports).toBe(2);
  });

  it("polls now on POST …/refresh and answers the poll; a source is a primary zone's, and is removed with null", async () => {
    const zoneId = "00112233445566778899aabbccddeeff";
    await createSourced("now.example", zoneId);
    const cloudflare = standIn("now.example", zoneId);
    // The Worker's own fetch, answered by the stand-in (no packet leaves the isolate).
    vi.stubGlobal("fetch", standInFetch(cloudflare));
    const res = await call("POST", "/api/v1/zones/now.example/refresh", {});
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ zone: "now.example", polled: true, lastPoll: { result: "changed", droppedProxied: 2, error: null } });
    expect(res.text).not.toContain(TOKEN);
    expect(() => SourcePolled.parse(res.json)).not.toThrow();
    expect(await records("now.example")).toContain("www.now.example 300 A 192.0.2.1");

    const secondary = await call("PATCH", "/api/v1/zones/now.example", { model: "secondary", primaries: [{ address: "192.0.2.53" }], source: { kind: "cloudflare", zoneId, apiToken: TOKEN } });
    expect(secondary.status).toBe(400);
    expect(secondary.json.error.field).toBe("source");
    const badId = await call("PATCH", "/api/v1/zones/now.example", { source: { kind: "cloudflare", zoneId: "not-an-id", apiToken: TOKEN } });
    expect(badId.status).toBe(400);
    expect(badId.json.error.field).toBe("source.zoneId");
    expect(badId.text).not.toContain(TOKEN);
    const bulk = await call("POST", "/api/v1/zones/bulk", { create: [{ name: "bulk.example", model: "primary", source: { kind: "cloudflare", zoneId, apiToken: TOKEN } }] });
    expect(bulk.status).toBe(400);
    expect(bulk.json.error.field).toBe("source");
    const noSoa = await call("POST", "/api/v1/zones", { name: "nosoa.example", model: "primary", source: { kind: "cloudflare", zoneId, apiToken: TOKEN } });
    expect(noSoa.status).toBe(400);
    expect(noSoa.json.error.field).toBe("source");

    const removed = await call("PATCH", "/api/v1/zones/now.example", { source: null });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.json.source).toBeNull();
    expect(await env.DB.prepare("SELECT source_token_sealed AS s FROM zones WHERE name = 'now.example'").first("s")).toBeNull();

    // A zone that stops being primary (PATCH or PUT) stops following Cloudflare, and its token goes.
    await createSourced("put.example", zoneId);
    const put = await call("PUT", "/api/v1/zones/put.example", { model: "secondary", primaries: [{ address: "192.0.2.53" }] });
    expect(put.status, put.text).toBe(200);
    expect(put.json.source).toBeNull();
    expect(await env.DB.prepare("SELECT source_token_sealed AS s FROM zones WHERE name = 'put.example'").first("s")).toBeNull();
  });
});
