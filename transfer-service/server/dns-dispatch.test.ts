/**
 * @module The dispatcher's QUERY path with a port-53 front, message in, reply out (no sockets: the listener
 * and the real Worker are tested elsewhere). The front forwards to a Worker that is not there, so anything
 * forwarded comes back SERVFAIL; what must not be forwarded (malformed questions, transfers, rate-limited
 * answers) shows in the reply it gets instead. What needs no I/O comes back at once, not as a promise, and
 * is counted in /metrics.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Opcode, Rcode } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { createDispatcher } from "./dns-dispatch.ts";
import type { RequestContext } from "./request-context.ts";
import { createLogger } from "../ops/log.ts";
import { Metrics } from "../ops/metrics.ts";
import { createQueryForwarder } from "./query/query-forward.ts";
import { cacheKey, ResponseCache } from "./query/response-cache.ts";
import { readQueryShape } from "./query/query-shape.ts";
import { ratesOf, ResponseRateLimiter } from "./query/rrl.ts";
import { COOKIE_VALID, ServerCookies } from "./query/cookie.ts";
import { EdnsOptionCode } from "../../dns/edns.ts";
import { createWorkerUpstream } from "./query/worker-upstream.ts";

const log = createLogger({ level: "silent" });
// Port 9 (discard) has no listener on loopback: every forward fails at once.
const upstream = createWorkerUpstream({ workerUrl: "http://127.0.0.1:9", timeoutMs: 500 });
afterAll(() => upstream.close());

function dispatcher(rate = 0, { cache, slip = 1, nsid, cookies }: { cache?: ResponseCache; slip?: number; nsid?: string; cookies?: ServerCookies } = {}) {
  const notified: string[] = [];
  const metrics = new Metrics({ defaultMetrics: false });
  const handler = createDispatcher({
    notify: async (query) => {
      notified.push(query.questions[0]!.name.toString());
      return new Uint8Array(12);
    },
    front: {
      forward: createQueryForwarder({ upstream, internalToken: "a-token-of-sixteen+", timeoutMs: 500, maxInFlight: 8, cache, metrics, log }),
      rrl: new ResponseRateLimiter({ rates: ratesOf(rate), windowS: 1, slip, ipv4PrefixLength: 24, ipv6PrefixLength: 56, exempt: [], tableSize: 10, metrics }),
      nsid: nsid === undefined ? undefined : new TextEncoder().encode(nsid),
      cookies,
    },
    metrics,
  });
  // No transfers out here, so every reply is one message (a StreamingReply needs `transfers`).
  return { handler: handler as (m: Uint8Array, ctx: RequestContext) => Uint8Array | null | Promise<Uint8Array | null>, notified, metrics };
}

const udp: RequestContext = { transport: "udp", remoteAddress: "192.0.2.1", remotePort: 1053 };
const tcp: RequestContext = { ...udp, transport: "tcp" };

const withWord = (wire: Uint8Array, at: number, value: number): Uint8Array => {
  const out = wire.slice();
  out[at] = value >> 8;
  out[at + 1] = value & 0xff;
  return out;
};

/** A response cache already holding the answer to `www.example.org. A` over UDP, as a cache hit would find it. */
function warm(): ResponseCache {
  const cache = new ResponseCache({ maxEntries: 10 });
  const first = queryWire("www.example.org.", "A", { id: 1 });
  const answer = first.slice();
  answer[2]! |= 0x80;
  cache.put(cacheKey(first, readQueryShape(first), "udp")!, answer, { zones: ["example.org."], versions: [3], ageMs: 0 }, Date.now(), cache.ticket());
  return cache;
}

