/**
 * @module The `ZoneSet`'s reads of the Worker's zones: what a control signal or a poll asked for while a
 * read is in flight gets a read that starts after it, at most one, and not a share of the read in flight
 * (which may predate a zone created a moment ago: sharing it left that zone waiting a whole poll interval).
 * Then what plans a zone's first refresh when an attempt was cut off (a lease left behind), and the start-up
 * checks spread by the serial-query rate. The state machine itself runs against real primaries in
 * test/transfer/refresh.test.ts.
 */
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { decodeMessage } from "../../dns/message.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../ops/log.ts";
import { MemoryWorker } from "../testing/memory-worker.ts";
import { ZoneSet } from "./zone-set.ts";
import type { ZoneConfig, ZoneFeedCursor, ZoneFeedPage } from "../worker/worker-api.ts";

/** The in-memory Worker, with each zones read taken at once and its answer held until `release()`. */
class HeldReads extends MemoryWorker {
  reads = 0;
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  override async zones(): Promise<ZoneConfig[]> {
    const snapshot = await super.zones();
    this.reads++;
    await this.gate;
    return snapshot;
  }

  release(): void {
    this.open();
  }
}

const ZONE = "new.test";

interface Case {
  name: string;
  /** What happens while the first read is held. */
  during(refresher: ZoneSet, worker: HeldReads): void;
  /** Reads the Worker answered in all. */
  reads: number;
  /** Whether the zone is known once the poll that was asked first has resolved. */
  known: boolean;
}

const cases: Case[] = [
  {
    name: "a zone created and signalled during a read is found by the read queued after it",
    during(refresher, worker) {
      worker.addZone({ name: ZONE, model: "secondary", primaries: [], keys: [], notifyAllow: [] });
      expect(refresher.signal({ zone: ZONE, reason: "refresh", requestedAt: Date.now(), acceptLowerSerial: false })).toBe(false);
    },
    reads: 2,
    known: true,
  },
  {
    name: "three polls during a read queue one more read, not three",
    during(refresher) {
      for (let i = 0; i < 3; i++) void refresher.poll();
    },
    reads: 2,
    known: false,
  },
  {
    name: "nothing asked during a read: one read",
    during() {},
    reads: 1,
    known: false,
  },
];

describe("ZoneSet reads of the zones", () => {
  it.each(cases)("$name", async ({ during, reads, known }) => {
    const worker = new HeldReads();
    const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_POLL_INTERVAL_S: "3600" });
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    const first = refresher.poll();
    await Promise.resolve();
    during(refresher, worker);
    worker.release();
    await first;
    expect(worker.reads).toBe(reads);
    expect(refresher.get(ZONE) !== undefined).toBe(known);
    await refresher.stop();
  });
});

/** The in-memory Worker with a scripted change feed: each read answers the next page and records its cursor. */
class ScriptedFeed extends MemoryWorker {
  readonly cursors: ZoneFeedCursor[] = [];
  constructor(private readonly pages: Array<ZoneFeedPage | Error>) {
    super();
  }
  async zoneChanges(cursor: ZoneFeedCursor): Promise<ZoneFeedPage> {
    this.cursors.push({ ...cursor });
    const page = this.pages.shift();
    if (page === undefined) return { zones: [], deleted: [], cursor: { since: cursor.since, deletes: cursor.deletes ?? 0 }, more: false, resync: false };
    if (page instanceof Error) throw page;
    return page;
  }
}

/** A zone configuration that plans nothing for an hour. */
function config(name: string, model: ZoneConfig["model"] = "secondary"): ZoneConfig {
  return {
    name, model, primaries: [], keys: [], notifyAllow: [], serial: null, status: "pending", expiresAt: null, lastCheckAt: null,
    nextRefreshAt: Date.now() + 3_600_000, refreshRequestedAt: null, refreshForce: null, refreshAcceptLowerSerial: false,
  };
}

function page(zones: ZoneConfig[], deleted: string[], since: number, more = false, resync = false): ZoneFeedPage {
  return { zones, deleted, cursor: { since, deletes: since }, more, resync };
}

