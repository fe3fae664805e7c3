/**
 * @module Benchmark 4, CPU per query: workerd's own CPU time (utime + stime of the process, from
 * /proc/<pid>/stat) over a load round, divided by the queries answered. Measured from outside because
 * workerd's clocks stand still while a request computes. Backstop's Worker and the trivial Worker share
 * the workerd (`worker-pair.ts`), so their difference is what Backstop's own code costs per query.
 *
 * Two mixes, reported apart:
 * - hot: 16 A names asked over and over (isolate caches warm). Target ≤ 0.3 ms per query.
 * - miss: first the zone gets a new version (one edit on knotd, waited for), so every per-version range
 *   the isolate knew is gone; then every record of the zone is asked exactly once, in a seeded random
 *   order, so each query is of a name never asked before at that version, and the first query into each
 *   block reads D1. The trivial Worker gets the same requests. Target ≤ 0.5 ms per query, local D1's CPU
 *   included (issue 28). Beside it, the D1 statements and rows read per query, from the Worker's own counts
 *   (`/internal/v1/answer-stats`): rows read are what D1 bills on Cloudflare.
 * With `--profile`, a further miss round on names not asked yet is profiled apart (`cpu-miss`).
 */
import { RRType } from "../dns/constants.ts";
import { dohAnswers, untilAnswered } from "./answer-probe.ts";
import type { BackstopStack } from "./backstop-stack.ts";
import type { Benchmark } from "./context.ts";
import { dohPaths, HOT_NAMES, loadRound, summarise, type LoadRound } from "./doh-load.ts";
import { figure } from "./figure.ts";
import { commitEdits, stageEdits } from "./knot-edit.ts";
import { ZONE_SEED } from "./zone-setup.ts";

const ROUNDS = 2;

interface AnswerStats {
  d1: { statements: number; blockStatements: number; rowsRead: number };
}

/** The Worker's answer-path counts (`workers/doh/answer-stats.ts`), read with the admin token. */
async function answerStats(stack: BackstopStack): Promise<AnswerStats> {
  const res = await fetch(`${stack.worker.backstop}/internal/v1/answer-stats`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  if (!res.ok) throw new Error(`/internal/v1/answer-stats answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AnswerStats;
}

export const cpuPerQuery: Benchmark = {
  id: "cpu",
  title: "workerd CPU per query (from /proc), Backstop vs the trivial Worker",
  async run(ctx) {
    const stack = await ctx.stack();
    const setup = await ctx.zone(ctx.options.loadRecords);
    const { seconds, connections } = ctx.options;
    const pid = stack.worker.workerdPid;
    const round = (base: string, paths: string[], s: number, maxRequests: number) => loadRound({ base, paths, seconds: s, connections, maxRequests, workerdPid: pid });

    const hot = dohPaths(setup.addressRecords(HOT_NAMES, true).map((r) => ({ owner: r.owner, type: "A" })));
    await round(stack.worker.trivial, hot, 1, 1e6);
    await round(stack.worker.backstop, hot, 1, 1e6);
    const hotTrivial: LoadRound[] = [];
    const hotBackstop: LoadRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      hotTrivial.push(await round(stack.worker.trivial, hot, seconds, seconds * 100_000));
      hotBackstop.push(await round(stack.worker.backstop, hot, seconds, seconds * 100_000));
    }

    // A new version: one edit, waited for over DoH.
    const [bumped] = setup.addressRecords(1);
    if (!bumped) throw new Error("the load zone has no A record");
    const address = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    await stageEdits(setup.knotd, setup.zone, [
      { op: "unset", owner: bumped.owner, type: "A" },
      { op: "set", owner: bumped.owner, ttl: bumped.ttl, type: "A", data: address },
    ]);
    const since = performance.now();
    await commitEdits(setup.knotd, setup.zone);
    await untilAnswered(() => dohAnswers(stack.worker.backstop, bumped.owner, RRType.A), address, { since, timeoutMs: 60_000, what: "version bump" });

    const miss = dohPaths(setup.shuffledRecords(ZONE_SEED).map((r) => ({ owner: r.owner, type: r.type })));
    // Each name once: as many requests as names, within a generous time bound. The Worker's own counts
    // around it give the D1 statements and rows read (what D1 bills) per query.
    const statsBefore = await answerStats(stack);
    const missBackstop = await round(stack.worker.backstop, miss, seconds * 6, miss.length);
    const statsAfter = await answerStats(stack);
    const d1Statements = (statsAfter.d1.statements - statsBefore.d1.statements) / missBackstop.requests;
    const d1Rows = (statsAfter.d1.rowsRead - statsBefore.d1.rowsRead) / missBackstop.requests;
    const blockStatements = statsAfter.d1.blockStatements - statsBefore.d1.blockStatements;
    const missTrivial = await round(stack.worker.trivial, miss, seconds * 6, missBackstop.requests);
    if (ctx.options.profile && missBackstop.requests < miss.length) {
      // Where a miss's time goes: a further round, profiled, on names not asked yet (the profiler would
      // slow the measured round above, so it is kept apart from it).
      const rest = miss.slice(missBackstop.requests);
      await ctx.profiled("cpu-miss", () => round(stack.worker.backstop, rest, seconds, rest.length));
    }

    const hb = summarise(hotBackstop);
    const ht = summarise(hotTrivial);
    const mb = summarise([missBackstop]);
    const mt = summarise([missTrivial]);
    ctx.log(`  hot: Backstop ${hb.cpuMsPerQuery.toFixed(3)} ms/query, trivial ${ht.cpuMsPerQuery.toFixed(3)}; miss: Backstop ${mb.cpuMsPerQuery.toFixed(3)}, trivial ${mt.cpuMsPerQuery.toFixed(3)} (${mb.requests} names, ${mb.errors} errors); D1 per miss query: ${d1Statements.toFixed(3)} statements, ${d1Rows.toFixed(2)} rows read`);
    const peerName = "trivial Worker";
    return [
      figure({
        bench: "cpu",
        what: "hot names: workerd CPU per query",
        unit: "ms",
        backstop: hb.cpuMsPerQuery,
        peer: ht.cpuMsPerQuery,
        peerName,
        target: { valueAtMost: 0.3 },
        note: `${hb.requests} and ${ht.requests} queries (${hb.errors} Backstop errors); includes workerd's HTTP work, which is all the trivial figure is`,
      }),
      figure({
        bench: "cpu",
        what: "cache-miss mix: D1 rows read per query",
        unit: "rows",
        backstop: d1Rows,
        note: `meta.rows_read summed by the Worker (/internal/v1/answer-stats), what D1 bills reads by; ${d1Statements.toFixed(3)} D1 statements per query (${statsAfter.d1.statements - statsBefore.d1.statements} for ${missBackstop.requests} queries, ${blockStatements} of them for blocks, the rest zone lookups and change-log polls)`,
      }),
      figure({
        bench: "cpu",
        what: "cache-miss mix: workerd CPU per query",
        unit: "ms",
        backstop: mb.cpuMsPerQuery,
        peer: mt.cpuMsPerQuery,
        peerName,
        target: { valueAtMost: 0.5 },
        note: `new version, then ${mb.requests} distinct names of a ${setup.records.toLocaleString("en")}-record zone once each (local D1 runs inside workerd, so its SQLite CPU is counted); ${mb.perSecond.toFixed(0)} req/s, p99 ${mb.p99Ms.toFixed(1)} ms, ${mb.errors} errors`,
      }),
    ];
  },
};
