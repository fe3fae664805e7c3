/**
 * @module The transfer-service's own memory while it carries one large zone (issue 5: peak RSS ≤ 256 MiB
 * during a 1M-record AXFR), measured apart from everything else: knotd serves the zone, the service runs as
 * its own process (`backstop-stack.ts`) and nothing else transfers meanwhile. The peak is the kernel's
 * VmHWM of the service process (/proc/<pid>/status: the exact high-water mark, not a sample); VmRSS is also
 * sampled every 20 ms from the moment the zone is added, to tell the transfer's peak from start-up's.
 *
 * With the port-53 replica on (the default), the clock runs on until the replica holds the version (its
 * `/metrics` load count goes up, issue 27), since the service packs the zone for it around the commit; the
 * line then splits the sampled peak into before the commit and after it, and gives the service's CPU time
 * (issue 28, session 8). `BENCH_HEAP=1` also reads the service's V8 heap and external (ArrayBuffer) memory
 * from `/metrics` every 250 ms and prints their peaks; `BENCH_PROFILE_DIR=dir` runs the service under
 * `node --cpu-prof` (the profile is written there when it stops).
 *
 * `npx tsx bench/service-rss.ts [records]` (default 1,000,000). Prints one line; exits 1 over the target.
 * The whole benchmark (`npm run bench`) reports the same peak beside named's, measured while named also runs.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startKnotd } from "../test/peers/knotd.ts";
import type { TsigKey } from "../test/peers/types.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";
import { writeZoneFile } from "../test/zones/generate.ts";
import { startBackstopStack } from "./backstop-stack.ts";
import { cpuMs, MiB, sampleRss, statusBytes } from "./proc.ts";
import { transferBudgetMs } from "./zone-setup.ts";

const TARGET_MIB = 256;
const records = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(records) || records < 100 || records > 10_000_000) {
  console.error("usage: npx tsx bench/service-rss.ts [records: 100 to 10000000]");
  process.exit(2);
}

const zone = "rss.bench";
const key: TsigKey = { name: "rss-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };

/** Carries the zone once; returns the service's peak RSS in MiB. */
async function measure(): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-rss-"));
  const file = path.join(dir, "zone");
  await writeZoneFile(file, { origin: zone, records, seed: 7, serial: 1 });
  const knotd = await startKnotd({ keys: [key], zones: [{ name: zone, file, transferKey: key.name }], startTimeoutMs: transferBudgetMs(records) });
  const stack = await startBackstopStack(process.env.BENCH_PROFILE_DIR ? { cpuProfileDir: process.env.BENCH_PROFILE_DIR } : {});
  try {
    const pid = stack.servicePid;
    const idle = statusBytes(pid, "VmRSS") ?? 0;
    await stack.addTsigKey(key);
    const loads = async (): Promise<number> => {
      let n = 0;
      for (const m of (await stack.metrics()).matchAll(/^backstop_replica_load_seconds_count\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
      return n;
    };
    const replicaOn = process.env.BACKSTOP_REPLICA_MAX_BYTES !== "0";
    const loadsBefore = replicaOn ? await loads() : 0;
    const gauge = (text: string, name: string) => Number(new RegExp(`^backstop_${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.[1] ?? 0);
    const idleText = process.env.BENCH_HEAP ? await stack.metrics() : "";
    const heap = { idleUsed: gauge(idleText, "nodejs_heap_size_used_bytes"), idleExternal: gauge(idleText, "nodejs_external_memory_bytes"), used: 0, external: 0, total: 0 };
    const spaces = new Map<string, number>();
    const heapTimer = process.env.BENCH_HEAP
      ? setInterval(() => {
          void stack
            .metrics()
            .then((text) => {
              heap.used = Math.max(heap.used, gauge(text, "nodejs_heap_size_used_bytes"));
              heap.external = Math.max(heap.external, gauge(text, "nodejs_external_memory_bytes"));
              heap.total = Math.max(heap.total, gauge(text, "nodejs_heap_size_total_bytes"));
              for (const m of text.matchAll(/^backstop_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)) spaces.set(m[1]!, Math.max(spaces.get(m[1]!) ?? 0, Number(m[2])));
            })
            .catch(() => undefined);
        }, 250)
      : undefined;
    const cpu0 = cpuMs(pid);
    const sampler = sampleRss(pid);
    const started = performance.now();
    await stack.addZone(zone, knotd.port, key);
    // A busy workerd may drop a poll now and then: ask again.
    const transferred = async () => (await stack.serial(zone).catch(() => undefined)) === 1;
    await waitFor(`${zone} at serial 1`, transferred, transferBudgetMs(records)).catch(async (err: Error) => {
      const view = await stack.api("GET", `/zones/${zone}`).catch(() => ({}));
      throw new Error(`${err.message}; zone: ${JSON.stringify(view)}\nservice output:\n${stack.serviceOutput().slice(-3000)}`);
    });
    const seconds = (performance.now() - started) / 1000;
    const beforeCommit = sampler.stop();
    let replica = "";
    if (replicaOn) {
      const after = sampleRss(pid);
      const at = performance.now();
      const loaded = await waitFor("the replica's load", async () => (await loads()) > loadsBefore, 30_000).then(
        () => true,
        () => false,
      );
      replica = `; after the commit (until the replica ${loaded ? `held it, ${Math.round(performance.now() - at)} ms` : "did not load it in 30 s"}) ${(after.stop() / MiB).toFixed(0)} MiB`;
    }
    if (heapTimer) clearInterval(heapTimer);
    const cpu = (cpuMs(pid) - cpu0) / 1000;
    const hwm = statusBytes(pid, "VmHWM") ?? 0;
    console.log(
      `AXFR of ${records.toLocaleString("en")} records from knotd into the local stack: ${seconds.toFixed(1)} s ` +
        `(${Math.round(records / seconds).toLocaleString("en")} records/s); transfer-service CPU ${cpu.toFixed(2)} s; RSS: idle ${(idle / MiB).toFixed(0)} MiB, ` +
        `peak ${(hwm / MiB).toFixed(0)} MiB (VmHWM; sampled until the commit ${(beforeCommit / MiB).toFixed(0)} MiB${replica})` +
        (heapTimer ? `; V8 heap used ${(heap.idleUsed / MiB).toFixed(0)} MiB idle, ≤ ${(heap.used / MiB).toFixed(0)} MiB; external ${(heap.idleExternal / MiB).toFixed(0)} MiB idle, ≤ ${(heap.external / MiB).toFixed(0)} MiB; heap committed ≤ ${(heap.total / MiB).toFixed(0)} MiB (${[...spaces].filter(([, b]) => b >= MiB).map(([k, b]) => `${k} ${(b / MiB).toFixed(0)}`).join(", ")})` : "") +
        `, target ≤ ${TARGET_MIB} MiB`,
    );
    if (process.env.BENCH_SHOW_OUTPUT) console.log(stack.serviceOutput());
    return hwm / MiB;
  } finally {
    await stack.stop();
    await knotd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit((await measure()) > TARGET_MIB ? 1 : 0);
