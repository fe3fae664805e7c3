/**
 * @module The front's response cache with an injected clock: what goes into the key and what does not, the
 * ID and the asker's spelling rewritten on a hit, expiry counted from the Worker's pointer read (never more
 * than a second), versions (a fresher read of a zone retires its older entries), commits by this instance
 * (the zone and its ancestors, and answers in flight from before the commit), and the size bound.
 */
import { describe, expect, it, vi } from "vitest";
import { decodeMessage } from "../../../dns/message.ts";
import { Name } from "../../../dns/name.ts";
import { queryWire } from "../../../dns/testing/query-wire.ts";
import type { Transport } from "../request-context.ts";
import { readQueryShape } from "./query-shape.ts";
import { shapeReply } from "../reply.ts";
import { CACHE_KEY_MAX, cacheKey, keySlot, ResponseCache, writeCacheKey } from "./response-cache.ts";
import { hashKey } from "./asked-once.ts";

type QueryOptions = Parameters<typeof queryWire>[2];

const q = (name: string, type = "A", options: QueryOptions = {}) => queryWire(name, type, options);
const key = (wire: Uint8Array, transport: Transport = "udp") => cacheKey(wire, readQueryShape(wire), transport);
/** A stand-in answer: the query turned into a NOERROR reply (the cache never looks inside). */
const answerTo = (wire: Uint8Array) => shapeReply(wire, readQueryShape(wire), 0);
const origin = (zone: string, version: number, ageMs = 0) => ({ zones: [Name.parse(zone).key], versions: [version], ageMs });

function setup(ttlMs = 1000) {
  const clock = { t: 1_000_000 };
  const cache = new ResponseCache({ maxEntries: 100, ttlMs, now: () => clock.t });
  const store = (wire: Uint8Array, zone = "example.org.", version = 1, ageMs = 0, transport: Transport = "udp") =>
    cache.put(key(wire, transport)!, answerTo(wire), origin(zone, version, ageMs), clock.t, cache.ticket());
  const hit = (wire: Uint8Array, transport: Transport = "udp") => cache.get(key(wire, transport)!, wire, readQueryShape(wire));
  return { clock, cache, store, hit };
}

describe("the key", () => {
  const base = q("www.example.org.");
  it.each<{ why: string; other: Uint8Array; transport?: Transport; same: boolean }>([
    { why: "another ID", other: q("www.example.org.", "A", { id: 7 }), same: true },
    { why: "another spelling (0x20)", other: q("wWw.ExAmple.ORG."), same: true },
    { why: "UDP sizes the Worker treats alike (1232 and 4096)", other: q("www.example.org.", "A", { edns: { udpPayloadSize: 4096 } }), same: true },
    { why: "another name", other: q("ww.example.org."), same: false },
    { why: "another type", other: q("www.example.org.", "AAAA"), same: false },
    { why: "another class", other: q("www.example.org.", "A", { qclass: 3 }), same: false },
    { why: "DO set", other: q("www.example.org.", "A", { dnssecOk: true }), same: false },
    { why: "no EDNS", other: q("www.example.org.", "A", { edns: false }), same: false },
    { why: "a smaller UDP size", other: q("www.example.org.", "A", { edns: { udpPayloadSize: 512 } }), same: false },
    { why: "TCP", other: base, transport: "tcp", same: false },
  ])("$why: same key = $same", ({ other, transport, same }) => {
    expect(key(other, transport ?? "udp") === key(base)).toBe(same);
  });

  it("a query with the EDNS EXPIRE option has no key: its answer counts down (RFC 7314)", () => {
    const asks = q("example.org.", "SOA", { edns: { options: [{ code: 9, data: new Uint8Array(0) }] } });
    expect(readQueryShape(asks).edns?.expire).toBe(true);
    expect(key(asks)).toBeUndefined();
    expect(key(asks, "tcp")).toBeUndefined();
    // The same query without the option is cached as before.
    expect(key(q("example.org.", "SOA"))).toBeDefined();
  });

  it("a query that is not plain has no key", () => {
    const two = q("www.example.org.");
    two[5] = 2; // QDCOUNT 2
    expect(cacheKey(two, readQueryShape(two), "udp")).toBeUndefined();
  });
});

