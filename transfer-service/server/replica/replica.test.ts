/**
 * The replica's rules (`replica.ts`) over an in-memory source of the Worker's zone feed and version streams,
 * with a hand-driven clock: which zone answers, never stale (the feed's vouching second, commits), the bounds
 * (records per zone, bytes over 10,000 zones with the least recently asked evicted), expiry, answerAllow,
 * and the Worker out of reach.
 */
import { describe, expect, it, vi } from "vitest";
import { Rcode, RRType } from "../../../dns/constants.ts";
import { decodeMessage } from "../../../dns/message.ts";
import { Name } from "../../../dns/name.ts";
import { queryWire } from "../../../dns/testing/query-wire.ts";
import { parseZoneText } from "../../../dns/zonefile/parser.ts";
import { encodeRecordStream } from "../../../contract/record-stream.ts";
import type { Journal, ZoneConfig, ZoneConfigChanges } from "../../../contract/internal-v1.ts";
import { servedZoneConfig } from "../../testing/zone-config.ts";
import { createLogger } from "../../ops/log.ts";
import { readQueryShape } from "../query/query-shape.ts";
import type { RequestContext } from "../request-context.ts";
import { CompactTree, CompactZone } from "../../../answer/store/compact-zone.ts";
import { TREE_MAIN } from "../../../answer/store/stored-node.ts";
import type { IngestSession } from "../../worker/worker-api.ts";
import { registerOwnerLoad, tapIngest } from "./owner-load.ts";
import type { ChangesOffer, OwnerOffer } from "./owner-load.ts";
import type { ChangedNodesPart } from "../../worker/worker-api.ts";
import { decodeChangedNodes } from "../../../answer/store/changed-nodes.ts";
import { Replica } from "./replica.ts";
import { replicaBytesPerProcess, startReplica } from "./start-replica.ts";
import { loadConfig } from "../../config.ts";
import { Metrics } from "../../ops/metrics.ts";
import { type LocalAnswer, replicaAnswerer } from "./replica-answer.ts";
import { createDispatcher } from "../dns-dispatch.ts";
import { createQueryForwarder } from "../query/query-forward.ts";
import { ResponseCache } from "../query/response-cache.ts";
import type { WorkerUpstream } from "../query/worker-upstream.ts";
import { type FeedCursor, type ReplicaSource, ReplicaSourceError } from "./replica-source.ts";

const log = createLogger({ level: "silent" });

interface FakeZone {
  name: string;
  id: number;
  version: number | null;
  records: string;
  answerAllow?: string[] | undefined;
  expiresAt?: number | null;
  model?: "secondary" | "hidden" | "primary";
}

/** The Worker as the replica reads it: a change feed over `zones` and their version streams. */
class FakeWorker implements ReplicaSource {
  readonly zones = new Map<string, FakeZone & { seq: number }>();
  private seq = 0;
  down = false;
  streamsRead = 0;

  put(zone: FakeZone): void {
    this.zones.set(zone.name, { ...zone, seq: ++this.seq });
    const serial = /SOA \S+ \S+ (\d+)/.exec(zone.records)?.[1];
    if (serial !== undefined) this.history.set(zone.name, [...(this.history.get(zone.name) ?? []), { serial: Number(serial), records: zone.records }]);
  }

  /** Names deleted, in order: the feed reports those after the cursor's `deletes`. */
  private readonly deletedNames: string[] = [];

  remove(name: string): void {
    this.zones.delete(name);
    this.deletedNames.push(name);
  }

  async zoneChanges(cursor: FeedCursor): Promise<ZoneConfigChanges> {
    if (this.down) throw new ReplicaSourceError("unreachable", "connect ECONNREFUSED");
    const changed = [...this.zones.values()].filter((z) => z.seq > cursor.since).sort((a, b) => a.seq - b.seq);
    const deleted = cursor.deletes === undefined ? [] : this.deletedNames.slice(cursor.deletes);
    return { zones: changed.map(configOf), keys: [], deleted, cursor: { since: this.seq, deletes: this.deletedNames.length }, more: false, resync: false };
  }

  async versionRecords(zone: string, version: number): Promise<Uint8Array | null> {
    if (this.down) throw new ReplicaSourceError("unreachable", "connect ECONNREFUSED");
    const z = this.zones.get(zone);
    if (!z || z.version !== version) return null;
    this.streamsRead++;
    return encodeRecordStream(parseZoneText(z.records, { origin: Name.parse(`${zone}.`), defaultTtl: 300 }));
  }

  /** Versions by serial, for the journal: each put of a zone with a new serial is one changeset. */
  readonly history = new Map<string, Array<{ serial: number; records: string }>>();
  journalAsked = 0;

  async journal(zone: string, since: number): Promise<Journal | null> {
    this.journalAsked++;
    const steps = this.history.get(zone) ?? [];
    const from = steps.findIndex((s) => s.serial === since);
    if (from < 0 || from === steps.length - 1) return null;
    const recordsOf = (text: string) => parseZoneText(text, { origin: Name.parse(`${zone}.`), defaultTtl: 300 });
    const id = (r: { name: Name; type: number; rdata: Uint8Array }) => `${r.name.key}/${r.type}/${Buffer.from(r.rdata).toString("hex")}`;
    const changesets = [];
    for (let i = from; i < steps.length - 1; i++) {
      const a = recordsOf(steps[i]!.records), b = recordsOf(steps[i + 1]!.records);
      const inB = new Set(b.map(id)), inA = new Set(a.map(id));
      const b64 = (rs: typeof a) => Buffer.from(encodeRecordStream(rs)).toString("base64");
      changesets.push({ fromSerial: steps[i]!.serial, toSerial: steps[i + 1]!.serial, deletions: b64(a.filter((r) => !inB.has(id(r)))), additions: b64(b.filter((r) => !inA.has(id(r)))) });
    }
    return { fromSerial: since, toSerial: steps[steps.length - 1]!.serial, changesets };
  }

