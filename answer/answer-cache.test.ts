/**
 * The answer cache (`answer-cache.ts`): a hit is the engine's own answer octet for octet once the ID and the
 * question's spelling are the asker's (a property over the differential suite's zones and a small NSEC
 * zone, queries in random case, random IDs, every EDNS and transport shape), and the rows where a stored
 * answer must not be served: a new version, expiry, a restricted zone, a zone added under a REFUSED name
 * or above a child apex's DS.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rcode } from "../dns/constants.ts";
import { Name } from "../dns/name.ts";
import { expireFromAnswer, expireRequest } from "../dns/edns-expire.ts";
import { decodeMessage } from "../dns/message.ts";
import { CHILD_APEX, CHILD_ZONE, PARENT_APEX, PARENT_ZONE } from "../test/answer/zones.ts";
import { AnswerCache, answerKey } from "./answer-cache.ts";
import { answerQuery, NotDnsMessage, type QueryContext } from "./engine.ts";
import { storeOf, type TestZone } from "./testing/load-zone.ts";
import { queryWire } from "./testing/table.ts";
import type { ZoneStore } from "./zone-store.ts";

const sig = (covered: string, labels: number) => `RRSIG ${covered} 13 ${labels} 3600 20300101000000 20200101000000 1 Nsec.Test. c2ln`;

/** Mixed-case owners and an NSEC chain, so DO=1 denials carry owners the speller lowercases. */
const NSEC_ZONE = `
$ORIGIN Nsec.Test.
$TTL 3600
@        SOA   ns hostmaster 1 7200 3600 1209600 300
@        ${sig("SOA", 2)}
@        NS    ns
@  300   NSEC  Host.nsec.test. NS SOA RRSIG NSEC
@  300   ${sig("NSEC", 2)}
Host     A     192.0.2.10
Host     ${sig("A", 3)}
Host 300 NSEC  ns.nsec.test. A RRSIG NSEC
Host 300 ${sig("NSEC", 3)}
ns       A     192.0.2.1
ns 300   NSEC  Nsec.Test. A NSEC
`;

const ZONES: TestZone[] = [
  { apex: PARENT_APEX, text: PARENT_ZONE },
  { apex: CHILD_APEX, text: CHILD_ZONE },
  { apex: "nsec.test.", text: NSEC_ZONE },
];

const NAMES = [
  "diff.test.", "www.diff.test.", "mixed.case.diff.test.", "alias2.diff.test.", "chain1.diff.test.", "outside.diff.test.",
  "dangling.diff.test.", "loop1.diff.test.", "nope.diff.test.", "host.w.diff.test.", "x.cw.diff.test.", "b.c.diff.test.",
  "deeper.a.b.c.diff.test.", "host.sub.diff.test.", "ns.sub.diff.test.", "kid.diff.test.", "www.kid.diff.test.",
  "out.diff.test.", "x.out.diff.test.", "a.dn.diff.test.", "x.dn2.diff.test.", "dn.diff.test.", "_sip._tcp.diff.test.",
  "big.diff.test.", "esc\\.aped.diff.test.", "sp\\032ace.diff.test.", "anything.diff.test.",
  "nsec.test.", "host.nsec.test.", "gone.nsec.test.", "zz.nsec.test.", "www.example.com.", "com.",
];
const TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "DS", "ANY", "CNAME", "SRV", "NSEC", "TYPE65280", "HINFO"];

/** `name` with the letters whose bit is set in `mask` (cycling) in upper case; escapes keep their digits. */
function withCase(name: string, mask: number): string {
  let bit = 0;
  return name.replace(/[a-z]/g, (c) => ((mask >> (bit++ % 30)) & 1 ? c.toUpperCase() : c));
}

/** The shapes a query arrives in: with or without OPT, DO, a small payload, over DoH or forwarded UDP. */
const SHAPES: Array<{ why: string; edns?: false | { udpPayloadSize: number }; dnssecOk?: boolean; ctx: Omit<QueryContext, "now" | "client"> }> = [
  { why: "no OPT, DoH", edns: false, ctx: { transport: "tcp" } },
  { why: "OPT, DoH", ctx: { transport: "tcp" } },
  { why: "OPT with DO, DoH", dnssecOk: true, ctx: { transport: "tcp" } },
  { why: "no OPT, UDP", edns: false, ctx: { transport: "udp" } },
  { why: "OPT 1232 with DO, UDP limited to 700", dnssecOk: true, ctx: { transport: "udp", udpLimit: 700 } },
  { why: "OPT 512, UDP", edns: { udpPayloadSize: 512 }, ctx: { transport: "udp", udpLimit: 1232 } },
];

const NOW = Date.UTC(2026, 0, 1);
const wireOf = (name: string, type: string, shape: (typeof SHAPES)[number], id: number) =>
  queryWire(name, type, { id, edns: shape.edns, dnssecOk: shape.dnssecOk });

