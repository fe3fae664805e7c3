/**
 * @module Benchmark 6, IXFR apply time: a changeset of `--ixfr-changes` records (default 1,000) on a zone
 * of `--ixfr-records` (default 1M) on knotd. Each change adds a second address (198.18.0.0/15, RFC 2544's
 * benchmarking range) to an existing A RRset; the RRsets are spread evenly over the zone, so the change
 * touches many places (blocks, for Backstop) rather than one. All changes are one knotc transaction; the
 * clock starts before `zone-commit`, after which knotd NOTIFYs both secondaries, and stops when each
 * answers the last change (both publish an IXFR atomically, so the last is as good as any). A first and
 * a middle change are then checked too. The D1 rows the Worker read and wrote for it come from the service's
 * `backstop_ixfr_d1_rows_total` (issue 28: D1 bills by rows), and which way the Worker stored it from
 * `backstop_ixfr_nodes_total` (session 10: the changed nodes the service's replica computed, or block reads).
 */
import { RRType } from "../dns/constants.ts";
import { dohAnswers, udpAnswers, untilAnswered } from "./answer-probe.ts";
import type { Benchmark } from "./context.ts";
import { figure } from "./figure.ts";
import { commitEdits, stageEdits } from "./knot-edit.ts";
import { cpuMeter } from "./proc.ts";
import { transferBudgetMs } from "./zone-setup.ts";

/** `backstop_ixfr_d1_rows_total` by direction, from the service's metrics text (0 when absent). */
function d1Rows(metrics: string): { read: number; written: number } {
  const value = (direction: string) => Number(new RegExp(`^backstop_ixfr_d1_rows_total\\{direction="${direction}"\\} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
  return { read: value("read"), written: value("written") };
}

/** `backstop_ixfr_nodes_total` by path (issue 28, session 10: the replica's changed nodes, or the Worker's block reads). */
function nodesPaths(metrics: string): { replica: number; worker: number } {
  const value = (path: string) => Number(new RegExp(`^backstop_ixfr_nodes_total\\{path="${path}"\\} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
  return { replica: value("replica"), worker: value("worker") };
}

const addressOf = (k: number) => `198.${18 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;

export const ixfrApply: Benchmark = {
  id: "ixfr",
  title: "IXFR apply: knotd changeset commit → last change answered",
  async run(ctx) {
    const stack = await ctx.stack();
    const setup = await ctx.zone(ctx.options.ixfrRecords);
    const targets = setup.addressRecords(ctx.options.ixfrChanges, true);
    if (targets.length < ctx.options.ixfrChanges) throw new Error(`only ${targets.length} A records to change`);
    await stageEdits(
      setup.knotd,
      setup.zone,
      targets.map((r, k) => ({ op: "set" as const, owner: r.owner, ttl: r.ttl, type: "A", data: addressOf(k) })),
    );
    const last = targets.length - 1;
    const probe = targets[last]!;
    const timeoutMs = transferBudgetMs(setup.records);
    const metricsBefore = await stack.metrics();
    const rowsBefore = d1Rows(metricsBefore);
    const pathsBefore = nodesPaths(metricsBefore);
    const cpu = cpuMeter([stack.servicePid, stack.worker.workerdPid, setup.named.pid]);
    const [namedMs, backstopMs] = await ctx.profiled("ixfr", async () => {
      const since = performance.now();
      await commitEdits(setup.knotd, setup.zone);
      return Promise.all([
        untilAnswered(() => udpAnswers(setup.named.port, probe.owner, RRType.A), addressOf(last), { since, timeoutMs, what: "named IXFR" }),
        untilAnswered(() => dohAnswers(stack.worker.backstop, probe.owner, RRType.A), addressOf(last), { since, timeoutMs, what: "Backstop IXFR" }),
      ]);
    });
    const [serviceCpu, workerdCpu, namedCpu] = cpu.stop() as [number, number, number];
    const metricsAfter = await stack.metrics();
    const rowsAfter = d1Rows(metricsAfter);
    const pathsAfter = nodesPaths(metricsAfter);
    const path = pathsAfter.replica > pathsBefore.replica ? "the replica's changed nodes" : pathsAfter.worker > pathsBefore.worker ? "the Worker's block reads" : "unknown";
    const rows = { read: rowsAfter.read - rowsBefore.read, written: rowsAfter.written - rowsBefore.written };
    for (const k of [0, Math.floor(last / 2)]) {
      const owner = targets[k]!.owner;
      const [n, b] = await Promise.all([udpAnswers(setup.named.port, owner, RRType.A), dohAnswers(stack.worker.backstop, owner, RRType.A)]);
      if (!n.includes(addressOf(k)) || !b.includes(addressOf(k))) throw new Error(`change ${k} (${owner}) missing after the last one arrived: named ${JSON.stringify(n)}, Backstop ${JSON.stringify(b)}`);
    }
    ctx.log(`  named ${namedMs.toFixed(0)} ms, Backstop ${backstopMs.toFixed(0)} ms`);
    return [
      figure({
        bench: "ixfr",
        what: `${targets.length.toLocaleString("en")}-record changeset on ${setup.records.toLocaleString("en")} records: commit → answered`,
        unit: "s",
        backstop: backstopMs / 1000,
        peer: namedMs / 1000,
        peerName: "named",
        note:
          `CPU until both answered: transfer-service ${(serviceCpu / 1000).toFixed(2)} s, workerd ${(workerdCpu / 1000).toFixed(2)} s, named ${(namedCpu / 1000).toFixed(2)} s; ` +
          `D1 rows for the IXFR: ${rows.read.toLocaleString("en")} read, ${rows.written.toLocaleString("en")} written; stored from ${path}`,
      }),
    ];
  },
};