describe("QUERY with a front", () => {
  const a = queryWire("www.example.org.", "A", { id: 5 });
  const opt = a.subarray(a.length - 11);
  const question = a.subarray(12, a.length - 11);
  /** `a` with its OPT's RDATA replaced by `rdata` (a malformed option list). */
  const badOptions = (rdata: number[]): Uint8Array => {
    const out = new Uint8Array([...a, ...rdata]);
    out[a.length - 2] = 0;
    out[a.length - 1] = rdata.length;
    return out;
  };
  it.each<{ why: string; wire: Uint8Array; rcode: number | null; question: boolean; opt?: boolean }>([
    { why: "forwarded; the absent Worker makes it SERVFAIL", wire: a, rcode: Rcode.SERVFAIL, question: true, opt: true },
    { why: "QDCOUNT 2 without an OPT: FORMERR without a question", wire: withWord(withWord(a, 4, 2), 10, 0).subarray(0, a.length - 11), rcode: Rcode.FORMERR, question: false, opt: false },
    { why: "QDCOUNT 2 with an OPT: FORMERR with an OPT (RFC 6891 §7)", wire: withWord(new Uint8Array([...a.subarray(0, 12), ...question, ...question, ...opt]), 4, 2), rcode: Rcode.FORMERR, question: false, opt: true },
    { why: "QDCOUNT 0: FORMERR", wire: withWord(a, 4, 0).subarray(0, 12), rcode: Rcode.FORMERR, question: false },
    { why: "QDCOUNT 0 with an OPT: FORMERR with an OPT (RFC 6891 §7)", wire: withWord(new Uint8Array([...a.subarray(0, 12), ...opt]), 4, 0), rcode: Rcode.FORMERR, question: false, opt: true },
    { why: "an option header cut short: FORMERR with the question, no OPT", wire: badOptions([0, 10]), rcode: Rcode.FORMERR, question: true, opt: false },
    { why: "option data past the OPT: FORMERR with the question, no OPT", wire: badOptions([0, 10, 0, 8, 1, 2]), rcode: Rcode.FORMERR, question: true, opt: false },
    { why: "a question cut short: FORMERR, header only", wire: a.subarray(0, 20), rcode: Rcode.FORMERR, question: false },
    { why: "AXFR: REFUSED here", wire: queryWire("example.org.", "AXFR", { id: 5 }), rcode: Rcode.REFUSED, question: true },
    { why: "IXFR: REFUSED here", wire: queryWire("example.org.", "IXFR", { id: 5 }), rcode: Rcode.REFUSED, question: true },
    { why: "a response (QR=1): never answered", wire: withWord(a, 2, 0x8000), rcode: null, question: false },
  ])("$why", async ({ wire, rcode, question, opt }) => {
    const reply = await dispatcher().handler(wire, udp);
    if (rcode === null) return expect(reply).toBeNull();
    const m = decodeMessage(reply!);
    expect(m.id).toBe(5);
    expect(m.flags.qr).toBe(true);
    expect(m.rcode).toBe(rcode);
    expect(m.questions.length > 0).toBe(question);
    if (opt !== undefined) expect(m.edns !== undefined).toBe(opt);
  });

  it("a malformed option is FORMERR even when the cache holds the question's answer", async () => {
    const cache = new ResponseCache({ maxEntries: 10 });
    const answer = a.slice();
    answer[2]! |= 0x80;
    cache.put(cacheKey(a, readQueryShape(a), "udp")!, answer, { zones: ["example.org."], versions: [3], ageMs: 0 }, Date.now(), cache.ticket());
    const { handler } = dispatcher(0, { cache });
    expect(decodeMessage((await handler(a, udp))!).rcode).toBe(Rcode.NOERROR);
    expect(decodeMessage((await handler(badOptions([0, 10, 0, 8, 1, 2]), udp))!).rcode).toBe(Rcode.FORMERR);
  });

  it.each([Opcode.IQUERY, Opcode.STATUS, Opcode.UPDATE, 3])("opcode %i with RD and CD: NOTIMP with both clear, the OPT kept", async (opcode) => {
    const m = decodeMessage((await dispatcher().handler(withWord(a, 2, (opcode << 11) | 0x0110), udp))!);
    expect(m.rcode).toBe(Rcode.NOTIMP);
    expect(m.opcode).toBe(opcode);
    expect(m.flags).toMatchObject({ qr: true, rd: false, cd: false });
    expect(m.edns).toBeDefined();
  });

  it("QUERY keeps RD and CD in what the front answers itself", async () => {
    const m = decodeMessage((await dispatcher().handler(withWord(queryWire("example.org.", "AXFR", { id: 5 }), 2, 0x0110), udp))!);
    expect(m.flags).toMatchObject({ rd: true, cd: true });
  });
});

