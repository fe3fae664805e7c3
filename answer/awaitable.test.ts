/**
 * One engine, two ways of running (`awaitable.ts`, issue 27 session 9): over a store that never waits (the
 * memory store; the front's compact replica) `respond` gives the response itself, no promise; over a store
 * that waits on every lookup (as D1 does) it gives a promise of the same octets; and a store that fails, by
 * throwing or by rejecting, is SERVFAIL at the same point either way. The queries: every owner of a few zones
 * (unsigned with CNAME/DNAME chains, wildcards, cuts and glue; NSEC-signed with a child zone for DS; NSEC3),
 * below and beside it, for several types, with and without DO, over TCP and over 512-octet UDP.
 */
import { describe, expect, it } from "vitest";
import { Rcode, RRType } from "../dns/constants.ts";
import { decodeMessage } from "../dns/message.ts";
import { nodeSha1 } from "../dns/sha1.node.ts";
import { allOf, andThen, isPromise } from "./awaitable.ts";
import { answerQuery, type EngineResponse, type QueryContext, respond } from "./engine.ts";
import { storeOf } from "./testing/load-zone.ts";
import { queryWire } from "./testing/table.ts";
import { NSEC_EX_ZONE } from "./testing/nsec-zone.ts";
import { countingStore, failingStore, StoreFault, waitingStore } from "./testing/waiting-store.ts";


const ZONES = [
  {
    apex: "example.org.",
    text: `
$ORIGIN example.org.
$TTL 3600
@         SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@         NS  ns1
@         NS  ns2.example.net.
@         MX  10 mail
ns1       A    192.0.2.1
ns1       AAAA 2001:db8::1
mail      A    192.0.2.25
www       A    192.0.2.80
www       AAAA 2001:db8::80
alias     CNAME www
alias2    CNAME alias
outside   CNAME www.example.com.
loop1     CNAME loop2
loop2     CNAME loop1
_sip._tcp SRV 0 5 5060 sip
sip       A    192.0.2.50
a.b.c     TXT  "deep"
*         TXT  "wild"
*.w       A    192.0.2.99
*.cw      CNAME www
tocut     CNAME host.sub
sub       NS   ns.sub
sub       NS   ns.example.net.
ns.sub    A    192.0.2.53
dn        DNAME example.net.
dn2       DNAME in
x.in      A    192.0.2.7
big       TXT  "${"x".repeat(200)}"
big       TXT  "${"y".repeat(200)}"
big       TXT  "${"z".repeat(200)}"
`,
  },
  { apex: "ex.", text: NSEC_EX_ZONE },
  {
    // A child zone of a hosted one: DS at its apex is the parent's (zone-select.ts).
    apex: "sec.ex.",
    text: `
$ORIGIN sec.ex.
@       SOA   ns.ex. hostmaster.ex. 1 7200 3600 1209600 300
@       NS    ns.ex.
www     A     192.0.2.8
`,
  },
  {
    apex: "n3.test.",
    text: `
$ORIGIN n3.test.
$TTL 3600
@       SOA   ns hostmaster 1 7200 3600 1209600 300
@       NS    ns
@       NSEC3PARAM 1 0 1 aa
ns      A     192.0.2.1
www     A     192.0.2.2
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 1 aa 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG
2vptu5timamqttgl4luu9kg21e0aor3s NSEC3 1 0 1 aa 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NS SOA RRSIG NSEC3PARAM
`,
  },
];

const store = storeOf(...ZONES);

interface Query {
  why: string;
  wire: Uint8Array;
  ctx: QueryContext;
  /** Whether an engine step may wait whatever the store: an NSEC3 proof's hash with Web Crypto's digest (async). */
  mayHash: boolean;
}

/** Every owner of the zones, a name below it and one beside it, for several types, DO on and off, TCP and UDP. */
function queries(): Query[] {
  const names = new Set<string>();
  for (const zone of ZONES) {
    for (const line of zone.text.split("\n")) {
      const owner = /^(\S+)\s/.exec(line)?.[1];
      if (owner === undefined || owner.startsWith("$")) continue;
      const name = owner === "@" ? zone.apex : `${owner.replace(/^\*/, "star")}.${zone.apex}`;
      names.add(name);
      names.add(`below.${name}`);
      names.add(`${name.split(".")[0]}x.${zone.apex}`);
    }
  }
  names.add("www.example.net.");
  names.add("x.dn.example.org.");
  names.add("x.dn2.example.org.");
  const out: Query[] = [];
  let id = 0;
  for (const name of names) {
    for (const type of ["A", "TXT", "MX", "NS", "DS", "CNAME", "ANY", "SOA"]) {
      for (const dnssecOk of [false, true]) {
        for (const transport of ["tcp", "udp"] as const) {
          out.push({
            why: `${name} ${type}${dnssecOk ? " DO" : ""} ${transport}`,
            wire: queryWire(name, type, { id: id++ & 0xffff, dnssecOk, edns: transport === "udp" ? { udpPayloadSize: 512 } : undefined }),
            ctx: { transport, udpLimit: transport === "udp" ? 512 : undefined, client: { admin: false }, now: 0 },
            mayHash: dnssecOk && name.endsWith("n3.test."),
          });
        }
      }
    }
  }
  return out;
}