describe("ZoneSet over the zone change feed (issue 19)", () => {
  async function run(pages: Array<ZoneFeedPage | Error>, polls: number): Promise<{ set: ZoneSet; worker: ScriptedFeed }> {
    const worker = new ScriptedFeed(pages);
    const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_POLL_INTERVAL_S: "3600" });
    const set = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    for (let i = 0; i < polls; i++) await set.poll();
    return { set, worker };
  }
  const names = (set: ZoneSet): string[] => [...set.zoneStates()].map((z) => z.zone).sort();

  it("follows the pages with their cursors, and applies a page's deletions before its zones", async () => {
    const { set, worker } = await run([
      page([config("a.test"), config("b.test")], [], 2, true),
      page([config("c.test")], [], 3),
      // b deleted and created again, a deleted: b is kept (as a new zone), a is gone.
      page([config("b.test")], ["a.test", "b.test"], 5),
    ], 1);
    const before = set.get("b.test");
    await set.poll();
    expect(worker.cursors).toEqual([{ since: 0 }, { since: 2, deletes: 2 }, { since: 3, deletes: 3 }]);
    expect(names(set)).toEqual(["b.test", "c.test"]);
    expect(set.get("b.test")).not.toBe(before);
    await set.stop();
  });

  it("takes a zone under a known name but another id as another zone (deleted and created again)", async () => {
    const { set } = await run([page([{ ...config("a.test"), id: 1 }], [], 1)], 1);
    const before = set.get("a.test");
    const worker = (set as unknown as { deps: { worker: ScriptedFeed } }).deps.worker;
    (worker as unknown as { pages: ZoneFeedPage[] }).pages.push(page([{ ...config("a.test"), id: 2 }], [], 2));
    await set.poll();
    expect(set.get("a.test")).not.toBe(before);
    expect(set.get("a.test")!.config.id).toBe(2);
    await set.stop();
  });

  it("drops a zone that turned primary, which nothing refreshes", async () => {
    const { set } = await run([page([config("p.test")], [], 1), page([config("p.test", "primary")], [], 2)], 2);
    expect(names(set)).toEqual([]);
    await set.stop();
  });

  it("after a resync, drops the zones the full read did not show", async () => {
    const { set, worker } = await run([
      page([config("a.test"), config("b.test")], [], 2),
      page([], [], 0, true, true),
      page([config("b.test")], [], 7),
    ], 2);
    expect(worker.cursors.slice(1)).toEqual([{ since: 2, deletes: 2 }, { since: 0 }]);
    expect(names(set)).toEqual(["b.test"]);
    await set.stop();
  });

  it("keeps its place after a failed read: the next poll goes on from the last page applied", async () => {
    const { set, worker } = await run([page([config("a.test")], [], 4, true), new Error("Worker down"), page([config("b.test")], [], 6)], 2);
    expect(worker.cursors).toEqual([{ since: 0 }, { since: 4, deletes: 4 }, { since: 4, deletes: 4 }]);
    expect(names(set)).toEqual(["a.test", "b.test"]);
    await set.stop();
  });
});

describe("Retries of a zone with no data yet", () => {
  it("after failed first contacts: 5 s, then 10 s, then 20 s, never past RETRY", async () => {
    // A primary that takes SOA queries and never answers.
    const silent = createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    const worker = new MemoryWorker();
    const settings = loadConfig({
      BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789",
      BACKSTOP_POLL_INTERVAL_S: "3600",
      BACKSTOP_SOA_TIMEOUT_MS: "50",
      BACKSTOP_SOA_TRIES: "1",
      BACKSTOP_MIN_RETRY_S: "12",
    });
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    worker.addZone({ name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: silent.address().port }], keys: [], notifyAllow: [] });
    try {
      const startedAt = Date.now();
      await refresher.poll();
      // 5 s, 10 s, then capped by RETRY (12 s) instead of 20 s. Each report was made between the moment
      // its attempt was asked for and the moment we saw it, so its next refresh is bracketed exactly,
      // however slow the machine.
      const expected = [5_000, 10_000, 12_000];
      let askedAt = startedAt;
      for (let attempt = 1; attempt <= 3; attempt++) {
        if (attempt > 1) {
          askedAt = Date.now();
          refresher.signal({ zone: ZONE, reason: "refresh", requestedAt: askedAt, acceptLowerSerial: false });
        }
        const deadline = Date.now() + 10_000;
        while (worker.reports(ZONE).length < attempt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        const seenAt = Date.now();
        const report = worker.reports(ZONE)[attempt - 1]!;
        expect(report.status).toBe("pending");
        expect(report.nextRefreshAt, `attempt ${attempt}`).toBeGreaterThanOrEqual(askedAt + expected[attempt - 1]!);
        expect(report.nextRefreshAt, `attempt ${attempt}`).toBeLessThanOrEqual(seenAt + expected[attempt - 1]!);
      }
    } finally {
      await refresher.stop();
      silent.close();
    }
  });
});