describe("a hit is the engine's answer, octet for octet", () => {
  const store = storeOf(...ZONES);
  it("for every name, type, shape, spelling and ID", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...NAMES),
        fc.constantFrom(...TYPES),
        fc.constantFrom(...SHAPES),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        async (name, type, shape, firstCase, secondCase, firstId, secondId) => {
          const cache = new AnswerCache(() => undefined);
          const ctx: QueryContext = { ...shape.ctx, client: { admin: false }, now: NOW };
          const first = await cache.answer(store, wireOf(withCase(name, firstCase), type, shape, firstId), ctx);
          const asked = wireOf(withCase(name, secondCase), type, shape, secondId);
          const second = await cache.answer(store, asked, ctx);
          const fresh = await answerQuery(store, asked, ctx);
          expect(second.wire).toEqual(fresh.wire);
          // Every zone here is unrestricted and servable: what the engine answered without error is stored.
          const stored = fresh.error === undefined && [Rcode.NOERROR, Rcode.NXDOMAIN].includes(fresh.message.rcode as 0) && fresh.wire.length < 0x4000;
          expect(first.hit).toBe(false);
          expect(second.hit).toBe(stored);
        },
      ),
      { numRuns: 400, seed: 20261126 },
    );
  });

  it("the key folds the question's case only", () => {
    const ctx = { transport: "tcp" as const };
    const key = (name: string, options: Parameters<typeof queryWire>[2] = {}) => answerKey(queryWire(name, "A", options), ctx)?.key;
    expect(key("WWW.Diff.Test.", { id: 1 })).toBe(key("www.diff.test.", { id: 2 }));
    expect(key("www.diff.test.", { dnssecOk: true })).not.toBe(key("www.diff.test."));
    expect(key("www.diff.test.", { edns: false })).not.toBe(key("www.diff.test."));
    expect(answerKey(queryWire("www.diff.test.", "A"), { transport: "udp", udpLimit: 512 })?.key).not.toBe(key("www.diff.test."));
  });
});