const QUERIES = queries();

describe("awaitable.ts", () => {
  it("andThen continues at once on a value, after the promise otherwise; allOf gives an array at once when it can", async () => {
    const seen: string[] = [];
    expect(andThen(2, (v) => v * 3)).toBe(6);
    const later = andThen(Promise.resolve(2), (v) => {
      seen.push("then");
      return v * 3;
    });
    seen.push("after the call");
    expect(isPromise(later)).toBe(true);
    expect(await later).toBe(6);
    expect(seen).toEqual(["after the call", "then"]);
    expect(allOf([1, 2])).toEqual([1, 2]);
    const mixed = allOf([1, Promise.resolve(2)]);
    expect(isPromise(mixed)).toBe(true);
    expect(await mixed).toEqual([1, 2]);
    expect(() => andThen(1, () => {
      throw new Error("at once");
    })).toThrow("at once");
    await expect(andThen(Promise.resolve(1), () => {
      throw new Error("later");
    })).rejects.toThrow("later");
  });
});

describe("one engine over a store that never waits and over one that does", () => {
  it(`answers each of ${QUERIES.length} queries in the same call from a store that never waits (an NSEC3 hash with Web Crypto aside)`, () => {
    let values = 0;
    for (const q of QUERIES) {
      const out = respond(store, q.wire, q.ctx);
      if (!q.mayHash) expect(isPromise(out), q.why).toBe(false);
      if (!isPromise(out)) values++;
    }
    expect(values).toBeGreaterThan(QUERIES.length * 0.9);
  });

  it("with Node's synchronous SHA-1 answers every query in the same call, NSEC3 proofs included, in the octets Web Crypto's gives", async () => {
    let hashed = 0;
    for (const q of QUERIES) {
      const out = respond(store, q.wire, { ...q.ctx, sha1: nodeSha1 });
      expect(isPromise(out), q.why).toBe(false);
      const web = await respond(store, q.wire, q.ctx);
      expect(Buffer.from((out as EngineResponse).wire).toString("hex"), q.why).toBe(Buffer.from(web.wire).toString("hex"));
      if (q.mayHash && decodeMessage(web.wire).authorities.some((r) => r.type === RRType.NSEC3)) hashed++;
    }
    // The NSEC3 zone's denials (NXDOMAIN, NODATA, wildcard, DS) were among them.
    expect(hashed).toBeGreaterThan(20);
  });

  it("gives the same octets, query for query, when every lookup waits, and through answerQuery's promise", async () => {
    const waiting = waitingStore(store);
    for (const q of QUERIES) {
      const now = await respond(store, q.wire, q.ctx);
      const before = waiting.calls;
      const later = respond(waiting, q.wire, q.ctx);
      if (waiting.calls > before) expect(isPromise(later), q.why).toBe(true);
      expect(Buffer.from((await later).wire).toString("hex"), q.why).toBe(Buffer.from(now.wire).toString("hex"));
      expect(Buffer.from((await answerQuery(store, q.wire, q.ctx)).wire).equals(now.wire), q.why).toBe(true);
    }
  });

  it("a lookup that throws is SERVFAIL exactly where the same lookup rejecting is, at every lookup of every query", async () => {
    let failures = 0;
    for (const q of QUERIES.filter((_, i) => i % 3 === 0)) {
      const counting = countingStore(store);
      await respond(counting, q.wire, q.ctx);
      for (let at = 0; at < counting.calls; at++) {
        const throwing = failingStore(store, at, "throw");
        const rejecting = failingStore(store, at, "reject");
        let thrown: EngineResponse;
        try {
          thrown = await respond(throwing, q.wire, q.ctx);
        } catch (err) {
          throw new Error(`${q.why}: a throw at lookup ${at} escaped the engine`, { cause: err });
        }
        const rejected = await respond(rejecting, q.wire, q.ctx);
        const why = `${q.why}, ${throwing.failed} failing at lookup ${at}`;
        expect(thrown.error, why).toBeInstanceOf(StoreFault);
        expect(rejected.error, why).toBeInstanceOf(StoreFault);
        expect(decodeMessage(thrown.wire).rcode, why).toBe(Rcode.SERVFAIL);
        expect(Buffer.from(thrown.wire).equals(rejected.wire), why).toBe(true);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(QUERIES.length);
  });
});