/** A primary that takes SOA queries, never answers, and notes when each zone's query came. */
async function countingPrimary(): Promise<{ port: number; queries: Array<{ at: number }>; close(): void }> {
  const socket = createSocket("udp4");
  const queries: Array<{ at: number }> = [];
  socket.on("message", () => queries.push({ at: Date.now() }));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, queries, close: () => socket.close() };
}

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("an attempt cut off by a restart (issue 20: the zone waited a whole REFRESH)", () => {
  const HOUR = 3_600_000;
  const cases = [
    { name: "our own lease left behind (same BACKSTOP_INSTANCE_ID): refreshed at once", owner: "svc-1", untilIn: 60_000, earliest: 0 },
    { name: "another instance's lease that ran out unreported: refreshed at once", owner: "svc-old", untilIn: -1_000, earliest: 0 },
    { name: "another instance's live lease: refreshed when it runs out, not a REFRESH later", owner: "svc-other", untilIn: 1_500, earliest: 1_500 },
  ];
  it.each(cases)("$name", async ({ owner, untilIn, earliest }) => {
    const primary = await countingPrimary();
    const worker = new MemoryWorker();
    const settings = loadConfig({
      BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789",
      BACKSTOP_INSTANCE_ID: "svc-1",
      BACKSTOP_POLL_INTERVAL_S: "1",
      BACKSTOP_SOA_TIMEOUT_MS: "50",
      BACKSTOP_SOA_TRIES: "1",
    });
    const now = Date.now();
    // Serial 1 served, its last report an hour away (REFRESH), and the lease of the attempt that was cut off.
    worker.addZone({ name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: primary.port }], keys: [], notifyAllow: [], serial: 1, status: "refreshing", nextRefreshAt: now + HOUR });
    worker.stealLease(ZONE, owner, untilIn);
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    try {
      const started = Date.now();
      await refresher.start();
      // Several polls come and go meanwhile (1 s): none may push the attempt back to the stored REFRESH.
      await waitUntil("the SOA query of the resumed attempt", () => primary.queries.length > 0, earliest + 10_000);
      expect(primary.queries[0]!.at - started).toBeGreaterThanOrEqual(earliest - 50);
    } finally {
      await refresher.stop();
      primary.close();
    }
  });

  it("a zone without a lease left behind keeps its stored REFRESH", async () => {
    const primary = await countingPrimary();
    const worker = new MemoryWorker();
    const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_INSTANCE_ID: "svc-1", BACKSTOP_POLL_INTERVAL_S: "1" });
    worker.addZone({ name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: primary.port }], keys: [], notifyAllow: [], serial: 1, status: "active", nextRefreshAt: Date.now() + HOUR });
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    try {
      await refresher.start();
      await refresher.poll();
      await refresher.poll();
      expect(primary.queries).toHaveLength(0);
    } finally {
      await refresher.stop();
      primary.close();
    }
  });
});

describe("start-up checks spread by the serial-query rate", () => {
  it("60 zones due at once at 40 a second: their SOA queries span at least 59/40 s, whatever the machine", async () => {
    const primary = await countingPrimary();
    const worker = new MemoryWorker();
    const settings = loadConfig({
      BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789",
      BACKSTOP_POLL_INTERVAL_S: "3600",
      BACKSTOP_SOA_TIMEOUT_MS: "50",
      BACKSTOP_SOA_TRIES: "1",
      BACKSTOP_SERIAL_QUERY_RATE: "40",
    });
    for (let i = 0; i < 60; i++) {
      // Zones with data: a zone with none is bootstrapped by AXFR at once, outside the rate (bootstrap.test.ts).
      worker.addZone({ name: `z${i}.spread.test`, model: "secondary", primaries: [{ address: "127.0.0.1", port: primary.port }], keys: [], notifyAllow: [], serial: 1 });
    }
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    try {
      await refresher.start();
      await waitUntil("an SOA query for every zone", () => primary.queries.length >= 60, 20_000);
      const times = primary.queries.slice(0, 60).map((q) => q.at);
      // Slots are 25 ms apart (1,475 ms from the first to the 60th): a slow machine only spreads them more,
      // and only the first query's own set-up (first socket, first lease) may shrink the span a little.
      // Unlimited, all 60 leave within a few milliseconds. How many fit in one second is the fake-clock
      // test's (serial-query-rate.test.ts): late timers can bunch slots together on a busy machine.
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1_200);
    } finally {
      await refresher.stop();
      primary.close();
    }
  });
});

describe("a NOTIFY goes ahead of routine refreshes (issue 19)", () => {
  it("with 30 zones due and one attempt at a time, the zone notified last is checked next, not 29th", async () => {
    // A primary that never answers, and says which zone each SOA query was for.
    const socket = createSocket("udp4");
    const asked: string[] = [];
    socket.on("message", (msg) => asked.push(decodeMessage(msg).questions[0]!.name.toString()));
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const worker = new MemoryWorker();
    const settings = loadConfig({
      BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789",
      BACKSTOP_POLL_INTERVAL_S: "3600",
      BACKSTOP_SOA_TIMEOUT_MS: "100",
      BACKSTOP_SOA_TRIES: "1",
      BACKSTOP_SERIAL_QUERY_RATE: "0",
      BACKSTOP_MAX_CONCURRENT_TRANSFERS: "1",
    });
    const names = Array.from({ length: 30 }, (_, i) => `z${i}.notify-first.test`);
    // Zones with data, whose refreshes begin with an SOA query.
    for (const name of names) worker.addZone({ name, model: "secondary", primaries: [{ address: "127.0.0.1", port: socket.address().port }], keys: [], notifyAllow: [], serial: 1 });
    const refresher = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    try {
      await refresher.start();
      await waitUntil("the first SOA query", () => asked.length >= 1, 20_000);
      const last = names[names.length - 1]!;
      const before = asked.length;
      refresher.get(last)!.notified("127.0.0.1", undefined);
      await waitUntil(`an SOA query for ${last}`, () => asked.some((n) => n.startsWith(last)), 30_000);
      const position = asked.findIndex((n) => n.startsWith(last));
      // Only the attempt running when the NOTIFY came (and one starting in that instant) go before it.
      expect(position, asked.join(" ")).toBeLessThanOrEqual(before + 1);
    } finally {
      await refresher.stop();
      socket.close();
    }
  });
});
