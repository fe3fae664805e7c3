/**
 * The UDP bench's warm-up round before each measured miss round (`udp-front.ts` `warmUpFile`, issue 27, session 11):
 * it must warm the front without priming what the measured round measures. Run through the front as the service
 * builds it (the dispatcher, the forward with its response cache and doorkeeper, the replica answering a generated
 * zone with the bench's seed), in process: every warm-up query is answered by the replica, none gets a cache key,
 * and afterwards the measured miss file finds the cache and its doorkeeper as a fresh front would (no answer stored,
 * none hit). The same check with the measured file itself as the warm-up fails, so it can tell.
 */
import { describe, expect, it } from "vitest";
import { Rcode } from "../dns/constants.ts";
import { Name } from "../dns/name.ts";
import { parseZoneText } from "../dns/zonefile/parser.ts";
import { encodeRecordStream } from "../contract/record-stream.ts";
import type { ZoneConfigChanges } from "../contract/internal-v1.ts";
import { queryWire } from "../dns/testing/query-wire.ts";
import { servedZoneConfig } from "../transfer-service/testing/zone-config.ts";
import { generateZone, generatedRecord, type ZoneRecord } from "../test/zones/generate.ts";
import { createLogger } from "../transfer-service/ops/log.ts";
import { Metrics } from "../transfer-service/ops/metrics.ts";
import { createDispatcher } from "../transfer-service/server/dns-dispatch.ts";
import type { RequestContext } from "../transfer-service/server/request-context.ts";
import { createQueryForwarder } from "../transfer-service/server/query/query-forward.ts";
import { readQueryShape } from "../transfer-service/server/query/query-shape.ts";
import { cacheKey, ResponseCache } from "../transfer-service/server/query/response-cache.ts";
import { ResponseRateLimiter } from "../transfer-service/server/query/rrl.ts";
import type { WorkerUpstream } from "../transfer-service/server/query/worker-upstream.ts";
import { Replica } from "../transfer-service/server/replica/replica.ts";
import { replicaAnswerer } from "../transfer-service/server/replica/replica-answer.ts";
import type { ReplicaSource } from "../transfer-service/server/replica/replica-source.ts";
import { loadConfig } from "../transfer-service/config.ts";
import { warmUpFile } from "./udp-front.ts";
import { ZONE_SEED } from "./zone-setup.ts";

const log = createLogger({ level: "silent" });
const RECORDS = 2000;
const zone = `z${RECORDS}-1.bench`;
const ctx: RequestContext = { transport: "udp", remoteAddress: "127.0.0.1", remotePort: 5353 };

