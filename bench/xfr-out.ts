/**
 * @module Benchmark 7, AXFR out (issue #21): Backstop as a primary. For each size of `--records`, the zone
 * benchmark 1 carried into Backstop (knotd → Backstop) is opened to transfers from 127.0.0.1 with its key
 * (`PATCH /api/v1/zones/…` transferAllow), and real `kdig` takes it by AXFR over TCP from Backstop's DNS
 * port, from knotd (its primary) and from named serving the same generated file as a primary: 3 rounds
 * each, interleaved, median time from kdig's start to its exit (`kdig-axfr.ts`). Meanwhile /proc charges
 * the CPU of each server (the transfer-service and workerd for Backstop: the Worker streams the records
 * out of D1, the service packs and signs the messages) and samples the service's peak RSS.
 * Targets: time ≤ 1.5× knotd; the service's RSS ≤ 256 MiB.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startNamed } from "../test/peers/named.ts";
import { writeZoneFile } from "../test/zones/generate.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";
import type { Benchmark } from "./context.ts";
import { figure, percentile, type Figure } from "./figure.ts";
import { timedAxfr, type TimedAxfr } from "./kdig-axfr.ts";
import { cpuMeter, MiB, sampleRss } from "./proc.ts";
import { transferBudgetMs, ZONE_SEED } from "./zone-setup.ts";

const ROUNDS = 3;

/** kdig's wait for one transfer: 30 s plus 0.1 ms per record (1M records: 130 s). */
const axfrBudgetMs = (records: number) => 30_000 + records / 10;

interface Side {
  runs: TimedAxfr[];
  cpuMs: number[];
}

const median = (xs: readonly number[]) => percentile(xs, 50);

export const xfrOut: Benchmark = {
  id: "xfr-out",
  title: "AXFR out to kdig: Backstop vs its knotd primary and named, same zone",
  async run(ctx) {
    const stack = await ctx.stack();
    const figures: Figure[] = [];
    for (const records of ctx.options.records) {
      const setup = await ctx.zone(records);
      const { zone, key } = setup;
      await stack.api("PATCH", `/zones/${zone}`, { transferAllow: [{ address: "127.0.0.1", tsigKey: key.name }] });
      const budget = axfrBudgetMs(records);
      // The service learns the new transferAllow from the Worker; until then it refuses.
      await waitFor(
        `Backstop serving AXFR of ${zone}`,
        async () => (await timedAxfr(stack.dnsPort, zone, key, budget).catch(() => undefined)) !== undefined,
        60_000,
      );

      const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-xfr-out-"));
      const file = path.join(dir, "zone");
      await writeZoneFile(file, { origin: zone, records, seed: ZONE_SEED, serial: 1 });
      const named = await startNamed({ keys: [key], zones: [{ name: zone, file, transferKey: key.name }], startTimeoutMs: transferBudgetMs(records) });
      try {
        const sides = { backstop: { runs: [], cpuMs: [] } as Side, knotd: { runs: [], cpuMs: [] } as Side, named: { runs: [], cpuMs: [] } as Side };
        const workerdCpu: number[] = [];
        let servicePeak = 0;
        for (let round = 0; round < ROUNDS; round++) {
          {
            const cpu = cpuMeter([stack.servicePid, stack.worker.workerdPid]);
            const rss = sampleRss(stack.servicePid);
            const run = await ctx.profiled(`xfr-out-${records}-${round}`, () => timedAxfr(stack.dnsPort, zone, key, budget));
            const [service, workerd] = cpu.stop() as [number, number];
            servicePeak = Math.max(servicePeak, rss.stop());
            sides.backstop.runs.push(run);
            sides.backstop.cpuMs.push(service);
            workerdCpu.push(workerd);
          }
          for (const [side, peer] of [
            [sides.knotd, setup.knotd],
            [sides.named, named],
          ] as const) {
            const cpu = cpuMeter([peer.pid]);
            side.runs.push(await timedAxfr(peer.port, zone, key, budget));
            side.cpuMs.push((cpu.stop() as [number])[0]);
          }
          const ms = (s: Side) => `${(s.runs.at(-1)!.ms / 1000).toFixed(2)} s`;
          ctx.log(`  ${zone} round ${round + 1}/${ROUNDS}: Backstop ${ms(sides.backstop)}, knotd ${ms(sides.knotd)}, named ${ms(sides.named)}`);
        }
        for (const [name, side] of Object.entries(sides)) {
          const counts = new Set(side.runs.map((r) => r.records));
          if (counts.size !== 1 || !counts.has(records + 1)) throw new Error(`${name} handed out ${[...counts].join("/")} records of ${zone}, not ${records + 1}`);
        }
        const time = (s: Side) => median(s.runs.map((r) => r.ms)) / 1000;
        const cpuS = (xs: number[]) => median(xs) / 1000;
        const n = records.toLocaleString("en");
        const b = sides.backstop.runs[0]!;
        const wire = `${(b.bytes / MiB).toFixed(1)} MiB in ${b.messages} messages from Backstop (knotd ${sides.knotd.runs[0]!.messages}, named ${sides.named.runs[0]!.messages})`;
        figures.push(
          figure({
            bench: "xfr-out",
            what: `${n} records: AXFR to kdig, time to last byte`,
            unit: "s",
            backstop: time(sides.backstop),
            peer: time(sides.knotd),
            peerName: "knotd",
            target: { ratioAtMost: 1.5 },
            note: `median of ${ROUNDS}; ${wire}; TSIG hmac-sha256 on every side`,
          }),
          figure({
            bench: "xfr-out",
            what: `${n} records: AXFR to kdig, time to last byte, vs named`,
            unit: "s",
            backstop: time(sides.backstop),
            peer: time(sides.named),
            peerName: "named",
            note: `median of ${ROUNDS}; named serves the same generated file as a primary`,
          }),
          figure({
            bench: "xfr-out",
            what: `${n} records: CPU per AXFR out, transfer-service + workerd vs knotd`,
            unit: "s",
            backstop: cpuS(sides.backstop.cpuMs) + cpuS(workerdCpu),
            peer: cpuS(sides.knotd.cpuMs),
            peerName: "knotd",
            note: `medians: transfer-service ${cpuS(sides.backstop.cpuMs).toFixed(2)} s, workerd (Worker + local D1) ${cpuS(workerdCpu).toFixed(2)} s; named ${cpuS(sides.named.cpuMs).toFixed(2)} s`,
          }),
          figure({
            bench: "xfr-out",
            what: `${n} records: transfer-service peak RSS during AXFR out`,
            unit: "MiB",
            backstop: servicePeak / MiB,
            target: { valueAtMost: 256 },
            note: "VmRSS sampled every 20 ms over the Backstop rounds",
          }),
        );
      } finally {
        await named.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
    return figures;
  },
};
