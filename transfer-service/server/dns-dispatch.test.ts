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
import { createWorkerUpstream } from "./query/worker-upstream.ts";

const log = createLogger({ level: "silent" });
// Port 9 (discard) has no listener on loopback: every forward fails at once.
const upstream = createWorkerUpstream({ workerUrl: "http://127.0.0.1:9", timeoutMs: 500 });
afterAll(() => upstream.close());

function dispatcher(rate = 0, { cache, slip = 1, nsid }: { cache?: ResponseCache; slip?: number; nsid?: string } = {}) {
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
  const warm = (): ResponseCache => {
    const cache = new ResponseCache({ maxEntries: 10 });
    const first = queryWire("www.example.org.", "A", { id: 1 });
    const answer = first.slice();
    answer[2]! |= 0x80;
    cache.put(cacheKey(first, readQueryShape(first), "udp")!, answer, { zones: ["example.org."], versions: [3], ageMs: 0 }, Date.now(), cache.ticket());
    return cache;
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