/** The messages of a dnsperf binary input file (`-B`): each after a 2-octet length. */
function framed(file: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < file.length; ) {
    const length = (file[at]! << 8) | file[at + 1]!;
    out.push(file.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return out;
}

/** The measured file's queries as dnsperf sends the text file: RD set, no OPT. */
function measuredQuery(r: ZoneRecord, id: number): Uint8Array {
  const wire = queryWire(r.owner, r.type, { id, edns: false });
  wire[2]! |= 0x01;
  return wire;
}

/** The miss file's records (every generated record once, shuffled), as the bench's zone setup makes them. */
function missRecords(): ZoneRecord[] {
  return Array.from({ length: RECORDS - 3 }, (_, i) => generatedRecord(zone, ZONE_SEED, (i * 7919) % (RECORDS - 3)));
}

/** The front as the service builds it, answering the zone from its replica, with the cache to look into. */
async function front() {
  const stream = encodeRecordStream(parseZoneText(generateZone({ origin: zone, records: RECORDS, seed: ZONE_SEED, serial: 1 }), { origin: Name.parse(`${zone}.`), defaultTtl: 3600 }));
  const source: ReplicaSource = {
    zoneChanges: async (): Promise<ZoneConfigChanges> => ({
      zones: [servedZoneConfig({ id: 1, name: zone, recordCount: RECORDS })],
      keys: [],
      deleted: [],
      cursor: { since: 1, deletes: 0 },
      more: false,
      resync: false,
    }),
    versionRecords: async () => stream,
    close: async () => undefined,
  };
  // A clock that stands still: the feed read vouches for the directory however long a slow machine takes.
  const clock = Date.now();
  const now = () => clock;
  const replica = new Replica({ source, log, maxRecords: 1_000_000, maxBytes: 2 ** 28, pollMs: 3_600_000, now });
  await replica.poll();
  try {
    replica.resolve(Name.parse(`${zone}.`));
  } catch {
    // The first ask of the zone starts its load.
  }
  await replica.settled();
  const config = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "bench-warm-up-test-token", BACKSTOP_RRL_EXEMPT: "127.0.0.0/8" });
  const metrics = new Metrics({ defaultMetrics: false });
  const cache = new ResponseCache({ maxEntries: config.front.cacheEntries, ttlMs: config.front.cacheTtlMs });
  const handler = createDispatcher({
    notify: () => Promise.reject(new Error("no NOTIFY here")),
    front: {
      forward: createQueryForwarder({
        upstream: { pool: undefined, dohPath: "/dns-query" } as unknown as WorkerUpstream,
        internalToken: config.internalToken,
        timeoutMs: config.front.timeoutMs,
        maxInFlight: config.front.maxInFlight,
        cache,
        metrics,
        log,
        local: replicaAnswerer(replica, log, now),
      }),
      rrl: new ResponseRateLimiter({ ...config.rrl, log, metrics }),
    },
    metrics,
  });
  /** The reply to `wire`, which must come at once (the replica's), never from the Worker (there is none). */
  const ask = (wire: Uint8Array): Uint8Array => {
    const reply = handler(wire, ctx);
    if (!(reply instanceof Uint8Array)) throw new Error("the front did not answer from its replica at once");
    return reply;
  };
  return { ask, cache, stop: () => replica.stop() };
}

describe("the UDP bench's warm-up round before the measured miss round", () => {
  const records = missRecords();
  const warm = framed(warmUpFile(records));

  it("asks the measured file's questions, in its order, each with an EDNS EXPIRE option and so no cache key", () => {
    expect(warm).toHaveLength(records.length);
    for (let i = 0; i < records.length; i++) {
      const shape = readQueryShape(warm[i]!);
      const measured = measuredQuery(records[i]!, i);
      const measuredShape = readQueryShape(measured);
      expect(shape.qdcount).toBe(1);
      expect(shape.edns?.expire).toBe(true);
      expect(shape.qtype).toBe(measuredShape.qtype);
      expect(warm[i]!.subarray(12, shape.qnameEnd)).toEqual(measured.subarray(12, measuredShape.qnameEnd));
      expect(warm[i]![2]! & 0x01).toBe(1); // RD, as dnsperf sets it for the measured file
      expect(cacheKey(warm[i]!, shape, "udp")).toBeUndefined();
      expect(cacheKey(measured, measuredShape, "udp")).toBeDefined();
    }
  });

  it("is answered in full by the replica and leaves the response cache and its doorkeeper as they were for the measured round", async () => {
    const f = await front();
    try {
      // Twice over: a doorkeeper that had seen a key would store its answer the second time.
      for (let pass = 0; pass < 2; pass++) {
        for (const wire of warm) {
          const reply = f.ask(wire);
          expect(reply[3]! & 0x0f).toBe(Rcode.NOERROR);
          expect(reply[2]! & 0x04).toBe(0x04); // AA: the zone's own answer
        }
      }
      expect(f.cache.stats).toMatchObject({ hits: 0, stores: 0, size: 0 });
      // The measured round, once each: a fresh front's doorkeeper stores nothing (each key asked once) and the
      // cache answers nothing: every answer is made by the engine again.
      records.forEach((r, i) => f.ask(measuredQuery(r, i)));
      expect(f.cache.stats).toMatchObject({ hits: 0, stores: 0 });
    } finally {
      await f.stop();
    }
  });

  it("would be seen to prime the measured round if it asked the measured questions themselves (the check can tell)", async () => {
    const f = await front();
    try {
      records.forEach((r, i) => f.ask(measuredQuery(r, i)));
      expect(f.cache.stats.stores).toBe(0);
      records.forEach((r, i) => f.ask(measuredQuery(r, i)));
      expect(f.cache.stats.stores).toBeGreaterThan(records.length / 2);
    } finally {
      await f.stop();
    }
  });
});
