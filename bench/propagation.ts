/**
 * @module Benchmark 2, change propagation: `--changes` single-record edits on knotd, one after another.
 * Each edit replaces the address of one A record (a knotc transaction: unset the RRset, set the new
 * address); the clock starts just before `zone-commit`, after which knotd NOTIFYs both secondaries, and
 * runs until each answers the new address: named over UDP, Backstop over DoH, both asked every 10 ms.
 * Beside it, the time until the new serial shows in D1 (read directly, past the Worker), which splits Backstop's
 * time into transfer + commit and the answer path's caches. Targets: Backstop's p99 ≤ 1 s and ≤ 2× named's.
 */
import { RRType } from "../dns/constants.ts";
import { dohAnswers, udpAnswers, untilAnswered } from "./answer-probe.ts";
import type { Benchmark } from "./context.ts";
import { figure, percentile } from "./figure.ts";
import { commitEdits, stageEdits } from "./knot-edit.ts";

/** A fresh TEST-NET-2 address for edit k (RFC 5737), never one the generated zone uses (10/8). */
const addressOf = (k: number) => `198.51.${100 + Math.floor(k / 256)}.${k % 256}`;

export const propagation: Benchmark = {
  id: "propagation",
  title: "Change propagation: knotd edit → NOTIFY → answered",
  async run(ctx) {
    const stack = await ctx.stack();
    const setup = await ctx.zone(ctx.options.loadRecords);
    const targets = setup.addressRecords(ctx.options.changes, true);
    const named: number[] = [];
    const backstop: number[] = [];
    const committed: number[] = [];
    for (const [k, record] of targets.entries()) {
      const address = addressOf(k);
      await stageEdits(setup.knotd, setup.zone, [
        { op: "unset", owner: record.owner, type: "A" },
        { op: "set", owner: record.owner, ttl: record.ttl, type: "A", data: address },
      ]);
      const since = performance.now();
      await commitEdits(setup.knotd, setup.zone);
      const serial = String(await setup.knotd.serial(setup.zone));
      const opts = { since, timeoutMs: 30_000, maxDelayMs: 10 };
      const [n, b, c] = await Promise.all([
        untilAnswered(() => udpAnswers(setup.named.port, record.owner, RRType.A), address, { ...opts, what: `named, edit ${k}` }),
        untilAnswered(() => dohAnswers(stack.worker.backstop, record.owner, RRType.A), address, { ...opts, what: `Backstop, edit ${k}` }),
        // The zone row read from D1 directly (not through the Worker, whose caches it would disturb): when
        // the new serial shows there, the IXFR is committed; what remains until DoH answers is the
        // answer path's caches (the isolate's zone pointers live up to a second).
        untilAnswered(async () => [String(await stack.serial(setup.zone))], serial, { ...opts, what: `Backstop commit, edit ${k}` }),
      ]);
      named.push(n);
      backstop.push(b);
      committed.push(c);
      if ((k + 1) % 10 === 0) ctx.log(`  ${k + 1}/${targets.length} edits: last named ${n.toFixed(0)} ms, Backstop ${b.toFixed(0)} ms`);
    }
    const note = `${targets.length} edits on a ${setup.records.toLocaleString("en")}-record zone`;
    return [
      figure({ bench: "propagation", what: "p50 edit → answered", unit: "ms", backstop: percentile(backstop, 50), peer: percentile(named, 50), peerName: "named", note }),
      figure({
        bench: "propagation",
        what: "p99 edit → answered",
        unit: "ms",
        backstop: percentile(backstop, 99),
        peer: percentile(named, 99),
        peerName: "named",
        target: { valueAtMost: 1000, ratioAtMost: 2 },
        note,
      }),
      figure({
        bench: "propagation",
        what: "p50 edit → committed in D1",
        unit: "ms",
        backstop: percentile(committed, 50),
        note: `p99 ${percentile(committed, 99).toFixed(0)} ms; the rest of the time to answer is the answer path's caches`,
      }),
    ];
  },
};
