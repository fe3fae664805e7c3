/**
 * @module The port-53 front's forward against a scripted HTTP/1.1 Worker (a real server on loopback that
 * answers by the first label of the question), because the point is to see the exact request the front
 * makes and every way an answer can be wrong; the real Worker behind dig and kdig is in test/port53/.
 * Checked: the request (POST, media type, token, transport, UDP size, client unmapped), the answer relayed,
 * what is cached and what is not, SERVFAIL for every upstream fault within the timeout, and the in-flight bound.
 */
import { once } from "node:events";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Rcode } from "../../../dns/constants.ts";
import { decodeMessage } from "../../../dns/message.ts";
import { queryWire } from "../../../dns/testing/query-wire.ts";
import type { RequestContext } from "../request-context.ts";
import { createLogger } from "../../ops/log.ts";
import { Metrics } from "../../ops/metrics.ts";
import { answerQuery, createQueryForwarder, deadlines, type QueryForwarder } from "./query-forward.ts";
import { readQueryShape } from "./query-shape.ts";
import { ResponseCache } from "./response-cache.ts";
import { createWorkerUpstream, type WorkerUpstream } from "./worker-upstream.ts";

const TOKEN = "internal-token-for-the-forward-test";
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
let server: http.Server;
let upstream: WorkerUpstream;
/** Requests per first label, for the answers that fail only the first time. */
const hits = new Map<string, number>();

/** The query turned into a NOERROR (or `rcode`) answer with the same ID, as the Worker would send it. */
function answer(query: Buffer, rcode = 0, id?: number): Buffer {
  const out = Buffer.from(query);
  out[2] = out[2]! | 0x84; // QR, AA
  out[3] = (out[3]! & 0xf0) | rcode;
  if (id !== undefined) out.writeUInt16BE(id, 0);
  return out;
}

