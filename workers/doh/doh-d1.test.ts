/**
 * DoH end to end in workerd over the real D1 store: a zone ingested the way the transfer-service ships it
 * (record-stream chunks, begin → append → commit), then asked through the Worker's own `/dns-query` route.
 * The same table rows run against the in-memory store, so the D1 store and the engine are proven together.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, beforeAll } from "vitest";
import { Name } from "../../dns/name.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rcodeToString } from "../../dns/constants.ts";
import { storeOf, zoneRecords } from "../../answer/testing/load-zone.ts";
import { presentation, queryWire } from "../../answer/testing/table.ts";
import { answerQuery } from "../../answer/engine.ts";
import { Hono } from "hono";
import type { Env } from "../env.d.ts";
import { app } from "../index.ts";
import { D1ZoneStore } from "../store/d1-zone-store.ts";
import { createDoh, createDohHandler } from "./index.ts";
import { appendChunk, beginIngest, commitIngest } from "../store/full-ingest.ts";
import { acquireLease } from "../store/lease.ts";
import { encodeRecordStream } from "../store/record-stream.ts";
import { Budget } from "../store/statement-budget.ts";
import { toBase64Url } from "./base64url.ts";

const APEX = "d1.example.";
const ZONE = `
$ORIGIN d1.example.
$TTL 3600
@        SOA   ns1 hostmaster 42 7200 3600 1209600 300
@        NS    ns1
ns1      A     192.0.2.1
www  600 A     192.0.2.80
alias    CNAME www
a.b.c    TXT   "deep"
*.w      A     192.0.2.99
sub      NS    ns.sub
ns.sub   A     192.0.2.53
dn       DNAME elsewhere.example.
`;

/** Questions whose answers must be the same from D1 and from memory. */
const QUESTIONS: Array<[string, string]> = [
  ["www.d1.example.", "A"],
  ["WWW.D1.example.", "A"],
  ["alias.d1.example.", "A"],
  ["b.c.d1.example.", "TXT"],
  ["x.c.d1.example.", "TXT"],
  ["q.w.d1.example.", "A"],
  ["host.sub.d1.example.", "A"],
  ["x.dn.d1.example.", "A"],
  ["nope.d1.example.", "AAAA"],
  ["d1.example.", "NS"],
  ["d1.example.", "ANY"],
];