  async close(): Promise<void> {}
}

function configOf(z: FakeZone): ZoneConfig {
  return servedZoneConfig({
    id: z.id,
    name: z.name,
    model: z.model ?? "secondary",
    answerAllow: "answerAllow" in z ? z.answerAllow : [],
    currentVersion: z.version,
    serial: Number(/SOA \S+ \S+ (\d+)/.exec(z.records)?.[1] ?? 0) || null,
    recordCount: z.records.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("$")).length,
    expiresAt: z.expiresAt ?? null,
  });
}

const zoneText = (apex: string, serial: number, address = "192.0.2.1") => `$ORIGIN ${apex}.\n@ SOA ns hostmaster ${serial} 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\nwww A ${address}\n`;

function setup(options: { maxRecords?: number; maxBytes?: number; passive?: boolean } = {}) {
  const worker = new FakeWorker();
  let clock = 1_000_000;
  const loads: string[] = [];
  const replica = new Replica({
    source: worker,
    log,
    maxRecords: options.maxRecords ?? 1_000_000,
    maxBytes: options.maxBytes ?? 2 ** 30,
    pollMs: 250,
    now: () => clock,
    events: { loaded: (_s, _r, kind) => loads.push(kind) },
    passive: options.passive,
  });
  const answer = replicaAnswerer(replica, log, () => clock);
  const ctx: RequestContext = { transport: "udp", remoteAddress: "::ffff:127.0.0.1", remotePort: 5353 } as RequestContext;
  const ask = async (name: string, type = "A", from = ctx) => {
    const wire = queryWire(name, type);
    const out = await answer(wire, readQueryShape(wire), from);
    return out === undefined ? "forward" : decodeMessage(out.answer);
  };
  return {
    worker,
    replica,
    loads,
    answer,
    ctx,
    ask,
    tick: (ms: number) => {
      clock += ms;
    },
    sync: async () => {
      await replica.poll();
      await replica.settled();
    },
  };
}

const addressOf = (m: ReturnType<typeof decodeMessage>): string => [...m.answers[0]!.rdata].join(".");

