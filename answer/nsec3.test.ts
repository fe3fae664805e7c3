/**
 * NSEC3 denial (RFC 5155 §7.2) in a zone carrying two chains, as during a parameter change: every proof must
 * use the chain NSEC3PARAM names, stepping over the other chain's nodes in the store's shared NSEC3 tree, and
 * each record must really match or cover the hash it is there for. The hash itself is checked against BIND's
 * `nsec3hash` in test/answer/nsec3-hash.test.ts.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../dns/constants.ts";
import { decodeMessage } from "../dns/message.ts";
import { Name } from "../dns/name.ts";
import { fromBase32Hex } from "../dns/rdata/base32hex.ts";
import { answerQuery } from "./engine.ts";
import { MemoryZoneStore, type OwnedRecord } from "./store/memory-zone-store.ts";
import { hashedOwner, nsec3Digest, type Nsec3Params } from "./nsec3-hash.ts";
import { ownerBefore } from "./nsec3.ts";
import { queryWire } from "./testing/table.ts";

const APEX = Name.parse("ex.");
const NAMES = ["ex.", "a.ex.", "b.ex.", "c.ex.", "d.ex.", "e.ex.", "f.ex."].map((n) => Name.parse(n));
const CHAIN_A: Nsec3Params = { algorithm: 1, flags: 0, iterations: 1, salt: Uint8Array.of(0xaa) };
const CHAIN_B: Nsec3Params = { algorithm: 1, flags: 0, iterations: 2, salt: Uint8Array.of(0xbb) };

function paramsBytes(p: Nsec3Params): number[] {
  return [p.algorithm, p.flags, p.iterations >> 8, p.iterations & 0xff, p.salt.length, ...p.salt];
}

/** The NSEC3 records of one chain over NAMES (empty type bitmaps: only the chain matters here). */
async function chain(p: Nsec3Params): Promise<OwnedRecord[]> {
  const hashes = await Promise.all(NAMES.map((n) => nsec3Digest(n, p)));
  const sorted = hashes.map((h) => h).sort((x, y) => compare(x, y));
  return Promise.all(
    sorted.map(async (h, i) => {
      const next = sorted[(i + 1) % sorted.length]!;
      const name = NAMES[hashes.indexOf(h)]!;
      return {
        name: await hashedOwner(name, APEX, p),
        type: RRType.NSEC3,
        class: RRClass.IN,
        ttl: 300,
        rdata: Uint8Array.from([...paramsBytes(p), next.length, ...next]),
      };
    }),
  );
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

async function twoChainStore(): Promise<MemoryZoneStore> {
  const soa = Uint8Array.from([2, 110, 115, 0, 2, 104, 109, 0, 0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 14, 16, 0, 0, 14, 16, 0, 0, 1, 44]);
  const records: OwnedRecord[] = [
    { name: APEX, type: RRType.SOA, class: RRClass.IN, ttl: 3600, rdata: soa },
    { name: APEX, type: RRType.NSEC3PARAM, class: RRClass.IN, ttl: 0, rdata: Uint8Array.from(paramsBytes(CHAIN_A)) },
    ...NAMES.slice(1).map((name) => ({ name, type: RRType.A, class: RRClass.IN, ttl: 3600, rdata: Uint8Array.of(192, 0, 2, 1) })),
    ...(await chain(CHAIN_A)),
    ...(await chain(CHAIN_B)),
  ];
  return new MemoryZoneStore([{ info: { id: 1, name: APEX, model: "secondary", version: 1, expiresAt: null, answerAllow: [] }, records }]);
}

/** Owner hash, next hash and salt of an NSEC3 record. */
function parse(owner: Name, rdata: Uint8Array) {
  const saltLength = rdata[4]!;
  const hashLength = rdata[5 + saltLength]!;
  return {
    owner: fromBase32Hex(new TextDecoder().decode(owner.labels[0]))!,
    next: rdata.slice(6 + saltLength, 6 + saltLength + hashLength),
    salt: rdata.slice(5, 5 + saltLength),
  };
}

/** RFC 5155 §1.3: an NSEC3 covers a hash strictly between its owner and next (the last one wraps). */
function covers(n: { owner: Uint8Array; next: Uint8Array }, h: Uint8Array): boolean {
  return compare(n.owner, n.next) < 0 ? compare(n.owner, h) < 0 && compare(h, n.next) < 0 : compare(n.owner, h) < 0 || compare(h, n.next) < 0;
}

describe("NSEC3 with two chains", () => {
  it.each(Array.from({ length: 24 }, (_, i) => `x${i}.ex.`))("NXDOMAIN for %s uses the NSEC3PARAM chain, matching and covering", async (qname) => {
    const store = await twoChainStore();
    const out = await answerQuery(store, queryWire(qname, "A", { dnssecOk: true }), { transport: "tcp", client: { admin: false }, now: 0 });
    const m = decodeMessage(out.wire);
    expect(m.rcode).toBe(3);
    const nsec3 = m.authorities.filter((r) => r.type === RRType.NSEC3).map((r) => parse(r.name, r.rdata));
    for (const n of nsec3) expect([...n.salt]).toEqual([...CHAIN_A.salt]);
    const ce = await nsec3Digest(APEX, CHAIN_A);
    const nextCloser = await nsec3Digest(Name.parse(qname), CHAIN_A);
    const wildcard = await nsec3Digest(Name.parse("*.ex."), CHAIN_A);
    expect(nsec3.some((n) => compare(n.owner, ce) === 0), "closest encloser matched").toBe(true);
    expect(nsec3.some((n) => covers(n, nextCloser)), "next closer covered").toBe(true);
    expect(nsec3.some((n) => covers(n, wildcard)), "wildcard covered").toBe(true);
  });

  it.each([
    ["00000000000000000000000000000001", "00000000000000000000000000000000"],
    ["00000000000000000000000000000010", "0000000000000000000000000000000v"],
    ["00000000000000000000000000000000", "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"],
  ])("the owner before %s is %s", (label, before) => {
    expect(ownerBefore(APEX.child(label), APEX)?.toString()).toBe(`${before}.ex.`);
  });
});