describe("NSID (RFC 5001) from BACKSTOP_NSID", () => {
  const nsidOption = { code: 3, data: new Uint8Array(0) };
  const asks = queryWire("www.example.org.", "A", { id: 9, edns: { options: [nsidOption] } });
  const nsidOf = (reply: Uint8Array | null): string | undefined => {
    const o = decodeMessage(reply!).edns?.options.find((x) => x.code === 3);
    return o && new TextDecoder().decode(o.data);
  };

  it("a cache hit, a forwarded answer and a local answer each carry this front's identity", async () => {
    const { handler } = dispatcher(0, { cache: warm(), nsid: "front-a" });
    const hit = handler(asks, udp);
    expect(hit).not.toBeInstanceOf(Promise);
    expect(nsidOf(hit as Uint8Array)).toBe("front-a");
    expect(nsidOf(await handler(queryWire("other.example.org.", "A", { edns: { options: [nsidOption] } }), tcp))).toBe("front-a");
    expect(nsidOf(await handler(queryWire("example.org.", "AXFR", { edns: { options: [nsidOption] } }), udp))).toBe("front-a");
  });

  it("the cache keeps no identity: a query without NSID gets none from the same entry", async () => {
    const cache = warm();
    const { handler } = dispatcher(0, { cache, nsid: "front-a" });
    expect(nsidOf(await handler(asks, udp))).toBe("front-a");
    expect(nsidOf(await handler(queryWire("www.example.org.", "A", { id: 10 }), udp))).toBeUndefined();
  });

  it("none without BACKSTOP_NSID, none in an RRL slip", async () => {
    expect(nsidOf(await dispatcher(0, { cache: warm() }).handler(asks, udp))).toBeUndefined();
    const { handler } = dispatcher(1, { cache: warm(), nsid: "front-a" });
    expect(nsidOf(await handler(asks, udp))).toBe("front-a");
    const slip = decodeMessage((await handler(asks, udp))!);
    expect(slip.flags.tc).toBe(true);
    expect(slip.edns?.options).toEqual([]);
  });
});

describe("QUERY with a front: NOTIFY and RRL", () => {
  const a = queryWire("www.example.org.", "A", { id: 5 });

  it("NOTIFY still goes to the NOTIFY receiver", async () => {
    const { handler, notified } = dispatcher();
    const notify = withWord(queryWire("example.org.", "SOA", { edns: false }), 2, Opcode.NOTIFY << 11);
    await handler(notify, udp);
    expect(notified).toEqual(["example.org."]);
  });

  it("rate limited over UDP: the slip is an empty TC=1 reply; TCP is never limited", async () => {
    const { handler } = dispatcher(1);
    expect(decodeMessage((await handler(a, udp))!).flags.tc).toBe(false);
    const slipped = decodeMessage((await handler(a, udp))!);
    expect(slipped.flags.tc).toBe(true);
    expect(slipped.rcode).toBe(Rcode.NOERROR);
    expect(slipped.answers).toHaveLength(0);
    expect(slipped.questions[0]!.name.toString()).toBe("www.example.org.");
    for (let i = 0; i < 5; i++) expect(decodeMessage((await handler(a, tcp))!).flags.tc).toBe(false);
  });
});