const VERSIONED = { "x-backstop-zone": "example.org.", "x-backstop-version": "7", "x-backstop-version-age-ms": "0" };

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const label = body.subarray(13, 13 + body[12]!).toString();
    const send = (status: number, payload: Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/dns-message", "content-length": String(payload.length), ...headers });
      res.end(payload);
    };
    switch (label) {
      case "ok": return send(200, answer(body), VERSIONED);
      case "nover": return send(200, answer(body));
      case "private": return void setTimeout(() => send(200, answer(body)), 100); // a restricted zone's: no version headers
      case "servfail": return send(200, answer(body, Rcode.SERVFAIL), VERSIONED);
      case "badid": return send(200, answer(body, 0, body.readUInt16BE(0) ^ 1), VERSIONED);
      case "short": return send(200, Buffer.alloc(5));
      case "query": return send(200, body, VERSIONED); // QR clear: not an answer
      case "status": return send(500, Buffer.from("boom"));
      case "slow": return void setTimeout(() => send(200, answer(body), VERSIONED), 4000); // past the forwarder's 1 s
      // wrangler dev's proxy, when its connection to the Worker was lost: 503 with Retry-After: 0.
      case "proxy503once": return (hits.set(label, (hits.get(label) ?? 0) + 1).get(label) ?? 0) % 2 === 1 ? send(503, Buffer.from("Your worker restarted mid-request."), { "retry-after": "0" }) : send(200, answer(body), VERSIONED);
      case "proxy503": return send(503, Buffer.from("Your worker restarted mid-request."), { "retry-after": "0" });
      case "plain503": return send(503, Buffer.from("unavailable"));
      // The server closes the connection instead of answering (an idle close racing the request).
      case "resetonce": return (hits.set(label, (hits.get(label) ?? 0) + 1).get(label) ?? 0) % 2 === 1 ? void req.socket.destroy() : send(200, answer(body), VERSIONED);
      default: return send(404, Buffer.from("?"));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  upstream = createWorkerUpstream({ workerUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`, timeoutMs: 5000 });
});

afterAll(async () => {
  await upstream.close();
  server.close();
});

function forwarder(over: { maxInFlight?: number; cache?: ResponseCache } = {}) {
  const metrics = new Metrics({ defaultMetrics: false });
  const forward = createQueryForwarder({
    upstream,
    internalToken: TOKEN,
    // Well under "slow"'s 1.5 s, well over a loaded 2-core machine's worst local round trip (300 ms was not).
    timeoutMs: 1000,
    maxInFlight: over.maxInFlight ?? 16,
    cache: over.cache,
    metrics,
    log: createLogger({ level: "silent" }),
  });
  return { forward, metrics };
}

const udp: RequestContext = { transport: "udp", remoteAddress: "::ffff:192.0.2.7", remotePort: 5353 };
const tcp: RequestContext = { transport: "tcp", remoteAddress: "2001:db8::7", remotePort: 40000 };

async function ask(forward: QueryForwarder, name: string, ctx = udp, id = 0x4242, options: Parameters<typeof queryWire>[2] = {}) {
  const wire = queryWire(name, "A", { id, ...options });
  return decodeMessage(await answerQuery(forward, wire, readQueryShape(wire), ctx));
}

describe("the request", () => {
  it.each([
    { why: "UDP with EDNS 4096: size capped at 1232, client unmapped", ctx: udp, options: { edns: { udpPayloadSize: 4096 } }, size: "1232", client: "192.0.2.7" },
    { why: "UDP without EDNS: 512", ctx: udp, options: { edns: false as const }, size: "512", client: "192.0.2.7" },
    { why: "TCP: no UDP size", ctx: tcp, options: {}, size: undefined, client: "2001:db8::7" },
  ])("$why", async ({ ctx, options, size, client }) => {
    const { forward } = forwarder();
    seen.length = 0;
    const m = await ask(forward, "ok.example.org.", ctx, 0x4242, options);
    expect(m.rcode).toBe(Rcode.NOERROR);
    expect(m.id).toBe(0x4242);
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/prefix/dns-query");
    expect(req.headers["content-type"]).toBe("application/dns-message");
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers["x-backstop-transport"]).toBe(ctx.transport);
    expect(req.headers["x-backstop-udp-size"]).toBe(size);
    expect(req.headers["x-backstop-client"]).toBe(client);
  });
});

describe("faults are SERVFAIL with the query's ID and question", () => {
  it.each([
    { label: "servfail", reason: undefined, why: "the Worker's own SERVFAIL is relayed" },
    { label: "badid", reason: "bad-answer", why: "an answer with another ID" },
    { label: "short", reason: "bad-answer", why: "a body shorter than a header" },
    { label: "query", reason: "bad-answer", why: "a body with QR clear" },
    { label: "status", reason: "status", why: "HTTP 500" },
    { label: "slow", reason: "timeout", why: "no answer within the timeout" },
  ])("$why", async ({ label, reason }) => {
    const { forward, metrics } = forwarder();
    const started = Date.now();
    const m = await ask(forward, `${label}.example.org.`, udp, 0x1111);
    // Faults end the wait early; "slow" ends at the forwarder's 1 s timer, long before the Worker's
    // answer at 4 s (or the upstream's own 5 s timeout): the bound leaves a slow machine 2.5 s of slack.
    expect(Date.now() - started).toBeLessThan(3500);
    expect(m.rcode).toBe(Rcode.SERVFAIL);
    expect(m.id).toBe(0x1111);
    expect(m.questions[0]!.name.toString()).toBe(`${label}.example.org.`);
    const text = (await metrics.render()).body;
    if (reason) expect(text).toContain(`backstop_front_upstream_failures_total{reason="${reason}"} 1`);
    else expect(text).not.toContain("backstop_front_upstream_failures_total{");
  });

  it.each([
    { label: "proxy503once", requests: 2, rcode: Rcode.NOERROR, why: "wrangler dev's proxy 503 (Retry-After: 0) is asked once more" },
    { label: "resetonce", requests: 2, rcode: Rcode.NOERROR, why: "a connection closed before the answer is asked once more" },
    { label: "proxy503", requests: 2, rcode: Rcode.SERVFAIL, why: "only once: a second proxy 503 is SERVFAIL" },
    { label: "plain503", requests: 1, rcode: Rcode.SERVFAIL, why: "a 503 without Retry-After: 0 is not asked again" },
  ])("$why", async ({ label, requests, rcode }) => {
    const { forward, metrics } = forwarder();
    seen.length = 0;
    const m = await ask(forward, `${label}.example.org.`, udp, 0x2222);
    expect(m.rcode).toBe(rcode);
    expect(m.id).toBe(0x2222);
    expect(seen.filter((r) => r.method === "POST")).toHaveLength(requests);
    const failures = (await metrics.render()).body.split("\n").filter((l) => l.startsWith("backstop_front_upstream_failures_total{"));
    expect(failures).toEqual(rcode === Rcode.NOERROR ? [] : ['backstop_front_upstream_failures_total{reason="status"} 1']);
  });

  it("an unreachable Worker", async () => {
    const dead = createWorkerUpstream({ workerUrl: "http://127.0.0.1:9", timeoutMs: 300 });
    try {
      const forward = createQueryForwarder({ upstream: dead, internalToken: TOKEN, timeoutMs: 300, maxInFlight: 4, log: createLogger({ level: "silent" }) });
      expect((await ask(forward, "ok.example.org.")).rcode).toBe(Rcode.SERVFAIL);
    } finally {
      await dead.close();
    }
  });

  it("past maxInFlight, SERVFAIL at once without asking the Worker", async () => {
    const { forward, metrics } = forwarder({ maxInFlight: 1 });
    const slow = ask(forward, "slow.example.org.");
    const busy = await ask(forward, "ok.example.org.");
    expect(busy.rcode).toBe(Rcode.SERVFAIL);
    await slow;
    expect((await metrics.render()).body).toContain('backstop_front_upstream_failures_total{reason="busy"} 1');
  });
});

describe("what is cached", () => {
  it.each([
    { label: "ok", cached: true, why: "NOERROR with version headers" },
    { label: "nover", cached: false, why: "no version headers" },
    { label: "servfail", cached: false, why: "SERVFAIL, even with version headers" },
  ])("$why: cached = $cached", async ({ label, cached }) => {
    const cache = new ResponseCache({ maxEntries: 10 });
    const { forward } = forwarder({ cache });
    seen.length = 0;
    await ask(forward, `${label}.example.org.`, udp, 1);
    const second = await ask(forward, `${label}.example.org.`, udp, 2);
    expect(second.id).toBe(2);
    expect(seen).toHaveLength(cached ? 1 : 2);
    // Another transport class is another key.
    await ask(forward, `${label}.example.org.`, tcp, 3);
    expect(seen).toHaveLength(cached ? 2 : 3);
  });
});

/** A forwarder with `cache` whose zones the replica answers (`local`), version 7 of example.org. */
function replicaForwarder(cache: ResponseCache, local: NonNullable<Parameters<typeof createQueryForwarder>[0]["local"]>, metrics?: Metrics) {
  return createQueryForwarder({ upstream, internalToken: TOKEN, timeoutMs: 1000, maxInFlight: 16, cache, metrics, log: createLogger({ level: "silent" }), local });
}
const replicaAnswer = (wire: Uint8Array) => ({ answer: answer(Buffer.from(wire)), origin: { zones: ["example.org."], versions: [7], ageMs: 0 } });

it("a replica answer is stored in the cache from the second ask of its key on; the Worker is not asked", async () => {
  const cache = new ResponseCache({ maxEntries: 10 });
  let made = 0;
  const forward = replicaForwarder(
    cache,
    async (wire) => {
      made++;
      return replicaAnswer(wire);
    },
    new Metrics({ defaultMetrics: false }),
  );
  seen.length = 0;
  for (const id of [1, 2, 3, 4]) expect((await ask(forward, "replica.example.org.", udp, id)).id).toBe(id);
  // First ask: made, not stored. Second: made and stored. Third and fourth: the cache's.
  expect(made).toBe(2);
  expect(cache.stats.stores).toBe(1);
  expect(cache.stats.hits).toBe(2);
  // Another name asked once is made and not stored.
  await ask(forward, "other.example.org.", udp, 5);
  expect([made, cache.stats.stores]).toEqual([3, 1]);
  expect(seen).toHaveLength(0);
});

it("a replica answer to a key asked the first time makes no key string: the cache and the doorkeeper take the key's octets and hashes", async () => {
  const cache = new ResponseCache({ maxEntries: 10 });
  const forward = replicaForwarder(cache, replicaAnswer);
  const queries = ["a", "b", "c"].map((label, id) => queryWire(`${label}.example.org.`, "A", { id }));
  const strings = vi.spyOn(Buffer.prototype, "toString");
  try {
    for (const wire of queries) {
      const reply = answerQuery(forward, wire, readQueryShape(wire), udp);
      expect(reply).toBeInstanceOf(Uint8Array);
    }
    expect(strings).not.toHaveBeenCalled();
  } finally {
    strings.mockRestore();
  }
  // Asked again: stored (under its octets), then hit.
  for (let round = 0; round < 2; round++) for (const wire of queries) answerQuery(forward, wire, readQueryShape(wire), udp);
  expect([cache.stats.stores, cache.stats.hits]).toEqual([3, 3]);
});

it("concurrent misses of one key share one forward, each answer with its own ID and spelling", async () => {
  const cache = new ResponseCache({ maxEntries: 10 });
  const { forward } = forwarder({ cache });
  seen.length = 0;
  const names = ["ok.joined.example.", "OK.joined.example.", "ok.JOINED.example.", "Ok.Joined.Example."];
  const replies = await Promise.all(names.map((name, i) => ask(forward, name, udp, 500 + i)));
  expect(seen).toHaveLength(1);
  expect(replies.map((m) => [m.id, m.questions[0]!.name.toString(), m.rcode])).toEqual(names.map((name, i) => [500 + i, name, Rcode.NOERROR]));
});

it("concurrent queries for an answer that depends on the client each ask the Worker", async () => {
  const cache = new ResponseCache({ maxEntries: 10 });
  const { forward } = forwarder({ cache });
  seen.length = 0;
  const clients = ["192.0.2.1", "198.51.100.1", "203.0.113.1"];
  const replies = await Promise.all(clients.map((remoteAddress, i) => ask(forward, "private.example.org.", { ...udp, remoteAddress }, 600 + i)));
  expect(replies.map((m) => m.id)).toEqual([600, 601, 602]);
  expect(seen.map((r) => r.headers["x-backstop-client"])).toEqual(clients);
});

describe("deadlines: one timeout signal per slice of forwards", () => {
  it("forwards within 1% of the timeout share a signal; a later one gets its own; each aborts within [timeout − slice, timeout]", async () => {
    let t = 0;
    const next = deadlines(200, () => t);
    // Taken before the signal is made, so however long the lines below take on a slow machine, the wait
    // measured is at least the signal's own.
    const started = performance.now();
    const first = next();
    t = 1.9; // within the 2 ms slice (1% of 200 ms)
    expect(next()).toBe(first);
    t = 2;
    const second = next();
    expect(second).not.toBe(first);
    await new Promise<void>((resolve) => (first.aborted ? resolve() : first.addEventListener("abort", () => resolve())));
    // A real timer: not before the timeout less the slice (and a millisecond of timer rounding).
    expect(performance.now() - started).toBeGreaterThanOrEqual(200 - 2 - 1);
  });
});