describe("DoH over the D1 store", () => {
  beforeAll(async () => {
    const budget = new Budget(env.DB);
    const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id")
      .bind(APEX.slice(0, -1))
      .first<{ id: number }>();
    const zone = { id: row!.id, name: Name.parse(APEX) };
    expect(await acquireLease(budget, zone.id, "doh-test", 600_000)).not.toBeNull();
    const version = await beginIngest(budget, zone, "doh-test");
    await appendChunk(budget, zone, version, 0, encodeRecordStream(zoneRecords(ZONE, zone.name)), "doh-test");
    await commitIngest(budget, zone, version, "doh-test", { serial: 42 });
  });

  const memory = storeOf({ apex: APEX, text: ZONE });

  it.each(QUESTIONS)("%s %s: the Worker over D1 answers as the engine over memory does", async (qname, qtype) => {
    const wire = queryWire(qname, qtype);
    const res = await app.request(`/dns-query?dns=${toBase64Url(wire)}`, {}, env);
    expect(res.status).toBe(200);
    const fromD1 = decodeMessage(new Uint8Array(await res.arrayBuffer()));
    const fromMemory = decodeMessage((await answerQuery(memory, wire, { transport: "tcp", client: { admin: false }, now: Date.now() })).wire);
    const sections = (m: typeof fromD1) => ({
      rcode: rcodeToString(m.rcode),
      aa: m.flags.aa,
      answer: m.answers.map(presentation),
      authority: m.authorities.map(presentation),
      additional: m.additionals.map(presentation),
    });
    expect(sections(fromD1)).toEqual(sections(fromMemory));
    expect(fromD1.answers.length + fromD1.authorities.length).toBeGreaterThan(0);
  });

  it("a hot name costs no D1 query (issue 7: in-isolate cache keyed by zone version)", async () => {
    // A long pointer TTL keeps a slow machine from re-reading the zone list mid-test.
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
    const doh = new Hono<{ Bindings: Env }>().route("/dns-query", createDoh({ store: () => store }));
    const ask = async (qname: string, qtype: string) => {
      const res = await doh.request(`/dns-query?dns=${toBase64Url(queryWire(qname, qtype))}`, {}, env);
      return decodeMessage(new Uint8Array(await res.arrayBuffer()));
    };
    const cold = store.queries;
    expect((await ask("www.d1.example.", "A")).answers).toHaveLength(1);
    const afterFirst = store.queries;
    expect(afterFirst).toBeGreaterThan(cold);
    for (const [qname, qtype] of QUESTIONS) await ask(qname, qtype);
    const warm = store.queries;
    for (const [qname, qtype] of QUESTIONS) await ask(qname, qtype);
    // Each question again: every lookup is a cache hit.
    expect(store.queries).toBe(warm);
  });

  it("forwarded answers carry the D1 zone's version and how old the pointer read is (injected clock)", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 1000, now });
    const doh = new Hono<{ Bindings: Env }>().route("/dns-query", createDoh({ store: () => store, now }));
    const row = await env.DB.prepare("SELECT current_version AS v FROM zones WHERE name = ?").bind(APEX.slice(0, -1)).first<{ v: number }>();
    const ask = async () => {
      const res = await doh.request("/dns-query", {
        method: "POST",
        body: queryWire("www.d1.example.", "A"),
        headers: { "content-type": "application/dns-message", authorization: `Bearer ${env.INTERNAL_TOKEN}`, "x-backstop-transport": "udp" },
      }, env);
      return [res.headers.get("x-backstop-zone"), res.headers.get("x-backstop-version"), res.headers.get("x-backstop-version-age-ms")];
    };
    const steps: Array<{ at: number; age: string }> = [
      { at: 1_000_000, age: "0" }, // first read
      { at: 1_000_700, age: "700" }, // pointers reused
      { at: 1_001_000, age: "1000" }, // still within pointerTtlMs (1000 ms: not more)
      { at: 1_001_001, age: "0" }, // re-read
    ];
    for (const step of steps) {
      clock = step.at;
      expect(await ask()).toEqual([APEX, String(row!.v), step.age]);
    }
  });

  it("the Worker's entry answers GET and POST without hono exactly as hono's route does", async () => {
    for (const [qname, qtype] of QUESTIONS) {
      const wire = queryWire(qname, qtype);
      const url = `http://backstop.test/dns-query?dns=${toBase64Url(wire)}`;
      const init = () => ({ method: "POST", body: wire, headers: { "content-type": "application/dns-message" } });
      for (const [fast, routed] of [
        [await exports.default.fetch(url), await app.request(url, {}, env)],
        [await exports.default.fetch("http://backstop.test/dns-query", init()), await app.request("/dns-query", init(), env)],
      ] as const) {
        expect([...fast.headers]).toEqual([...routed.headers]);
        expect(new Uint8Array(await fast.arrayBuffer())).toEqual(new Uint8Array(await routed.arrayBuffer()));
      }
    }
  });

  it("HEAD through the Worker's entry answers 200 with the GET's headers and no body", async () => {
    const url = `http://backstop.test/dns-query?dns=${toBase64Url(queryWire("www.d1.example.", "A"))}`;
    const full = await exports.default.fetch(url);
    const head = await exports.default.fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/dns-message");
    expect(head.headers.get("content-length")).toBe(String((await full.arrayBuffer()).byteLength));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("a repeated GET is answered from a prebuilt response: the same octets and headers, no store lookup", async () => {
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
    let lookups = 0;
    // Counts every call the handler makes into the store (the answer cache re-checks zones on each hit).
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          lookups++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const handle = createDohHandler({ store: () => counted, epoch: () => store.answerEpoch() });
    for (const [qname, qtype] of QUESTIONS) {
      const url = `http://backstop.test/dns-query?dns=${toBase64Url(queryWire(qname, qtype, { id: 0 }))}`;
      const responses = [];
      for (let i = 0; i < 3; i++) responses.push(await handle(new Request(url), env));
      const seen = lookups;
      const fourth = await handle(new Request(url), env);
      expect(lookups, `${qname} ${qtype}: store calls on the fourth GET`).toBe(seen);
      const direct = await app.request(url, {}, env);
      for (const res of [...responses, fourth]) {
        expect([...res.headers]).toEqual([...direct.headers]);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array(await direct.clone().arrayBuffer()));
      }
      // A request with a token takes the full path (the internal token changes transport and headers).
      await handle(new Request(url, { headers: { authorization: "Bearer nobody" } }), env);
      expect(lookups).toBeGreaterThan(seen);
    }
  });

  it("a committed version is answered once the pointers are re-read, whatever the answer cache held", async () => {
    let clock = 2_000_000;
    const now = () => clock;
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 1000, now });
    // With the prebuilt responses of the Worker's entry (epoch given): they follow the same second.
    const doh = new Hono<{ Bindings: Env }>().route("/dns-query", createDoh({ store: () => store, now, epoch: () => store.answerEpoch() }));
    const address = async () => {
      const res = await doh.request(`/dns-query?dns=${toBase64Url(queryWire("www.d1.example.", "A"))}`, {}, env);
      return decodeMessage(new Uint8Array(await res.arrayBuffer())).answers.map(presentation);
    };
    const before = await address();
    expect(await address()).toEqual(before);
    expect(await address()).toEqual(before);
    const budget = new Budget(env.DB);
    const row = await env.DB.prepare("SELECT id FROM zones WHERE name = ?").bind(APEX.slice(0, -1)).first<{ id: number }>();
    const zone = { id: row!.id, name: Name.parse(APEX) };
    const version = await beginIngest(budget, zone, "doh-test");
    await appendChunk(budget, zone, version, 0, encodeRecordStream(zoneRecords(ZONE.replace("192.0.2.80", "192.0.2.180").replace(" 42 ", " 43 "), zone.name)), "doh-test");
    await commitIngest(budget, zone, version, "doh-test", { serial: 43 });
    clock += 1000;
    expect(await address()).toEqual(before); // the pointers are a second old at most, with or without the cache
    clock += 1;
    expect(await address()).toEqual(["www.d1.example. 600 A 192.0.2.180"]);
  });

  it("/internal/v1/answer-stats counts this isolate's answers and the served store's D1 statements and rows read", async () => {
    expect((await app.request("/internal/v1/answer-stats", {}, env)).status).toBe(401);
    const stats = async () => {
      const res = await app.request("/internal/v1/answer-stats", { headers: { authorization: `Bearer ${env.INTERNAL_TOKEN}` } }, env);
      expect(res.status).toBe(200);
      return (await res.json()) as { doh: { prebuilt: number; cacheHits: number; cacheMisses: number }; d1: { statements: number; rowsRead: number } };
    };
    const before = await stats();
    // A question no earlier test asked (its block may be warm, but the engine answers it: a cache miss).
    const url = `/dns-query?dns=${toBase64Url(queryWire("stats-probe.d1.example.", "TXT", { id: 0 }))}`;
    for (let i = 0; i < 3; i++) expect((await app.request(url, {}, env)).status).toBe(200);
    const after = await stats();
    expect(after.doh.cacheMisses - before.doh.cacheMisses).toBe(1);
    expect(after.doh.cacheHits - before.doh.cacheHits).toBe(1);
    expect(after.doh.prebuilt - before.doh.prebuilt).toBe(1);
    expect(after.d1.statements).toBeGreaterThan(0);
    expect(after.d1.rowsRead).toBeGreaterThan(0);
    const admin = await app.request("/internal/v1/answer-stats", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }, env);
    expect(admin.status).toBe(200);
  });

  it("a name outside every zone is REFUSED over D1 too", async () => {
    const res = await app.request(`/dns-query?dns=${toBase64Url(queryWire("www.not-hosted.example.", "A"))}`, {}, env);
    expect(rcodeToString(decodeMessage(new Uint8Array(await res.arrayBuffer())).rcode)).toBe("REFUSED");
  });
});