describe("Replica", () => {
  it("answers held zones and forwards what it does not hold, with the right zone for every name", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 3, records: zoneText("a.test", 1) });
    // A child zone not yet loaded (no version): never answered for by its parent.
    t.worker.put({ name: "kid.a.test", id: 2, version: null, records: "" });
    t.worker.put({ name: "old.test", id: 3, version: 5, records: zoneText("old.test", 1), answerAllow: undefined });
    expect(await t.ask("www.a.test.")).toBe("forward");
    await t.sync();
    const www = await t.ask("www.a.test.");
    expect(www).not.toBe("forward");
    expect(addressOf(www as ReturnType<typeof decodeMessage>)).toBe("192.0.2.1");
    // The child zone, never loaded: the Worker says SERVFAIL (the parent does not answer for it).
    expect(await t.ask("www.kid.a.test.")).toBe("forward");
    // A zone whose answerAllow the feed did not name (an older Worker): left to the Worker.
    expect(await t.ask("www.old.test.")).toBe("forward");
    // Outside every zone: the Worker says REFUSED (a zone created a moment ago may not be in the directory yet).
    expect(await t.ask("www.elsewhere.")).toBe("forward");
    // NXDOMAIN and NODATA are the replica's.
    expect((await t.ask("nope.a.test.")) as { rcode: number }).toMatchObject({ rcode: Rcode.NXDOMAIN });
    expect((await t.ask("www.a.test.", "MX")) as { rcode: number }).toMatchObject({ rcode: Rcode.NOERROR });
  });

  it("answers a held zone in the call that asked, through the front as the listener runs it: octets, not a promise", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    let forwards = 0;
    const upstream = {
      dohPath: "/dns-query",
      pool: {
        request: async () => {
          forwards++;
          throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        },
      },
    } as unknown as WorkerUpstream;
    const cache = new ResponseCache({ maxEntries: 100, ttlMs: 60_000 });
    const forward = createQueryForwarder({ upstream, internalToken: "test-token", timeoutMs: 5_000, maxInFlight: 10, log, local: t.answer, cache });
    const front = createDispatcher({ notify: () => Promise.reject(new Error("no NOTIFY here")), front: { forward } });
    const cases: Array<[string, string, number]> = [
      ["www.a.test.", "A", Rcode.NOERROR],
      ["nope.a.test.", "A", Rcode.NXDOMAIN],
      ["www.a.test.", "MX", Rcode.NOERROR],
      ["a.test.", "NS", Rcode.NOERROR],
    ];
    // Three times each: the replica's answer, the same offered to the cache (asked before), then a cache hit.
    for (let round = 0; round < 3; round++) {
      for (const [name, type, rcode] of cases) {
        const reply = front(queryWire(name, type), t.ctx);
        expect(reply, `${name} ${type}, round ${round}`).toBeInstanceOf(Uint8Array);
        expect(decodeMessage(reply as Uint8Array).rcode).toBe(rcode);
      }
    }
    expect(forwards).toBe(0);
    // The third round came from the cache, which took the replica's answers (and their origin) in the second.
    expect(cache.stats.hits).toBe(cases.length);
    // A name in no zone held goes to the Worker (unreachable here: the front's SERVFAIL), after a promise.
    const away = front(queryWire("www.elsewhere.", "A"), t.ctx);
    expect(away).toBeInstanceOf(Promise);
    expect(decodeMessage((await away) as Uint8Array).rcode).toBe(Rcode.SERVFAIL);
    expect(forwards).toBeGreaterThanOrEqual(1);
  });

  it("proves NSEC3 denial in the call that asked (Node's SHA-1): NXDOMAIN, NODATA and DS as values, not promises", async () => {
    const t = setup();
    const n3 = [
      "$ORIGIN n3.test.",
      "@ SOA ns hostmaster 1 7200 3600 1209600 300",
      "@ NS ns",
      "@ NSEC3PARAM 1 0 1 aa",
      "ns A 192.0.2.1",
      "www A 192.0.2.2",
      "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 1 aa 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
      "2vptu5timamqttgl4luu9kg21e0aor3s NSEC3 1 0 1 aa 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NS SOA RRSIG NSEC3PARAM",
      "",
    ].join("\n");
    t.worker.put({ name: "n3.test", id: 1, version: 1, records: n3 });
    await t.sync();
    // The chain here matches no owner (its hashes are Appendix A's), so NODATA finds no match to send; the
    // NXDOMAINs get the NSEC3s covering the next closer name and the wildcard.
    const cases: Array<[string, string, number]> = [
      ["nope.n3.test.", "A", Rcode.NXDOMAIN],
      ["a.b.n3.test.", "TXT", Rcode.NXDOMAIN],
      ["www.n3.test.", "MX", Rcode.NOERROR],
      ["www.n3.test.", "DS", Rcode.NOERROR],
    ];
    for (const [name, type, rcode] of cases) {
      const wire = queryWire(name, type, { dnssecOk: true });
      const out = t.answer(wire, readQueryShape(wire), t.ctx);
      expect(out, `${name} ${type}`).not.toBeInstanceOf(Promise);
      const m = decodeMessage((out as LocalAnswer).answer);
      expect(m.rcode, `${name} ${type}`).toBe(rcode);
      if (rcode === Rcode.NXDOMAIN) expect(m.authorities.some((r) => r.type === RRType.NSEC3), `${name} ${type}`).toBe(true);
    }
  });

  it("finds a name's zone at every depth as zones are replaced, deleted and added again (the directory's depth counts)", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    t.worker.put({ name: "b.test", id: 2, version: 1, records: zoneText("b.test", 1) });
    t.worker.put({ name: "kid.a.test", id: 3, version: 1, records: zoneText("kid.a.test", 1, "192.0.2.3") });
    await t.sync();
    const address = async (name: string) => {
      const m = await t.ask(name);
      return m === "forward" ? m : m.rcode === Rcode.NXDOMAIN ? "NXDOMAIN" : addressOf(m);
    };
    expect([await address("www.a.test."), await address("www.b.test."), await address("www.kid.a.test.")]).toEqual(["192.0.2.1", "192.0.2.1", "192.0.2.3"]);
    // Versions replace directory entries (a.test twice): the other zone of its depth is still found.
    for (const version of [2, 3]) {
      t.worker.put({ name: "a.test", id: 1, version, records: zoneText("a.test", version, `192.0.2.1${version}`) });
      await t.sync();
    }
    t.worker.remove("b.test");
    await t.sync();
    expect(await address("www.b.test.")).toBe("forward");
    expect(await address("www.a.test.")).toBe("192.0.2.13");
    // The child zone gone, its names are the parent's (which has no such name).
    t.worker.remove("kid.a.test");
    await t.sync();
    expect(await address("www.kid.a.test.")).toBe("NXDOMAIN");
    // Added again: answered again.
    t.worker.put({ name: "b.test", id: 4, version: 1, records: zoneText("b.test", 1, "192.0.2.4") });
    await t.sync();
    expect(await address("www.b.test.")).toBe("192.0.2.4");
    expect(await address("www.a.test.")).toBe("192.0.2.13");
  });

  it("finds a query name's zone without rendering the name's key, by its labels against the zone found last, until a closer zone may exist", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    t.worker.put({ name: "b.test", id: 2, version: 1, records: zoneText("b.test", 1) });
    await t.sync();
    const zoneOf = (name: Name): string | null => t.replica.resolve(name)?.info.name.key ?? null;
    expect(zoneOf(Name.parse("www.a.test."))).toBe("a.test.");
    // From here on, names in a.test. are matched by their labels (ASCII case folded): no key rendered.
    const keys = vi.spyOn(Name.prototype, "key", "get");
    try {
      const names = ["host-1.a.test.", "WWW.A.Test.", "a.test.", "x.y.z.a.test."].map((n) => Name.parse(n));
      expect(names.map(zoneOf)).toEqual(["a.test.", "a.test.", "a.test.", "a.test."]);
      for (const name of names) expect(keys.mock.contexts.includes(name), name.toString()).toBe(false);
    } finally {
      keys.mockRestore();
    }
    // Only letters fold: "[" (0x5b) and "{" (0x7b) differ by 0x20 but are not the same label.
    const label = (text: string) => new TextEncoder().encode(text);
    t.worker.put({ name: "x[.test", id: 5, version: 1, records: zoneText("x[.test", 1) });
    await t.sync();
    expect(zoneOf(Name.fromLabels([label("www"), label("x["), label("test")]))).toBe("x[.test.");
    expect(zoneOf(Name.fromLabels([label("www"), label("x{"), label("test")]))).toBe(null);
    expect(zoneOf(Name.fromLabels([label("www"), label("X["), label("test")]))).toBe("x[.test.");
    // Other zones and closer zones: the labels of a name in b.test. do not match a.test.; a zone added below
    // a.test. is the closer one for its names at once; a.test. replaced or removed is not used from memory.
    expect(zoneOf(Name.parse("www.a.test."))).toBe("a.test.");
    expect(zoneOf(Name.parse("www.b.test."))).toBe("b.test.");
    expect(zoneOf(Name.parse("www.a.test."))).toBe("a.test.");
    t.worker.put({ name: "kid.a.test", id: 3, version: 1, records: zoneText("kid.a.test", 1, "192.0.2.3") });
    await t.sync();
    expect(zoneOf(Name.parse("www.kid.a.test."))).toBe("kid.a.test.");
    expect(zoneOf(Name.parse("www.a.test."))).toBe("a.test.");
    expect(zoneOf(Name.parse("www.KID.a.test."))).toBe("kid.a.test.");
    t.worker.put({ name: "a.test", id: 1, version: 2, records: zoneText("a.test", 2, "192.0.2.12") });
    await t.sync();
    expect(t.replica.resolve(Name.parse("www.a.test."))?.info.version).toBe(2);
    t.worker.remove("a.test");
    await t.sync();
    expect(zoneOf(Name.parse("www.a.test."))).toBe(null);
    expect(zoneOf(Name.parse("www.kid.a.test."))).toBe("kid.a.test.");
  });

  it("stops answering when no feed read has vouched for the directory in the last second", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    t.tick(900);
    expect(await t.ask("www.a.test.")).not.toBe("forward");
    t.tick(200);
    expect(await t.ask("www.a.test.")).toBe("forward");
    await t.sync();
    expect(await t.ask("www.a.test.")).not.toBe("forward");
  });

  it("a commit notice makes the zone forwarded at once, until the new version is loaded", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    t.worker.put({ name: "a.test", id: 1, version: 2, records: zoneText("a.test", 2, "192.0.2.2") });
    t.replica.committed("a.test", 2);
    expect(await t.ask("www.a.test.")).toBe("forward");
    await t.replica.settled();
    expect(addressOf((await t.ask("www.a.test.")) as ReturnType<typeof decodeMessage>)).toBe("192.0.2.2");
  });

  it("a commit seen only by the feed is followed on the next read", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    t.worker.put({ name: "a.test", id: 1, version: 2, records: zoneText("a.test", 2, "192.0.2.2") });
    await t.sync();
    expect(addressOf((await t.ask("www.a.test.")) as ReturnType<typeof decodeMessage>)).toBe("192.0.2.2");
  });

  it("follows a new version by applying the journal's changesets to the one held, equal to a reload", async () => {
    const t = setup();
    const big = (serial: number, extra: string) => `${zoneText("a.test", serial)}${Array.from({ length: 50 }, (_, i) => `h${i} TXT "v${i}"`).join("\n")}\n${extra}\n`;
    t.worker.put({ name: "a.test", id: 1, version: 1, records: big(1, "x A 192.0.2.10") });
    await t.sync();
    t.worker.put({ name: "a.test", id: 1, version: 2, records: big(2, "y A 192.0.2.11\nx AAAA 2001:db8::1") });
    t.worker.put({ name: "a.test", id: 1, version: 3, records: big(3, "y A 192.0.2.11\nY2 A 192.0.2.12") });
    // A commit notice first (no serial in it): the load reads the feed, then the journal.
    t.replica.committed("a.test", 3);
    await t.replica.settled();
    expect(t.loads).toEqual(["full", "ixfr"]);
    expect(t.replica.heldVersion("a.test")).toBe(3);
    const reload = CompactZone.fromStream((await t.worker.versionRecords("a.test", 3))!, Name.parse("a.test."));
    const held = t.replica.heldZone("a.test")!;
    expect(Buffer.from(held.trees[TREE_MAIN].data).toString("hex")).toBe(Buffer.from(reload.trees[TREE_MAIN].data).toString("hex"));
    expect((await t.ask("y2.a.test.")) as { rcode: number }).toMatchObject({ rcode: Rcode.NOERROR });
    expect((await t.ask("x.a.test.")) as { rcode: number }).toMatchObject({ rcode: Rcode.NXDOMAIN });
  });

  it("reads a version whole when the journal does not lead to it", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    t.worker.history.delete("a.test");
    t.worker.put({ name: "a.test", id: 1, version: 2, records: zoneText("a.test", 5, "192.0.2.5") });
    t.worker.history.set("a.test", [{ serial: 5, records: zoneText("a.test", 5, "192.0.2.5") }]);
    await t.sync();
    expect(t.loads).toEqual(["full", "full"]);
    expect(addressOf((await t.ask("www.a.test.")) as ReturnType<typeof decodeMessage>)).toBe("192.0.2.5");
  });

  it("honours expiry and answerAllow from the data", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1), expiresAt: 1_000_500 });
    t.worker.put({ name: "h.test", id: 2, version: 1, records: zoneText("h.test", 1), answerAllow: ["10.0.0.0/8"], model: "hidden" });
    await t.sync();
    // Not allowed: the Worker's REFUSED, not the replica's.
    expect(await t.ask("www.h.test.")).toBe("forward");
    const inside = { transport: "udp", remoteAddress: "10.1.2.3", remotePort: 5353 } as RequestContext;
    expect((await t.ask("www.h.test.", "A", inside)) as { rcode: number }).toMatchObject({ rcode: Rcode.NOERROR });
    expect((await t.ask("www.a.test.")) as { rcode: number }).toMatchObject({ rcode: Rcode.NOERROR });
    t.tick(600);
    await t.sync();
    // Expired: never answered from the replica (the Worker says SERVFAIL).
    expect(await t.ask("www.a.test.")).toBe("forward");
  });

  it("keeps answering held zones while the Worker is out of reach", async () => {
    const t = setup();
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    t.worker.down = true;
    t.tick(5_000);
    await t.sync();
    expect((await t.ask("www.a.test.")) as { rcode: number }).toMatchObject({ rcode: Rcode.NOERROR });
    t.worker.down = false;
    t.tick(2_000);
    expect(await t.ask("www.a.test.")).not.toBe("forward");
  });

  it("does not hold a zone over BACKSTOP_REPLICA_MAX_RECORDS", async () => {
    const t = setup({ maxRecords: 3 });
    t.worker.put({ name: "a.test", id: 1, version: 1, records: zoneText("a.test", 1) });
    await t.sync();
    expect(t.replica.heldVersion("a.test")).toBeUndefined();
    expect(await t.ask("www.a.test.")).toBe("forward");
  });

  it("stays within BACKSTOP_REPLICA_MAX_BYTES over 10,000 zones, evicting the least recently asked", async () => {
    const one = setup();
    one.worker.put({ name: "z0.test", id: 1, version: 1, records: zoneText("z0.test", 1) });
    await one.sync();
    const perZone = one.replica.stats().bytes;
    const budget = perZone * 1_000;
    const bounded = setup({ maxBytes: budget });
    for (let i = 0; i < 10_000; i++) bounded.worker.put({ name: `z${i}.test`, id: i + 1, version: 1, records: zoneText(`z${i}.test`, 1) });
    await bounded.sync();
    const stats = bounded.replica.stats();
    expect(stats.directory).toBe(10_000);
    expect(stats.bytes).toBeLessThanOrEqual(budget);
    expect(stats.zones).toBeGreaterThan(900);
    expect(stats.zones).toBeLessThanOrEqual(1_000);
    // The last loaded are held; the first were evicted. Asking for an evicted one loads it again…
    expect(bounded.replica.heldVersion("z0.test")).toBeUndefined();
    // (A zone is asked for again at most once a second after its last load.)
    bounded.tick(1_000);
    await bounded.sync();
    expect(await bounded.ask("www.z0.test.")).toBe("forward");
    await bounded.replica.settled();
    expect(await bounded.ask("www.z0.test.")).not.toBe("forward");
    // …and a zone asked recently survives the loads that follow, while one not asked goes first.
    const recent = "z9999.test";
    expect(await bounded.ask(`www.${recent}.`)).not.toBe("forward");
    for (let i = 1; i < 50; i++) await bounded.ask(`www.z${i}.test.`);
    await bounded.replica.settled();
    expect(bounded.replica.heldVersion(recent)).toBe(1);
    expect(bounded.replica.stats().bytes).toBeLessThanOrEqual(budget);
  }, 60_000);
});

