/**
 * @module AXFR rate and memory of the transfer client: knotd serves a generated zone of N records
 * (TSIG hmac-sha256), and `transfer()` streams it into a sink that counts and drops records, so the figure
 * is the client's own (socket, framing, TSIG, decode, chunking), the ceiling for any store behind it.
 * Peak RSS is sampled every 20 ms during the transfer. The sink takes the zone as record streams, as the
 * Worker client does (`axfr-raw.ts`); `BENCH_SINK=objects` makes it take record objects (the older path),
 * and the CPU time of the process is printed, so the two can be compared in one session.
 *
 *   npx tsx bench/transfer-axfr.ts 100000 1000000
 *   BENCH_SINK=objects npx tsx bench/transfer-axfr.ts 1000000
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { nodeHmac } from "../dns/hmac.node.ts";
import type { ResourceRecord } from "../dns/message.ts";
import { Name } from "../dns/name.ts";
import { prepareTsigKey } from "../dns/tsig/key.ts";
import { startKnotd } from "../test/peers/index.ts";
import type { TsigKey } from "../test/peers/types.ts";
import { writeZoneFile } from "../test/zones/generate.ts";
import { transfer, type XfrSink } from "../transfer-service/remote/xfr-in.ts";

const count = { n: 0 };

/** Counts records and keeps none. */
class DroppingSink implements XfrSink {
  readonly rawChunkBytes = 1024 * 1024;
  rawRecords? = async (_stream: Uint8Array, records: number): Promise<void> => {
    count.n += records;
  };
  async beginFull(): Promise<void> {}
  async beginIncremental(): Promise<void> {}
  async beginChangeset(): Promise<void> {}
  async beginAdditions(): Promise<void> {}
  async records(chunk: ResourceRecord[]): Promise<void> {
    count.n += chunk.length;
  }
  async end(): Promise<void> {}
}

async function run(records: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-"));
  const zone = "bench.test.";
  const key: TsigKey = { name: "bench.key.", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
  try {
    const file = path.join(dir, "bench.zone");
    await writeZoneFile(file, { origin: zone, records, seed: 1, serial: 1 });
    const peer = await startKnotd({ zones: [{ name: zone, file, transferKey: key.name }], keys: [key], startTimeoutMs: 300_000 });
    try {
      const prepared = await prepareTsigKey(key, nodeHmac);
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      count.n = 0;
      const sink = new DroppingSink();
      if (process.env.BENCH_SINK === "objects") sink.rawRecords = undefined;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const result = await transfer({
        kind: "axfr",
        zone: Name.parse(zone),
        primary: { address: peer.address, port: peer.port, key: prepared },
        sink,
        limits: { connectTimeoutMs: 5000, idleTimeoutMs: 60_000, totalTimeoutMs: 3_600_000, maxRecords: 50_000_000, maxBytes: 2 ** 40, chunkRecords: 2000 },
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0);
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      console.log(
        JSON.stringify({
          records,
          received: result.records,
          sunk: count.n,
          messages: result.messages,
          bytes: result.bytes,
          seconds: Number(seconds.toFixed(3)),
          recordsPerSecond: Math.round(result.records / seconds),
          sink: sink.rawRecords ? "stream" : "objects",
          cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
          rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
          peakRssMiB: Math.round(peak / 2 ** 20),
        }),
      );
    } finally {
      await peer.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n >= 3);
for (const n of sizes.length ? sizes : [100_000]) await run(n);
