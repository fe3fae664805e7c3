/**
 * @module What the benchmarks share in one run: the Backstop stack (started once, on first use) and the
 * zones carried by Backstop and named, one per size, so benchmark 1's transfer of N records is the same
 * zone that propagation, load and IXFR later use when their size is N. Everything is stopped at the end.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { BackstopStack } from "./backstop-stack.ts";
import { startBackstopStack } from "./backstop-stack.ts";
import { describeSummary, profileWorker, summarise } from "./cpu-profile.ts";
import type { Figure } from "./figure.ts";
import type { BenchOptions } from "./options.ts";
import { setUpZone, type ZoneSetup } from "./zone-setup.ts";

/** Thrown by a benchmark that cannot run here; the message is printed and recorded as the reason. */
export class Skip extends Error {}

export interface BenchContext {
  options: BenchOptions;
  /** Where results and profiles go. */
  resultsDir: string;
  stack(): Promise<BackstopStack>;
  /** The zone of `records` records, set up (and its full transfer measured) on first use. */
  zone(records: number): Promise<ZoneSetup>;
  log(line: string): void;
  /**
   * Runs `step`; with `--profile`, profiles Backstop's Worker meanwhile through workerd's inspector,
   * writes `worker-<label>.cpuprofile` into the profile dir and logs where the time went.
   */
  profiled<T>(label: string, step: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createContext(options: BenchOptions, resultsDir: string, profileDir?: string): BenchContext {
  let stack: Promise<BackstopStack> | undefined;
  const zones = new Map<number, Promise<ZoneSetup>>();
  const log = (line: string) => console.log(line);
  const ctx: BenchContext = {
    options,
    resultsDir,
    stack() {
      stack ??= startBackstopStack(profileDir ? { cpuProfileDir: profileDir } : {});
      return stack;
    },
    zone(records) {
      let z = zones.get(records);
      if (!z) {
        z = ctx.stack().then((s) => setUpZone(s, records, log, ctx.profiled));
        zones.set(records, z);
      }
      return z;
    },
    log,
    async profiled(label, step) {
      const inspector = profileDir ? (await ctx.stack()).worker.inspector : undefined;
      if (!profileDir || !inspector) return step();
      const profiler = await profileWorker(inspector, "backstop");
      try {
        return await step();
      } finally {
        const profile = await profiler.stop();
        const file = path.join(profileDir, `worker-${label}.cpuprofile`);
        await writeFile(file, JSON.stringify(profile));
        log(`  Worker profile of ${label} (${file}):\n${describeSummary(summarise(profile))}`);
      }
    },
    async close() {
      for (const z of zones.values()) await (await z.catch(() => undefined))?.stop();
      await (await stack?.catch(() => undefined))?.stop();
    },
  };
  return ctx;
}

export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