describe("hits", () => {
  it("rewrite the ID and the asker's spelling of the name", () => {
    const { store, hit } = setup();
    expect(store(q("www.example.org.", "A", { id: 1 }))).toBe(true);
    const asked = q("WwW.eXample.org.", "A", { id: 4242 });
    const got = decodeMessage(hit(asked)!);
    expect(got.id).toBe(4242);
    expect(got.questions[0]!.name.toString()).toBe("WwW.eXample.org.");
  });

  it("are copies: changing one does not change the next", () => {
    const { store, hit } = setup();
    store(q("www.example.org."));
    const first = hit(q("www.example.org."))!;
    first[3] = 0xff;
    expect(hit(q("www.example.org."))![3]).not.toBe(0xff);
  });

  it("stay as they were while later hits are made (views of a slab are never written again)", () => {
    const { store, hit } = setup();
    const names = Array.from({ length: 100 }, (_, i) => `host${i}.example.org.`);
    for (const name of names) store(q(name, "A", { id: 1 }));
    // Enough hits to fill several 64 KiB slabs; every one kept and checked after all were made.
    const hits = Array.from({ length: 8000 }, (_, i) => ({ name: names[i % 100]!, id: i }));
    const made = hits.map((h) => ({ ...h, wire: hit(q(h.name, "A", { id: h.id }))! }));
    expect(new Set(made.map((h) => h.wire.buffer)).size).toBeGreaterThan(2);
    for (const h of made) {
      const got = decodeMessage(h.wire);
      expect(got.id).toBe(h.id);
      expect(got.questions[0]!.name.toString()).toBe(h.name);
    }
  });

  it("keep an answer that is a view of a larger buffer as a copy of its own, so a later write there changes nothing", () => {
    const { cache, hit } = setup();
    const wire = q("www.example.org.");
    const answer = answerTo(wire);
    // A replica answer is a view of a shared slab: put it in the middle of a larger buffer.
    const shared = new Uint8Array(answer.length + 64);
    shared.set(answer, 32);
    const view = new Uint8Array(shared.buffer, 32, answer.length);
    expect(cache.put(key(wire)!, view, origin("example.org.", 1), 1_000_000, cache.ticket())).toBe(true);
    shared.fill(0xee);
    expect(hit(wire)).toEqual(answer);
  });
});