describe("the replica loaded from this instance's own transfers (owner-load.ts)", () => {
  const APEX = "own.test";
  const records = (serial: number, address: string) => parseZoneText(zoneText(APEX, serial, address), { origin: Name.parse(`${APEX}.`), defaultTtl: 300 });
  /** An ingest session that stores nothing; its commit announces `version` as `watchCommits` does, or fails. */
  const fakeSession = (replica: Replica, version: number, fail = false): IngestSession => ({
    beginFull: async () => undefined,
    beginIncremental: async () => undefined,
    beginChangeset: async () => undefined,
    beginAdditions: async () => undefined,
    records: async () => undefined,
    rawRecords: async () => undefined,
    rawChunkBytes: 64,
    end: async () => undefined,
    commit: async () => {
      if (fail) throw new Error("the Worker did not commit");
      replica.committed(APEX, version);
      return { version, serial: 0, records: 0 };
    },
    abort: async () => undefined,
  });
  /** A full transfer of `rs` through the tap, its stream in one piece per record; `stop` before the end or commit. */
  const axfr = async (session: IngestSession, rs: ReturnType<typeof records>, stop?: "abort") => {
    const [soa, ...rest] = rs;
    await session.beginFull(soa!);
    for (const r of rest.slice(0, stop ? 1 : undefined)) await session.rawRecords!(encodeRecordStream([r]), 1);
    if (stop) return session.abort("the primary reset the connection");
    await session.end();
    await session.commit().catch(() => undefined);
  };
  /** The serial 1 → 2 IXFR the tests send through the tap: www's address changes (`commit` left to the caller). */
  const wwwFrom = records(1, "192.0.2.1");
  const wwwTo = records(2, "192.0.2.2");
  const www = (rs: typeof wwwFrom) => rs.filter((r) => r.name.toString().startsWith("www"));
  const wwwIxfr = async (session: IngestSession) => {
    await session.beginIncremental(wwwTo[0]!);
    await session.beginChangeset(wwwFrom[0]!);
    await session.records(www(wwwFrom));
    await session.beginAdditions(wwwTo[0]!);
    await session.records(www(wwwTo));
    await session.end();
  };
  const wire = (zone: CompactZone | undefined) => zone && [Buffer.from(zone.trees[TREE_MAIN].data).toString("hex"), [...zone.trees[TREE_MAIN].offsets]];

  it("installs the version its AXFR and its IXFR built, equal to packing the stream, reading nothing back", async () => {
    const t = setup();
    const unregister = registerOwnerLoad("own-1", { maxRecords: 1000, offer: (z, o) => t.replica.offer(z, o), withdraw: (z) => t.replica.withdraw(z) });
    try {
      t.worker.put({ name: APEX, id: 1, version: null, records: "" });
      await t.sync();
      // The Worker has committed version 1 (the feed may show it before the commit event comes).
      t.worker.put({ name: APEX, id: 1, version: 1, records: zoneText(APEX, 1, "192.0.2.1") });
      const session = tapIngest("own-1", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 1));
      await axfr(session, records(1, "192.0.2.1"));
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(1);
      expect(wire(t.replica.heldZone(APEX))).toEqual(wire(CompactZone.fromStream(encodeRecordStream(records(1, "192.0.2.1")), Name.parse(`${APEX}.`))));
      expect(addressOf((await t.ask(`www.${APEX}.`)) as ReturnType<typeof decodeMessage>)).toBe("192.0.2.1");
      // An IXFR from serial 1 to 2: www's address changes.
      t.worker.put({ name: APEX, id: 1, version: 2, records: zoneText(APEX, 2, "192.0.2.2") });
      const ixfr = tapIngest("own-1", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 2));
      await wwwIxfr(ixfr);
      await ixfr.commit();
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(2);
      expect(wire(t.replica.heldZone(APEX))).toEqual(wire(CompactZone.fromStream(encodeRecordStream(wwwTo), Name.parse(`${APEX}.`))));
      expect(t.worker.streamsRead + t.worker.journalAsked).toBe(0);
      expect(t.replica.workerReads(APEX)).toBe(0);
      expect(t.loads).toEqual(["owner", "owner"]);
    } finally {
      unregister();
    }
  });

  it("computes an IXFR's changed nodes only from the exact base version it holds, and makes its own next version from them (issue 28)", async () => {
    const t = setup();
    const load = { maxRecords: 1000, offer: (z: string, o: OwnerOffer) => t.replica.offer(z, o), withdraw: (z: string) => t.replica.withdraw(z), nodesFor: (z: string, o: ChangesOffer) => t.replica.nodesFor(z, o) };
    const unregister = registerOwnerLoad("own-nodes", load);
    try {
      t.worker.put({ name: APEX, id: 7, version: 1, records: zoneText(APEX, 1, "192.0.2.1") });
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(1);
      const readsBefore = t.worker.streamsRead + t.worker.journalAsked;
      const [from, to] = [wwwFrom, wwwTo];
      const offer: ChangesOffer = { kind: "changes", fromSerial: 1, toSerial: 2, changesets: [{ deletions: [from[0]!, ...www(from)], additions: [to[0]!, ...www(to)] }] };
      // The transfer's tap asks at its end, before the commit, and hands the nodes to the session.
      const attached: ChangedNodesPart[] = [];
      t.worker.put({ name: APEX, id: 7, version: 2, records: zoneText(APEX, 2, "192.0.2.2") });
      const ixfr = tapIngest("own-nodes", APEX, Name.parse(`${APEX}.`), { ...fakeSession(t.replica, 2), attachNodes: (n) => attached.push(n) });
      await wwwIxfr(ixfr);
      expect(attached).toHaveLength(1);
      expect(attached[0]!.base).toEqual({ zoneId: 7, version: 1, serial: 1, recordDelta: 0, replacedExpiry: null });
      const nodes = decodeChangedNodes(attached[0]!.nodes);
      expect(nodes.map((n) => [n.node.name.toString(), n.unchanged, n.node.records.map((r) => [...r.rdata].join("."))])).toEqual([
        [`${APEX}.`, false, expect.any(Array)],
        [`www.${APEX}.`, false, ["192.0.2.2"]],
      ]);
      await ixfr.commit();
      await t.sync();
      // The commit event made version 2 from those owners: equal to packing serial 2 whole; nothing read.
      expect(t.replica.heldVersion(APEX)).toBe(2);
      expect(wire(t.replica.heldZone(APEX))).toEqual(wire(CompactZone.fromStream(encodeRecordStream(to), Name.parse(`${APEX}.`))));
      expect(t.worker.streamsRead + t.worker.journalAsked).toBe(readsBefore);
      // Not from another base: changesets from another serial; a held version the directory no longer names (an
      // older version of the same serial, say); a zone the directory does not know; changesets that do not fit.
      const next: ChangesOffer = { ...offer, fromSerial: 2, toSerial: 3, changesets: [{ deletions: [to[0]!], additions: [records(3, "192.0.2.2")[0]!] }] };
      expect(t.replica.nodesFor(APEX, offer)).toBeUndefined();
      expect(t.replica.nodesFor(APEX, next)).toBeDefined();
      // Another instance committed version 5 with the same serial (a full transfer of serial 2 again, say): from
      // the notice until it is loaded, the held version 2 is not the served one, and is not used.
      t.worker.put({ name: APEX, id: 7, version: 5, records: zoneText(APEX, 2, "192.0.2.2") });
      t.replica.committed(APEX, 5);
      expect(t.replica.heldVersion(APEX)).toBe(2);
      expect(t.replica.nodesFor(APEX, next)).toBeUndefined();
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(5);
      expect(t.replica.nodesFor(APEX, next)?.base).toMatchObject({ zoneId: 7, version: 5, serial: 2 });
      expect(t.replica.nodesFor("other.test", next)).toBeUndefined();
      const missing = { ...next, changesets: [{ deletions: [to[0]!, ...www(from)], additions: [records(3, "192.0.2.2")[0]!] }] };
      expect(t.replica.nodesFor(APEX, missing)).toBeUndefined();
    } finally {
      unregister();
    }
  });

  it("lists a signed version's earliest RRSIG expirations after its load, so that its IXFR's changed nodes walk no version (issue 28, session 11)", async () => {
    const walks = () => (CompactTree as unknown as { expiryWalks: number }).expiryWalks;
    const t = setup();
    const load = { maxRecords: 1000, offer: (z: string, o: OwnerOffer) => t.replica.offer(z, o), withdraw: (z: string) => t.replica.withdraw(z), nodesFor: (z: string, o: ChangesOffer) => t.replica.nodesFor(z, o) };
    const unregister = registerOwnerLoad("own-expiry", load);
    try {
      const sig = (owner: string, covered: string, labels: number, expires: string) => `${owner} RRSIG ${covered} 13 ${labels} 300 ${expires} 20261201000000 12345 ${APEX}. AAAA\n`;
      const signed = (serial: number, wwwExpires: string) =>
        parseZoneText(zoneText(APEX, serial) + sig("@", "SOA", 2, "20270301000000") + sig("ns", "A", 3, "20270201000000") + sig("www", "A", 3, wwwExpires), { origin: Name.parse(`${APEX}.`), defaultTtl: 300 });
      t.worker.put({ name: APEX, id: 9, version: null, records: "" });
      await t.sync();
      const v1 = signed(1, "20270101000000");
      t.worker.put({ name: APEX, id: 9, version: 1, records: zoneText(APEX, 1) });
      const before = walks();
      await axfr(tapIngest("own-expiry", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 1)), v1);
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(1);
      // Listed after the load, off the IXFR's path (with main's code: at the IXFR, inside `nodesFor`).
      await vi.waitFor(() => expect(walks()).toBeGreaterThan(before), { timeout: 10_000, interval: 5 });
      const listed = walks();
      // www held the earliest signature (2027-01-01); re-signed to 2027-04-01, the earliest becomes ns's.
      const v2 = signed(2, "20270401000000");
      const www = (rs: typeof v1) => rs.filter((r) => r.name.toString().startsWith("www") && r.type === RRType.RRSIG);
      const offer: ChangesOffer = { kind: "changes", fromSerial: 1, toSerial: 2, changesets: [{ deletions: [v1[0]!, ...www(v1)], additions: [v2[0]!, ...www(v2)] }] };
      const nodes = t.replica.nodesFor(APEX, offer);
      expect(nodes?.base).toMatchObject({ replacedExpiry: Date.UTC(2027, 0, 1), earliestAfter: Date.UTC(2027, 1, 1) });
      expect(walks()).toBe(listed);
    } finally {
      unregister();
    }
  });

  it("passive (the multi-process owner's): holds only what its own transfers built and their IXFRs made of it, never a version read from the Worker (session 11)", async () => {
    const t = setup({ passive: true });
    const unregister = registerOwnerLoad("own-passive", { maxRecords: 1000, offer: (z, o) => t.replica.offer(z, o), withdraw: (z) => t.replica.withdraw(z), nodesFor: (z, o) => t.replica.nodesFor(z, o) });
    try {
      // A zone another instance transferred: in the feed with its version, never loaded here.
      t.worker.put({ name: "other.test", id: 2, version: 3, records: zoneText("other.test", 9) });
      t.worker.put({ name: APEX, id: 1, version: 1, records: zoneText(APEX, 1, "192.0.2.1") });
      await t.sync();
      expect(t.replica.heldVersion("other.test")).toBeUndefined();
      expect(t.replica.heldVersion(APEX)).toBeUndefined();
      // This instance's AXFR: kept, with its zone id and version, for transfers out.
      await axfr(tapIngest("own-passive", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 1)), records(1, "192.0.2.1"));
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(1);
      expect(t.replica.packedVersion(APEX, 1, 1)).toBeDefined();
      expect(t.replica.packedVersion(APEX, 5, 1)).toBeUndefined();
      // Its IXFR gets the changed nodes from that version, and the next version is made from them.
      const [from, to] = [wwwFrom, wwwTo];
      expect(t.replica.nodesFor(APEX, { kind: "changes", fromSerial: 1, toSerial: 2, changesets: [{ deletions: [from[0]!, ...www(from)], additions: [to[0]!, ...www(to)] }] })).toBeDefined();
      t.worker.put({ name: APEX, id: 1, version: 2, records: zoneText(APEX, 2, "192.0.2.2") });
      const ixfr = tapIngest("own-passive", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 2));
      await wwwIxfr(ixfr);
      await ixfr.commit();
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(2);
      // Another instance commits version 3: the feed says so, and nothing is read to follow it.
      t.worker.put({ name: APEX, id: 1, version: 3, records: zoneText(APEX, 3, "192.0.2.3") });
      t.tick(2_000);
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(2);
      expect(t.replica.packedVersion(APEX, 1, 2)).toBeDefined();
      expect(t.worker.streamsRead + t.worker.journalAsked).toBe(0);
      expect(t.loads).toEqual(["owner", "owner"]);
    } finally {
      unregister();
    }
  });

  it("a transfer that fails (mid-stream, or at the commit) leaves the replica as it was; a zone over the records bound is not built", async () => {
    const t = setup({ maxRecords: 1000 });
    const unregister = registerOwnerLoad("own-2", { maxRecords: 3, offer: (z, o) => t.replica.offer(z, o), withdraw: (z) => t.replica.withdraw(z) });
    try {
      t.worker.put({ name: APEX, id: 1, version: 1, records: zoneText(APEX, 1, "192.0.2.1") });
      await t.sync();
      const held = t.replica.heldZone(APEX);
      expect(t.worker.streamsRead).toBe(1);
      await axfr(tapIngest("own-2", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 2)), records(2, "192.0.2.2"), "abort");
      await axfr(tapIngest("own-2", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 2, true)), records(2, "192.0.2.2"));
      await t.sync();
      expect(t.replica.heldZone(APEX)).toBe(held);
      expect(addressOf((await t.ask(`www.${APEX}.`)) as ReturnType<typeof decodeMessage>)).toBe("192.0.2.1");
      // Four records with a bound of three: nothing built, so the commit's version is read from the Worker
      // (through its journal, from the version held).
      t.worker.put({ name: APEX, id: 1, version: 2, records: zoneText(APEX, 2, "192.0.2.2") });
      await axfr(tapIngest("own-2", APEX, Name.parse(`${APEX}.`), fakeSession(t.replica, 2)), records(2, "192.0.2.2"));
      await t.sync();
      expect(t.replica.heldVersion(APEX)).toBe(2);
      expect(t.loads).toEqual(["full", "ixfr"]);
      // Without a replica registered the session is handed back as it is.
      const plain = fakeSession(t.replica, 3);
      expect(tapIngest("nobody", APEX, Name.parse(`${APEX}.`), plain)).toBe(plain);
    } finally {
      unregister();
    }
  });
});

