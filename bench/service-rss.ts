/**
 * @module The transfer-service's own memory while it carries one large zone (issue 5: peak RSS ≤ 256 MiB
 * during a 1M-record AXFR), measured apart from everything else: knotd serves the zone, the service runs as
 * its own process (`backstop-stack.ts`) and nothing else transfers meanwhile. The peak is the kernel's
 * VmHWM of the service process (/proc/<pid>/status: the exact high-water mark, not a sample); VmRSS is also
 * sampled every 20 ms from the moment the zone is added, to tell the transfer's peak from start-up's.
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
import { MiB, sampleRss, statusBytes } from "./proc.ts";
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
  const stack = await startBackstopStack();
  try {
    const pid = stack.servicePid;
    const idle = statusBytes(pid, "VmRSS") ?? 0;
    await stack.addTsigKey(key);
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
    const sampled = sampler.stop();
    const hwm = statusBytes(pid, "VmHWM") ?? 0;
    console.log(
      `AXFR of ${records.toLocaleString("en")} records from knotd into the local stack: ${seconds.toFixed(1)} s ` +
        `(${Math.round(records / seconds).toLocaleString("en")} records/s); transfer-service RSS: idle ${(idle / MiB).toFixed(0)} MiB, ` +
        `peak ${(hwm / MiB).toFixed(0)} MiB (VmHWM; sampled ${(sampled / MiB).toFixed(0)} MiB), target ≤ ${TARGET_MIB} MiB`,
    );
    return hwm / MiB;
  } finally {
    await stack.stop();
    await knotd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exit((await measure()) > TARGET_MIB ? 1 : 0);