describe("lifetime", () => {
  it.each([
    { why: "fresh read: lives the whole TTL", ageMs: 0, ttlMs: 1000, at: [[999, true], [1000, false]] },
    { why: "a read 600 ms old: lives 400 ms", ageMs: 600, ttlMs: 1000, at: [[399, true], [400, false]] },
    { why: "a read older than the TTL: not stored", ageMs: 1000, ttlMs: 1000, at: [[0, false]] },
    { why: "a shorter TTL", ageMs: 0, ttlMs: 250, at: [[249, true], [250, false]] },
  ] as const)("$why", ({ ageMs, ttlMs, at }) => {
    const { clock, store, hit } = setup(ttlMs);
    const wire = q("www.example.org.");
    const start = clock.t;
    store(wire, "example.org.", 1, ageMs);
    for (const [offset, present] of at) {
      clock.t = start + offset;
      expect(hit(wire) !== undefined).toBe(present);
    }
  });

  it("never more than a second, whatever TTL is asked for", () => {
    const { clock, cache } = setup();
    const long = new ResponseCache({ maxEntries: 10, ttlMs: 60_000, now: () => clock.t });
    const wire = q("www.example.org.");
    long.put(key(wire)!, answerTo(wire), origin("example.org.", 1), clock.t, 0);
    clock.t += 1000;
    expect(long.get(key(wire)!, wire, readQueryShape(wire))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe("versions and commits", () => {
  it("a fresher read showing a new version retires the old entries", () => {
    const { clock, store, hit } = setup();
    const a = q("a.example.org."), b = q("b.example.org.");
    store(a, "example.org.", 1);
    clock.t += 10;
    store(b, "example.org.", 2);
    expect(hit(a)).toBeUndefined();
    expect(hit(b)).toBeDefined();
  });

  it("a stale read (older pointer, another isolate) is neither stored nor able to retire newer entries", () => {
    const { clock, store, hit } = setup();
    const a = q("a.example.org."), b = q("b.example.org.");
    store(a, "example.org.", 2);
    clock.t += 10;
    expect(store(b, "example.org.", 1, 500)).toBe(false);
    expect(hit(a)).toBeDefined();
    expect(hit(b)).toBeUndefined();
  });

  it("a commit here drops the zone's entries and its ancestors', not its siblings'", () => {
    const { cache, store, hit } = setup();
    const child = q("www.sub.example.org."), parent = q("www.example.org."), sibling = q("www.example.net.");
    store(child, "sub.example.org.", 5);
    store(parent, "example.org.", 9);
    store(sibling, "example.net.", 3);
    cache.committed("sub.example.org", 6);
    expect(hit(child)).toBeUndefined();
    expect(hit(parent)).toBeUndefined();
    expect(hit(sibling)).toBeDefined();
  });

  it("an answer in flight across a commit is not stored, even at the new version", () => {
    const { clock, cache, hit } = setup();
    const wire = q("www.example.org.");
    const ticket = cache.ticket();
    const sentAt = clock.t;
    cache.committed("example.org", 2);
    expect(cache.put(key(wire)!, answerTo(wire), origin("example.org.", 2), sentAt, ticket)).toBe(false);
    expect(hit(wire)).toBeUndefined();
    // The next query, sent after the commit, is stored.
    expect(cache.put(key(wire)!, answerTo(wire), origin("example.org.", 2), clock.t, cache.ticket())).toBe(true);
    expect(hit(wire)).toBeDefined();
  });

  it("an answer read from two zones (DS at a child apex) dies with either", () => {
    const { clock, cache, hit } = setup();
    const wire = q("sub.example.org.", "DS");
    const two = { zones: [Name.parse("sub.example.org.").key, Name.parse("example.org.").key], versions: [5, 9], ageMs: 0 };
    expect(cache.put(key(wire)!, answerTo(wire), two, clock.t, cache.ticket())).toBe(true);
    expect(hit(wire)).toBeDefined();
    cache.committed("sub.example.org", 6);
    expect(hit(wire)).toBeUndefined();
  });
});

it("holds at most maxEntries", () => {
  const clock = { t: 0 };
  const cache = new ResponseCache({ maxEntries: 3, now: () => clock.t });
  for (let i = 0; i < 10; i++) {
    const wire = q(`n${i}.example.org.`);
    cache.put(key(wire)!, answerTo(wire), origin("example.org.", 1), 0, cache.ticket());
  }
  expect(cache.size).toBe(3);
});

describe("the LRU's slots (issue 27, session 11: a hash of the key's octets, no string)", () => {
  const slotOf = (wire: Uint8Array): number => {
    const octets = new Uint8Array(CACHE_KEY_MAX);
    const length = writeCacheKey(wire, readQueryShape(wire), "udp", octets);
    const hashes = new Int32Array(2);
    hashKey(octets, length, hashes);
    return keySlot(hashes[0]!, hashes[1]!);
  };

  /** Two query names whose keys share a slot (30 bits: a few tens of thousands of names find one). */
  function collision(): [Uint8Array, Uint8Array] {
    const bySlot = new Map<number, Uint8Array>();
    for (let i = 0; i < 1_000_000; i++) {
      const wire = q(`host-${i}.example.org.`);
      const slot = slotOf(wire);
      const before = bySlot.get(slot);
      if (before !== undefined) return [before, wire];
      bySlot.set(slot, wire);
    }
    throw new Error("no two keys on one slot in a million: the slot is not 30 bits of a hash");
  }

  it("holds an entry under the slot of its key's octets, the same whether the key came as octets or as a string", () => {
    const t = setup();
    const wire = q("www.example.org.");
    const octets = new Uint8Array(CACHE_KEY_MAX);
    const length = writeCacheKey(wire, readQueryShape(wire), "udp", octets);
    expect(Buffer.from(octets.subarray(0, length)).toString("latin1")).toBe(key(wire));
    t.cache.putKeyed(octets, length, slotOf(wire), answerTo(wire), origin("example.org.", 1), t.clock.t, t.cache.ticket());
    expect(t.hit(wire)).toBeDefined();
    const other = q("WWW.example.org.", "A", { id: 9 });
    expect(decodeMessage(t.cache.getKeyed(octets, length, slotOf(other), other, readQueryShape(other))!).id).toBe(9);
  });

  it("two keys on one slot: a hit compares the key's octets, so neither ever gets the other's answer; the later replaces the earlier", () => {
    const [a, b] = collision();
    expect(slotOf(a)).toBe(slotOf(b));
    const t = setup();
    t.store(a);
    expect(t.hit(b)).toBeUndefined();
    expect(t.hit(a)).toBeDefined();
    t.store(b);
    expect(decodeMessage(t.hit(b)!).questions[0]!.name.toString()).toBe(decodeMessage(b).questions[0]!.name.toString());
    expect(t.hit(a)).toBeUndefined();
    expect(t.cache.size).toBe(1);
  });

  it("makes no key string on the octets' path", () => {
    const t = setup();
    const wire = q("www.example.org.");
    t.store(wire);
    const octets = new Uint8Array(CACHE_KEY_MAX);
    const length = writeCacheKey(wire, readQueryShape(wire), "udp", octets);
    const strings = vi.spyOn(Buffer.prototype, "toString");
    try {
      expect(t.cache.getKeyed(octets, length, slotOf(wire), wire, readQueryShape(wire))).toBeDefined();
      const miss = q("nope.example.org.");
      const missLength = writeCacheKey(miss, readQueryShape(miss), "udp", octets);
      expect(t.cache.getKeyed(octets, missLength, slotOf(miss), miss, readQueryShape(miss))).toBeUndefined();
      expect(strings).not.toHaveBeenCalled();
    } finally {
      strings.mockRestore();
    }
  });
});