describe("the service's owner load (start-replica.ts)", () => {
  // Issue 28, session 8: the service kept a transfer's pieces until the commit and packed them after it,
  // holding the pieces through the transfer and then beside the packed zone (~305–330 MiB for 1M records).
  it("packs the transfer as it comes: the offer made before the commit is the packed version, and no piece is kept", async () => {
    const config = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_WORKER_URL: "http://127.0.0.1:9", BACKSTOP_INSTANCE_ID: "start-replica-1" });
    const offers: Array<{ zone: string; kind: string; records?: number }> = [];
    const offer = vi.spyOn(Replica.prototype, "offer").mockImplementation((zone, o) => {
      offers.push({ zone, kind: o.kind, ...(o.kind === "zone" ? { records: o.zone.records } : {}) });
    });
    const started = startReplica(config, log, new Metrics({ defaultMetrics: false }), undefined);
    try {
      const APEX = "start.test";
      const rs = parseZoneText(zoneText(APEX, 1, "192.0.2.1"), { origin: Name.parse(`${APEX}.`), defaultTtl: 300 });
      const pieces: Uint8Array[] = [];
      const session = tapIngest(config.instanceId, APEX, Name.parse(`${APEX}.`), {
        beginFull: async () => undefined,
        beginIncremental: async () => undefined,
        beginChangeset: async () => undefined,
        beginAdditions: async () => undefined,
        records: async () => undefined,
        rawRecords: async (stream) => void pieces.push(stream),
        rawChunkBytes: 64,
        end: async () => undefined,
        commit: async () => ({ version: 1, serial: 1, records: rs.length }),
        abort: async () => undefined,
      });
      await session.beginFull(rs[0]!);
      for (const r of rs.slice(1)) await session.rawRecords!(encodeRecordStream([r]), 1);
      // Each piece is the sink's once handed on: scribbled over, the version built must not change.
      for (const p of pieces) p.fill(0xff);
      await session.end();
      expect(offers).toEqual([{ zone: APEX, kind: "zone", records: rs.length }]);
      await session.commit();
    } finally {
      offer.mockRestore();
      await started?.stop();
    }
  });
});

describe("BACKSTOP_REPLICA_MAX_BYTES", () => {
  it("is the instance's bound: each of N query processes holds its copy within 1/N of it", () => {
    expect(replicaBytesPerProcess(2 ** 30, 1)).toBe(2 ** 30);
    expect(replicaBytesPerProcess(2 ** 30, 2)).toBe(2 ** 29);
    expect(replicaBytesPerProcess(1000, 3) * 3).toBeLessThanOrEqual(1000);
  });
});