describe("answered at once (no promise) when no I/O is needed, and counted", () => {
  const a = queryWire("www.example.org.", "A", { id: 77 });
  /** The cache holds an answer to `a` (under another ID and spelling, as a first asker would have left it). */
  const warmCache = (): ResponseCache => {
    const cache = new ResponseCache({ maxEntries: 10 });
    const first = queryWire("WWW.example.ORG.", "A", { id: 1 });
    const answer = first.slice();
    answer[2]! |= 0x80; // QR
    cache.put(cacheKey(first, readQueryShape(first), "udp")!, answer, { zones: ["example.org."], versions: [3], ageMs: 0 }, Date.now(), cache.ticket());
    return cache;
  };
  const scrape = async (metrics: Metrics): Promise<string> => (await metrics.render()).body;

  it.each<{ why: string; wire: Uint8Array; rate?: number; slip?: number; cached?: boolean; sends: boolean; counted: RegExp[] }>([
    {
      why: "a cache hit: the cached answer with the asker's ID and spelling",
      wire: a,
      cached: true,
      sends: true,
      counted: [/backstop_front_queries_total\{result="hit"\} 2/, /backstop_dns_messages_total\{transport="udp",opcode="QUERY",rcode="NOERROR"\} 2/],
    },
    {
      why: "AXFR refused here",
      wire: queryWire("example.org.", "AXFR", { id: 77 }),
      sends: true,
      counted: [/backstop_front_queries_total\{result="local"\} 2/, /backstop_dns_messages_total\{transport="udp",opcode="QUERY",rcode="REFUSED"\} 2/],
    },
    {
      why: "a rate-limited answer dropped (slip 0), counted by its category (the cached answer is empty: NODATA)",
      wire: a,
      rate: 1,
      slip: 0,
      cached: true,
      sends: false,
      counted: [/backstop_rrl_responses_total\{action="drop",category="nodata"\} 1/, /backstop_rrl_responses_total\{action="allow",category="nodata"\} 1/],
    },
    {
      why: "a response (QR=1): nothing",
      wire: withWord(a, 2, 0x8000),
      sends: false,
      counted: [/backstop_dns_messages_total\{transport="udp",opcode="QUERY",rcode="none"\} 2/],
    },
  ])("$why", async ({ wire, rate, slip, cached, sends, counted }) => {
    const { handler, metrics } = dispatcher(rate ?? 0, { cache: cached ? warmCache() : undefined, slip: slip ?? 1 });
    // With rate 1 the first answer is allowed; the second is the one judged here.
    if (rate) await handler(wire, udp);
    const replies = [handler(wire, udp)];
    if (!rate) replies.push(handler(wire, udp));
    for (const reply of replies) {
      expect(reply).not.toBeInstanceOf(Promise);
      if (!sends) {
        expect(reply).toBeNull();
        continue;
      }
      const m = decodeMessage(reply as Uint8Array);
      expect(m.id).toBe(77);
      expect(m.flags.qr).toBe(true);
      if (cached) expect(m.questions[0]!.name.toString()).toBe("www.example.org.");
    }
    const text = await scrape(metrics);
    for (const line of counted) expect(text).toMatch(line);
    // A second scrape adds nothing that was already added.
    expect(await scrape(metrics)).toBe(text);
  });

  it("a forward and a NOTIFY are promises", async () => {
    const { handler } = dispatcher();
    const forwarded = handler(a, udp);
    expect(forwarded).toBeInstanceOf(Promise);
    expect(decodeMessage((await forwarded)!).rcode).toBe(Rcode.SERVFAIL);
    const notify = handler(withWord(queryWire("example.org.", "SOA", { edns: false }), 2, Opcode.NOTIFY << 11), udp);
    expect(notify).toBeInstanceOf(Promise);
    await notify;
  });
});

