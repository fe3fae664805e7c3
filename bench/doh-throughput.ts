/**
 * @module Benchmark 3, DoH throughput and latency on one workerd: Backstop's Worker against the trivial
 * Worker (a fixed answer) on the same workerd process (`worker-pair.ts`), driven by the same closed-loop
 * client (`doh-load.ts`), rounds alternating trivial / Backstop. Hot names only: 16 A names of the load
 * zone, asked in turn. Target: Backstop's req/s ≥ 0.8× the trivial Worker's.
 */
import type { Benchmark } from "./context.ts";
import { dohPaths, HOT_NAMES, loadRound, summarise, type LoadRound } from "./doh-load.ts";
import { figure } from "./figure.ts";

export const ROUNDS = 3;

export const dohThroughput: Benchmark = {
  id: "doh",
  title: "DoH throughput and latency, Backstop vs a trivial Worker on the same workerd",
  async run(ctx) {
    const stack = await ctx.stack();
    const setup = await ctx.zone(ctx.options.loadRecords);
    const paths = dohPaths(setup.addressRecords(HOT_NAMES, true).map((r) => ({ owner: r.owner, type: "A" })));
    const { seconds, connections } = ctx.options;
    const maxRequests = seconds * 100_000;
    const round = (base: string, s: number) => loadRound({ base, paths, seconds: s, connections, maxRequests, workerdPid: stack.worker.workerdPid });
    // Warm both isolates and their caches (JIT, block cache, zone list) before measuring.
    await round(stack.worker.trivial, 1);
    await round(stack.worker.backstop, 1);
    const trivial: LoadRound[] = [];
    const backstop: LoadRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      trivial.push(await round(stack.worker.trivial, seconds));
      backstop.push(await ctx.profiled(`doh-${i + 1}`, () => round(stack.worker.backstop, seconds)));
      ctx.log(`  round ${i + 1}: trivial ${(trivial[i]!.requests / trivial[i]!.seconds).toFixed(0)} req/s, Backstop ${(backstop[i]!.requests / backstop[i]!.seconds).toFixed(0)} req/s`);
    }
    const t = summarise(trivial);
    const b = summarise(backstop);
    const errors = b.errors || t.errors ? `; errors: Backstop ${b.errors}, trivial ${t.errors} (workerd cancelled ${stack.worker.hungRequests()} Backstop requests as hung so far)` : "";
    const note = `${connections} connections, ${ROUNDS} × ${seconds} s rounds each, ${HOT_NAMES} hot A names${errors}`;
    const peerName = "trivial Worker";
    return [
      figure({ bench: "doh", what: "hot names: requests per second", unit: "req/s", backstop: b.perSecond, peer: t.perSecond, peerName, target: { ratioAtLeast: 0.8 }, note }),
      figure({ bench: "doh", what: "hot names: p50 latency", unit: "ms", backstop: b.p50Ms, peer: t.p50Ms, peerName }),
      figure({ bench: "doh", what: "hot names: p99 latency", unit: "ms", backstop: b.p99Ms, peer: t.p99Ms, peerName }),
    ];
  },
};
