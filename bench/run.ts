/**
 * @module `npm run bench`: every benchmark in one go, on one machine, loopback only, Backstop beside
 * knotd / named / a trivial Worker in the same run, so a noisy machine slows both sides of each ratio.
 *
 *   npm run bench -- --records 100000,1000000 --only transfer,propagation
 *
 * Benchmarks run in a fixed order (transfer first, since it builds the zones the others reuse). One that
 * cannot run here is skipped with its reason; one that fails is recorded as failed and the rest go on.
 * Results: bench/results/<date>.json, .md (also printed) and .svg (ratios). Not part of `npm test`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import path from "node:path";
import { chain } from "./chain.ts";
import { ratioChart } from "./chart.ts";
import { describeSummary, summariseDir } from "./cpu-profile.ts";
import { createContext, Skip, type Benchmark } from "./context.ts";
import { cpuPerQuery } from "./cpu-per-query.ts";
import { dohThroughput } from "./doh-throughput.ts";
import type { Figure } from "./figure.ts";
import { fullTransfer } from "./full-transfer.ts";
import { ixfrApply } from "./ixfr-apply.ts";
import { manyZones } from "./many-zones.ts";
import { parseOptions, USAGE, UsageError } from "./options.ts";
import { panelList } from "./panel-list.ts";
import { propagation } from "./propagation.ts";
import { replicaMemory } from "./replica-memory.ts";
import { machineAtStart, markdownReport, type Outcome, type RunRecord } from "./report.ts";
import { udpFront } from "./udp-front.ts";
import { xfrOut } from "./xfr-out.ts";

// xfr-out right after transfer: it serves the zones as carried, before propagation edits them.
// zones last: it leaves thousands of zones in the shared stack.
const BENCHMARKS: readonly Benchmark[] = [fullTransfer, xfrOut, propagation, dohThroughput, cpuPerQuery, udpFront, replicaMemory, ixfrApply, chain, panelList, manyZones];

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message ? `${err.message}\n\n${USAGE}` : USAGE);
    return err.message ? 2 : 0;
  }
  const started = new Date();
  const stamp = started.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const resultsDir = path.resolve(options.out);
  await mkdir(resultsDir, { recursive: true });
  const profileDir = options.profile ? path.join(resultsDir, `${stamp}-profile`) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const machine = machineAtStart();
  console.log(`bench ${stamp}: ${options.only.join(", ")}; load average ${machine.loadAverageAtStart.join(" ")}`);

  const ctx = createContext(options, resultsDir, profileDir);
  const figures: Figure[] = [];
  const outcomes: Outcome[] = [];
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error("interrupted: finishing the current step, then stopping everything (again to exit now)");
  };
  process.on("SIGINT", onSignal);
  try {
    for (const bench of BENCHMARKS) {
      if (!options.only.includes(bench.id as never) || interrupted) continue;
      console.log(`\n== ${bench.id}: ${bench.title}`);
      const t0 = performance.now();
      try {
        const got = await bench.run(ctx);
        figures.push(...got);
        outcomes.push({ bench: bench.id, status: "ran", seconds: (performance.now() - t0) / 1000 });
      } catch (err) {
        const skipped = err instanceof Skip;
        const reason = (err as Error).message;
        console.log(`${bench.id} ${skipped ? "skipped" : "FAILED"}: ${reason}`);
        if (!skipped) console.error((err as Error).stack);
        outcomes.push({ bench: bench.id, status: skipped ? "skipped" : "failed", reason, seconds: (performance.now() - t0) / 1000 });
      }
    }
  } finally {
    await ctx.close();
  }
  if (profileDir) {
    // node --cpu-prof writes the service's profile as it exits, i.e. during ctx.close().
    for (const { file, summary } of await summariseDir(profileDir)) console.log(`\ntransfer-service profile ${file}:\n${describeSummary(summary)}`);
  }

  const run: RunRecord = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
    options,
    outcomes,
    figures,
  };
  const base = path.join(resultsDir, stamp);
  const md = markdownReport(run);
  await writeFile(`${base}.json`, `${JSON.stringify(run, null, 2)}\n`);
  await writeFile(`${base}.md`, md);
  await writeFile(`${base}.svg`, ratioChart(figures, `Backstop bench ${run.startedAt}`));
  console.log(`\n${md}\nwritten: ${base}.json, .md, .svg${profileDir ? `; service CPU profile in ${profileDir}` : ""}`);
  return outcomes.some((o) => o.status === "failed") ? 1 : 0;
}

process.exitCode = await main();