describe("DNS Cookies (RFC 7873, RFC 9018 server cookies)", () => {
  const SECRET = new Uint8Array(Buffer.from("e5e973e5a6b2a43f48e7dc849e37bfcf", "hex"));
  const CLIENT = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const cookies = () => new ServerCookies({ secret: SECRET });
  const withCookie = (data: Uint8Array, name = "www.example.org.", qtype = "A", id = 9) =>
    queryWire(name, qtype, { id, edns: { options: [{ code: EdnsOptionCode.COOKIE, data }] } });
  const cookieOf = (reply: Uint8Array | null): Uint8Array | undefined => decodeMessage(reply!).edns?.options.find((o) => o.code === EdnsOptionCode.COOKIE)?.data;
  /** The cookie option (CLIENT and a server cookie) this front issues to 192.0.2.1. */
  const issued = (): Uint8Array => {
    const q = withCookie(CLIENT);
    return cookies().option(q, q.length - 8, udp.remoteAddress, 0);
  };
  const count = async (m: Metrics, result: string): Promise<number> =>
    (await m.registry.getSingleMetric("backstop_cookies_total")!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  it("a cache hit, a forwarded answer and a local answer each carry the client cookie and a server cookie", async () => {
    const { handler, metrics } = dispatcher(0, { cache: warm(), cookies: cookies() });
    const hit = handler(withCookie(CLIENT), udp);
    expect(hit).not.toBeInstanceOf(Promise);
    const replies = [hit as Uint8Array, (await handler(withCookie(CLIENT, "other.example.org."), tcp))!, (await handler(withCookie(CLIENT, "example.org.", "AXFR"), udp))!];
    for (const reply of replies) {
      const cookie = cookieOf(reply)!;
      expect(cookie).toHaveLength(24);
      expect([...cookie.subarray(0, 8)]).toEqual([...CLIENT]);
      expect(cookie[8]).toBe(1);
      const back = withCookie(cookie);
      expect(cookies().check(back, back.length - 24, 24, udp.remoteAddress)).toBe(COOKIE_VALID);
    }
    expect(await count(metrics, "client_only")).toBe(3);
  });

  it("the cache keeps no cookie: the same entry answers a query without one with none", async () => {
    const cache = warm();
    const { handler } = dispatcher(0, { cache, cookies: cookies() });
    expect(cookieOf(await handler(withCookie(CLIENT), udp))).toHaveLength(24);
    expect(cookieOf(await handler(queryWire("www.example.org.", "A", { id: 10 }), udp))).toBeUndefined();
    const other = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]);
    expect([...cookieOf(await handler(withCookie(other), udp))!.subarray(0, 8)]).toEqual([...other]);
  });

  it("a valid server cookie is echoed; one from another address, or not ours, gets a fresh one and the answer", async () => {
    const { handler, metrics } = dispatcher(0, { cache: warm(), cookies: cookies() });
    const mine = issued();
    expect([...cookieOf(await handler(withCookie(mine), udp))!]).toEqual([...mine]);
    const elsewhere = decodeMessage((await handler(withCookie(mine), { ...udp, remoteAddress: "192.0.2.2" }))!);
    expect(elsewhere.rcode).toBe(Rcode.NOERROR);
    const fresh = elsewhere.edns!.options.find((o) => o.code === EdnsOptionCode.COOKIE)!.data;
    expect([...fresh]).not.toEqual([...mine]);
    expect(await count(metrics, "valid")).toBe(1);
    expect(await count(metrics, "invalid")).toBe(1);
  });

  it.each([0, 1, 7, 9, 15, 41])("a COOKIE option of %i octets is FORMERR with an OPT, not answered from the cache", async (length) => {
    const { handler } = dispatcher(0, { cache: warm(), cookies: cookies() });
    const reply = decodeMessage((await handler(withCookie(new Uint8Array(length)), udp))!);
    expect(reply.rcode).toBe(Rcode.FORMERR);
    expect(reply.answers).toHaveLength(0);
    expect(reply.edns?.options).toEqual([]);
  });

  it("lengths 8 and 16..40 are not FORMERR; without cookies configured no length is", async () => {
    const { handler } = dispatcher(0, { cache: warm(), cookies: cookies() });
    for (const length of [8, 16, 24, 40]) expect(decodeMessage((await handler(withCookie(new Uint8Array(length)), udp))!).rcode).toBe(Rcode.NOERROR);
    expect(decodeMessage((await dispatcher(0, { cache: warm() }).handler(withCookie(new Uint8Array(9)), udp))!).rcode).toBe(Rcode.NOERROR);
  });

  it("under RRL, a client with a valid server cookie is never limited", async () => {
    const { handler } = dispatcher(1, { cache: warm(), cookies: cookies() });
    const mine = withCookie(issued());
    for (let i = 0; i < 20; i++) {
      const reply = decodeMessage((await handler(mine, udp))!);
      expect(reply.flags.tc).toBe(false);
      expect(reply.rcode).toBe(Rcode.NOERROR);
    }
    // The same prefix without a cookie is limited at once: the second answer is a slip.
    const plain = queryWire("www.example.org.", "A", { id: 11 });
    expect(decodeMessage((await handler(plain, udp))!).flags.tc).toBe(false);
    expect(decodeMessage((await handler(plain, udp))!).flags.tc).toBe(true);
  });

  it("under RRL, a client that sent only a client cookie (or a bad server cookie) is slipped BADCOOKIE with a fresh server cookie, not TC", async () => {
    const { handler, metrics } = dispatcher(1, { cache: warm(), cookies: cookies() });
    expect(decodeMessage((await handler(withCookie(CLIENT), udp))!).rcode).toBe(Rcode.NOERROR);
    for (const sent of [CLIENT, new Uint8Array([...CLIENT, ...new Uint8Array(16)])]) {
      const wire = (await handler(withCookie(sent), udp))!;
      const slip = decodeMessage(wire);
      expect(slip.rcode).toBe(Rcode.BADCOOKIE);
      expect(wire[3]! & 0xf).toBe(Rcode.BADCOOKIE & 0xf);
      expect(slip.flags.tc).toBe(false);
      expect(slip.flags.aa).toBe(false);
      expect(slip.answers).toHaveLength(0);
      expect(slip.questions[0]!.name.toString()).toBe("www.example.org.");
      const cookie = slip.edns!.options.find((o) => o.code === EdnsOptionCode.COOKIE)!.data;
      const back = withCookie(cookie);
      expect(cookies().check(back, back.length - 24, 24, udp.remoteAddress)).toBe(COOKIE_VALID);
      // …and with that cookie the client is answered at once, though its account is still over the rate.
      expect(decodeMessage((await handler(back, udp))!).rcode).toBe(Rcode.NOERROR);
    }
    expect(await count(metrics, "badcookie_sent")).toBe(2);
  });
});