describe("a stored answer is not served when it could be wrong", () => {
  const name = (text: string) => Name.parse(text);
  const ask = (cache: AnswerCache<undefined>, store: ZoneStore, qname: string, qtype: string, ctx: Partial<QueryContext> = {}) =>
    cache.answer(store, queryWire(qname, qtype, { id: 7 }), { transport: "tcp", client: { admin: false }, now: NOW, ...ctx });
  const A = "www IN A 192.0.2.80";
  const zoneText = (apex: string, extra: string) => `$ORIGIN ${apex}\n@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ IN NS ns\nns IN A 192.0.2.1\n${extra}\n`;

  it("a new version of the zone (the pointer moved)", async () => {
    const cache = new AnswerCache(() => undefined);
    const v1 = storeOf({ apex: "v.test.", text: zoneText("v.test.", A), version: 1 });
    const v2 = storeOf({ apex: "v.test.", text: zoneText("v.test.", "www IN A 192.0.2.99"), version: 2 });
    await ask(cache, v1, "www.v.test.", "A");
    expect((await ask(cache, v1, "www.v.test.", "A")).hit).toBe(true);
    const after = await ask(cache, v2, "www.v.test.", "A");
    expect(after.hit).toBe(false);
    expect(after.wire).toEqual((await answerQuery(v2, queryWire("www.v.test.", "A", { id: 7 }), { transport: "tcp", client: { admin: false }, now: NOW })).wire);
  });

  it("an expired zone is never served from the cache, on any hit", async () => {
    const cache = new AnswerCache(() => undefined);
    const store = storeOf({ apex: "x.test.", text: zoneText("x.test.", A), expiresAt: NOW + 1000 });
    await ask(cache, store, "www.x.test.", "A");
    expect((await ask(cache, store, "www.x.test.", "A", { now: NOW + 1000 })).hit).toBe(true);
    const expired = await ask(cache, store, "www.x.test.", "A", { now: NOW + 1001 });
    expect(expired.hit).toBe(false);
    expect(expired.engine?.message.rcode).toBe(Rcode.SERVFAIL);
  });

  it("an answer with the EDNS EXPIRE option is never stored: its seconds count down (RFC 7314, issue 21)", async () => {
    const cache = new AnswerCache(() => undefined);
    const store = storeOf({ apex: "e.test.", text: zoneText("e.test.", A), expiresAt: NOW + 100_000 });
    const asking = queryWire("e.test.", "SOA", { edns: { options: [expireRequest()] } });
    const ctx = (now: number): QueryContext => ({ transport: "tcp", client: { admin: false }, now });
    const first = await cache.answer(store, asking, ctx(NOW));
    const later = await cache.answer(store, asking, ctx(NOW + 10_000));
    expect(later.hit).toBe(false);
    expect(expireFromAnswer(decodeMessage(first.wire).edns)).toBe(100);
    expect(expireFromAnswer(decodeMessage(later.wire).edns)).toBe(90);
    // The same SOA query without the option is stored as before.
    await cache.answer(store, queryWire("e.test.", "SOA"), ctx(NOW));
    expect((await cache.answer(store, queryWire("e.test.", "SOA"), ctx(NOW))).hit).toBe(true);
  });

  it("a restricted zone's answers are never stored, for any client or the admin", async () => {
    const cache = new AnswerCache(() => undefined);
    const store = storeOf({ apex: "h.test.", text: zoneText("h.test.", A), answerAllow: ["198.51.100.0/24"] });
    const inside = { client: { address: "198.51.100.7", admin: false } };
    const outside = { client: { address: "192.0.2.7", admin: false } };
    const admin = { client: { address: "192.0.2.7", admin: true } };
    for (const [ctx, rcode] of [[inside, Rcode.NOERROR], [admin, Rcode.NOERROR], [outside, Rcode.REFUSED], [inside, Rcode.NOERROR], [outside, Rcode.REFUSED]] as const) {
      const out = await ask(cache, store, "www.h.test.", "A", ctx);
      expect(out.hit).toBe(false);
      expect(out.engine?.message.rcode).toBe(rcode);
    }
  });

  it("a zone that gains an answerAllow list at the same version stops being served from the cache", async () => {
    const cache = new AnswerCache(() => undefined);
    const store = storeOf({ apex: "g.test.", text: zoneText("g.test.", A) });
    await ask(cache, store, "www.g.test.", "A");
    const zone = (await store.findZone(name("g.test.")))!;
    (zone as { answerAllow: readonly string[] }).answerAllow = ["198.51.100.0/24"];
    const out = await ask(cache, store, "www.g.test.", "A", { client: { address: "192.0.2.7", admin: false } });
    expect(out.hit).toBe(false);
    expect(out.engine?.message.rcode).toBe(Rcode.REFUSED);
  });

  it("a REFUSED name answers once a zone above it is added", async () => {
    const cache = new AnswerCache(() => undefined);
    const before = storeOf({ apex: "other.test.", text: zoneText("other.test.", A) });
    const after = storeOf({ apex: "other.test.", text: zoneText("other.test.", A) }, { apex: "new.test.", text: zoneText("new.test.", A), id: 2 });
    expect((await ask(cache, before, "www.new.test.", "A")).engine?.message.rcode).toBe(Rcode.REFUSED);
    expect((await ask(cache, before, "www.new.test.", "A")).hit).toBe(false); // REFUSED is never stored
    const out = await ask(cache, after, "www.new.test.", "A");
    expect(out.hit).toBe(false);
    expect(out.engine?.message.rcode).toBe(Rcode.NOERROR);
  });

  it("a flood of names under no zone evicts no hot answer (issue 19: REFUSED is not stored)", async () => {
    // A cache with room for a few dozen answers: a flood that were stored would evict the hot one at once.
    const cache = new AnswerCache(() => undefined, { maxBytes: 16 * 1024 });
    const store = storeOf({ apex: "hot.test.", text: zoneText("hot.test.", A) });
    expect((await ask(cache, store, "www.hot.test.", "A")).hit).toBe(false);
    expect((await ask(cache, store, "www.hot.test.", "A")).hit).toBe(true);
    for (let i = 0; i < 2000; i++) {
      const out = await ask(cache, store, `q${i}.flood${i}.example.`, "A");
      expect(out.engine?.message.rcode).toBe(Rcode.REFUSED);
    }
    expect((await ask(cache, store, "www.hot.test.", "A")).hit).toBe(true);
  });

  it("DS at a child apex moves to the parent once the parent is hosted", async () => {
    const cache = new AnswerCache(() => undefined);
    const childOnly = storeOf({ apex: CHILD_APEX, text: CHILD_ZONE, id: 2 });
    const both = storeOf({ apex: PARENT_APEX, text: PARENT_ZONE, id: 1 }, { apex: CHILD_APEX, text: CHILD_ZONE, id: 2 });
    const nodata = await ask(cache, childOnly, CHILD_APEX, "DS");
    expect(nodata.engine?.message.answers).toEqual([]);
    const out = await ask(cache, both, CHILD_APEX, "DS");
    expect(out.hit).toBe(false);
    expect(out.engine?.message.answers.length).toBe(1);
  });

  it("what is not a DNS message is still the engine's error", async () => {
    const cache = new AnswerCache(() => undefined);
    await expect(cache.answer(storeOf(...ZONES), new Uint8Array(5), { transport: "tcp", client: { admin: false }, now: NOW })).rejects.toBeInstanceOf(NotDnsMessage);
  });
});
