/**
 * @module What a quiet zone costs the service in memory (issue 19: "memory grows with the work in flight,
 * not with the zone count beyond a small per-zone record; measure the bytes per zone"). A zone set over the
 * in-memory Worker takes N zones as the change feed would hand them (one primary, no key, next refresh an
 * hour away, so nothing runs), and the V8 heap is read after full collections before and after: the bytes
 * per zone are what the set keeps, configuration included, garbage excluded (the bench's RSS growth counts
 * both, and the heap the collector has not given back).
 *
 * Needs `node --expose-gc`; run as a script it prints `{"zones", "heapBytesPerZone"}` as JSON
 * (`node --expose-gc --import tsx transfer-service/testing/zone-memory.ts 10000`), which the unit test and the
 * bench `zones` row both do.
 */
import { nodeHmac } from "../../dns/hmac.node.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../ops/log.ts";
import { ZoneSet } from "../zones/zone-set.ts";
import { MemoryWorker } from "./memory-worker.ts";

export async function heapBytesPerZone(zones: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "memory-measure-token", BACKSTOP_LOG_LEVEL: "warn" });
  const worker = new MemoryWorker();
  const now = Date.now();
  for (let i = 0; i < zones; i++) {
    worker.addZone({
      id: i + 1,
      name: `z${i}.many.test`,
      model: "secondary",
      primaries: [{ address: "192.0.2.53", port: 53, tsigKey: null }],
      tsigKey: null,
      keys: [],
      notifyAllow: ["198.51.100.0/24"],
      clamps: { minRefresh: 300, maxRefresh: 2_419_200, minRetry: 500, maxRetry: 1_209_600, minExpire: 3_600, maxExpire: 14_515_200 },
      serial: 1,
      status: "active",
      expiresAt: now + 86_400_000,
      lastCheckAt: now,
      nextRefreshAt: now + 3_600_000 + i,
      primarySerial: 1,
      rrsigExpiresAt: null,
      lease: null,
      limits: { maxRecords: null, maxBytes: null },
      recordCount: 4,
    });
  }
  const set = new ZoneSet({ worker, settings, log: createLogger({ level: "warn" }), hmac: nodeHmac });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  await set.poll();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  await set.stop();
  return Math.round((after - before) / zones);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const zones = Number(process.argv[2] ?? "10000");
  console.log(JSON.stringify({ zones, heapBytesPerZone: await heapBytesPerZone(zones) }));
}