describe("a query process of a multi-process front (`owner`)", () => {
  /** A dispatcher whose owner records what it is handed and answers each with a marker reply. */
  function withOwner() {
    const handed: Array<{ opcode: number; transport: string }> = [];
    const metrics = new Metrics({ defaultMetrics: false });
    const handler = createDispatcher({
      notify: () => Promise.reject(new Error("NOTIFY must go to the owner")),
      front: { forward: createQueryForwarder({ upstream, internalToken: "a-token-of-sixteen+", timeoutMs: 500, maxInFlight: 8, cache: warm(), metrics, log }) },
      owner: async (wire, ctx) => {
        handed.push({ opcode: (wire[2]! >> 3) & 0xf, transport: ctx.transport });
        const reply = wire.slice(0, 12);
        reply[2]! |= 0x80;
        reply[3] = Rcode.NOTAUTH;
        return reply;
      },
      metrics,
    });
    return { handler, handed };
  }
  const withOpcode = (wire: Uint8Array, opcode: number): Uint8Array => {
    const out = wire.slice();
    out[2] = (out[2]! & 0x87) | (opcode << 3);
    return out;
  };

  it.each([
    { what: "NOTIFY", opcode: Opcode.NOTIFY, qtype: "SOA", ctx: udp },
    { what: "UPDATE (any opcode but QUERY)", opcode: Opcode.UPDATE, qtype: "SOA", ctx: udp },
    { what: "a STATUS", opcode: 2, qtype: "A", ctx: udp },
    { what: "AXFR over TCP", opcode: Opcode.QUERY, qtype: "AXFR", ctx: tcp },
    { what: "IXFR over UDP", opcode: Opcode.QUERY, qtype: "IXFR", ctx: udp },
  ])("$what goes to the owner, whose reply comes back", async ({ opcode, qtype, ctx }) => {
    const { handler, handed } = withOwner();
    const reply = (await handler(withOpcode(queryWire("example.org.", qtype, { id: 9 }), opcode), ctx)) as Uint8Array;
    expect(handed).toEqual([{ opcode, transport: ctx.transport }]);
    expect(reply[3]! & 0xf).toBe(Rcode.NOTAUTH);
  });

  it("a plain QUERY is answered here (a cache hit at once), never handed over", () => {
    const { handler, handed } = withOwner();
    const reply = handler(queryWire("www.example.org.", "A", { id: 2 }), udp);
    expect(reply).toBeInstanceOf(Uint8Array);
    expect(handed).toEqual([]);
  });
});
