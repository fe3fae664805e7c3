/**
 * @module Benchmark "zones" (issue 19): Backstop carrying many small zones, beside named as a secondary of
 * the same knotd in the same run (`--zones N`, default 10,000).
 *
 * 1. **Provisioning.** knotd serves N four-record zones, plus N more listed in a catalog it generates
 *    (RFC 9432). Backstop: the first N by `POST /api/v1/zones/bulk` (1,000 a call), then separately the
 *    catalog's N by creating one catalog zone; each clocked from the first API call until every zone's
 *    first version is committed (read from D1 directly; answers follow within the 1 s freshness rule).
 *    named: started with a configuration of the same N secondary zones, clocked until it answers the SOA
 *    of every one. CPU per zone for workerd, the service and named.
 * 2. **Idle cost at N zones:** service and workerd CPU over a quiet interval, service RSS, and its bytes
 *    per zone (RSS growth over the provisioning, per zone); D1 rows read per second by the answer path (a
 *    trickle of DoH queries for one cached name, so its freshness re-reads run) and by the service's calls
 *    (`/internal/v1/answer-stats`, summed from D1's `meta.rows_read`), each at N zones beside one zone.
 * 3. **Propagation with N zones loaded:** single-record edits on one zone, knotd commit → answered on
 *    Backstop's port 53, beside the same edits measured with one zone loaded (before provisioning).
 * 4. **A DoH cache miss** (a name never asked, NXDOMAIN) at N zones beside the same at one zone.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { RRType } from "../dns/constants.ts";
import { startKnotd, startNamed, freePort, type PeerHandle, type ZoneSpec } from "../test/peers/index.ts";
import { dohAnswers, udpAnswers, untilAnswered } from "./answer-probe.ts";
import type { BackstopStack } from "./backstop-stack.ts";
import type { Benchmark, BenchContext } from "./context.ts";
import { figure, percentile, type Figure } from "./figure.ts";
import { commitEdits, stageEdits } from "./knot-edit.ts";
import { cpuMeter, cpuMs, MiB, statusBytes } from "./proc.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";

const SUFFIX = "many.test";
const CATALOG = "many-catalog.invalid";
/** Edits per propagation round: 30, so that a p99 is not one slow edit in ten (issue 19 item 4). */
const EDITS = 30;
const MISSES = 200;
const IDLE_MS = 20_000;
/** The answer path's trickle during an idle window: one DoH query this often. */
const TRICKLE_MS = 100;

const zoneText = (name: string) => `$ORIGIN ${name}.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n`;

/** Edits on `zone` at knotd, each timed from the commit until `ask` returns its new address. */
async function propagationMs(knotd: PeerHandle, zone: string, ask: (name: string) => Promise<string[]>, from: number, edits = EDITS): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < edits; k++) {
    const address = `198.51.100.${(from + k) % 250}`;
    await stageEdits(knotd, zone, [
      { op: "unset", owner: `www.${zone}.`, type: "A" },
      { op: "set", owner: `www.${zone}.`, ttl: 300, type: "A", data: address },
    ]);
    const since = performance.now();
    await commitEdits(knotd, zone);
    times.push(await untilAnswered(() => ask(`www.${zone}`), address, { since, timeoutMs: 30_000, maxDelayMs: 10, what: `edit ${k} of ${zone}` }));
  }
  return times;
}

/** DoH queries for names never asked before (NXDOMAIN, a cache miss each), timed one after another. */
async function missMs(stack: BackstopStack, zone: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < MISSES; i++) {
    const name = `miss-${randomBytes(6).toString("hex")}.${zone}`;
    const t0 = performance.now();
    await dohAnswers(stack.worker.backstop, name, RRType.A);
    times.push(performance.now() - t0);
  }
  return times;
}

/** The Worker's counts (`workers/doh/answer-stats.ts`): the answer path's D1 reads and the sessions' (one isolate locally). */
interface WorkerReads {
  d1: { rowsRead: number; statements: number };
  sessions: Record<"internal" | "api", { statements: number; rowsRead: number; unmetered: number }>;
}

async function workerReads(stack: BackstopStack): Promise<WorkerReads> {
  const res = await fetch(`${stack.worker.backstop}/internal/v1/answer-stats`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  if (!res.ok) throw new Error(`/internal/v1/answer-stats answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as WorkerReads;
}

/** What a quiet interval cost: CPU per minute, and D1 rows read per second by the answer path and the service. */
interface IdleCost {
  serviceMsPerMin: number;
  workerdMsPerMin: number;
  answerRowsPerS: number;
  serviceRowsPerS: number;
  /** The service's statements in the window, and those D1 gave no `meta` for (their rows are not counted). */
  serviceStatements: number;
  serviceUnmetered: number;
  /** The answer path's D1 statements in the window (its change-log polls, zone and block reads). */
  answerStatements: number;
  queries: number;
}

/**
 * `IDLE_MS` with nothing provisioned or edited, and one DoH query for `name` every `TRICKLE_MS` (answered
 * from the caches after the first): the answer path's D1 reads are then its freshness re-reads, which must
 * not grow with the zones; the service's are its feed and signal polls.
 */
async function idleCost(stack: BackstopStack, pids: number[], name: string): Promise<IdleCost> {
  // Warm-up: the isolate's first change-log poll after provisioning reads the log rows the provisioning
  // wrote (up to a page, then it starts over): a catch-up after writes, not the idle cost. Two queries more
  // than the freshness second apart leave it behind.
  for (let i = 0; i < 2; i++) {
    await dohAnswers(stack.worker.backstop, name, RRType.A);
    await new Promise((r) => setTimeout(r, 1_100));
  }
  const before = await workerReads(stack);
  const meter = cpuMeter(pids);
  const t0 = performance.now();
  let queries = 0;
  while (performance.now() - t0 < IDLE_MS) {
    const next = performance.now() + TRICKLE_MS;
    await dohAnswers(stack.worker.backstop, name, RRType.A);
    queries++;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const elapsed = performance.now() - t0;
  const [workerd, service] = meter.stop() as [number, number];
  const after = await workerReads(stack);
  const seconds = elapsed / 1000;
  return {
    serviceMsPerMin: (service * 60_000) / elapsed,
    workerdMsPerMin: (workerd * 60_000) / elapsed,
    answerRowsPerS: (after.d1.rowsRead - before.d1.rowsRead) / seconds,
    serviceRowsPerS: (after.sessions.internal.rowsRead - before.sessions.internal.rowsRead) / seconds,
    serviceStatements: after.sessions.internal.statements - before.sessions.internal.statements,
    serviceUnmetered: after.sessions.internal.unmetered - before.sessions.internal.unmetered,
    answerStatements: after.d1.statements - before.d1.statements,
    queries,
  };
}

/** The three slowest of `times`, in words, for the propagation note (whose tail is it). */
function slowest(times: readonly number[]): string {
  return times
    .map((ms, k) => ({ ms, k }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map(({ ms, k }) => `edit ${k} ${ms.toFixed(0)} ms`)
    .join(", ");
}

/** The service's V8 heap in use, garbage not yet collected included (prom-client's default metric). */
function heapUsed(metrics: string): number {
  const m = /^backstop_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(metrics);
  return m ? Number(m[1]) : NaN;
}

/** The service's calls to the Worker so far, by route (`backstop_worker_calls_total`). */
function workerCalls(metrics: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const m of metrics.matchAll(/^backstop_worker_calls_total\{route="([^"]*)"\} (\d+(?:\.\d+)?)$/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Calls per zone between two readings: the total, and the routes in words (most frequent first). */
function callsPerZone(before: Map<string, number>, after: Map<string, number>, zones: number): { total: number; routes: string } {
  const per = [...after].map(([route, n]) => [route, (n - (before.get(route) ?? 0)) / zones] as const).filter(([, n]) => n > 0.005);
  per.sort((a, b) => b[1] - a[1]);
  return { total: per.reduce((sum, [, n]) => sum + n, 0), routes: per.map(([route, n]) => `${route} ${n.toFixed(2)}`).join(", ") };
}

/** What a quiet zone holds in the service's heap (`transfer-service/testing/zone-memory.ts`, in a process of its own). */
async function heapBytesPerZone(zones: number): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", "--import", "tsx", "transfer-service/testing/zone-memory.ts", String(zones)], { timeout: 300_000 });
  return (JSON.parse(stdout.trim().split("\n").at(-1)!) as { heapBytesPerZone: number }).heapBytesPerZone;
}

/** How many of the zones named `like` have a committed version. */
async function committed(stack: BackstopStack, like: string): Promise<number> {
  const row = await stack.worker.d1First<{ n: number }>("SELECT count(*) AS n FROM zones WHERE name LIKE ?1 AND current_version IS NOT NULL", like);
  return row?.n ?? 0;
}

export const manyZones: Benchmark = {
  id: "zones",
  title: "Many zones: provisioning, idle cost, propagation and DoH misses at N zones",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const n = ctx.options.zones;
    const stack = await ctx.stack();
    const bulkNames = Array.from({ length: n }, (_, i) => `z${i}.${SUFFIX}`);
    const catalogNames = Array.from({ length: n }, (_, i) => `c${i}.${SUFFIX}`);
    const namedPort = await freePort();
    const zones: ZoneSpec[] = [
      ...bulkNames.map((name, i) => ({ name, text: zoneText(name), ...(i === 0 ? { notify: [`127.0.0.1:${stack.dnsPort}`, `127.0.0.1:${namedPort}`] } : {}) })),
      { name: CATALOG, catalog: { role: "generate" as const } },
      ...catalogNames.map((name) => ({ name, text: zoneText(name), catalog: { role: "member" as const, zone: CATALOG } })),
    ];
    // Each step's line says when it ended, and the load then: a 10,000-zone run takes most of an hour here.
    const began = performance.now();
    const log = (line: string) => ctx.log(`${line} [+${((performance.now() - began) / 1000).toFixed(0)} s, load ${loadavg()[0]!.toFixed(1)}]`);
    log(`  knotd with ${2 * n} zones and a catalog …`);
    const knotd = await startKnotd({ zones, startTimeoutMs: 120_000 + n * 20 });
    log("  knotd serves every zone");
    let named: PeerHandle | undefined;
    try {
      const primary = { address: "127.0.0.1", port: knotd.port };
      // One zone loaded: the baseline of propagation and of the DoH miss.
      const first = bulkNames[0]!;
      await stack.api("POST", "/zones", { name: first, primaries: [primary], notifyAllow: ["127.0.0.1/32"] }, 201);
      await waitFor(`${first} committed`, async () => (await stack.serial(first)) !== undefined, 60_000);
      // Three untimed edits first: the one-zone round is the baseline, and a cold stack (first IXFR, first
      // replica load, JIT) made its tail the slowest of the run, which flattered the ratio at N.
      await propagationMs(knotd, first, (name) => udpAnswers(stack.dnsPort, name, RRType.A), 200, 3);
      const oneProp = await propagationMs(knotd, first, (name) => udpAnswers(stack.dnsPort, name, RRType.A), 0);
      const oneMiss = await missMs(stack, first);
      const pids = [stack.worker.workerdPid, stack.servicePid];
      const oneIdle = await idleCost(stack, pids, `www.${first}`);
      log(`  idle at 1 zone: answer path ${oneIdle.answerRowsPerS.toFixed(2)} D1 rows/s, service ${oneIdle.serviceRowsPerS.toFixed(2)} rows/s`);
      const rssBefore = statusBytes(stack.servicePid, "VmRSS") ?? 0;

      // Provisioning by bulk create.
      let meter = cpuMeter(pids);
      const callsBefore = workerCalls(await stack.metrics());
      let t0 = performance.now();
      // With --profile, the Worker's CPU during the bulk provisioning is profiled (worker-bulk.cpuprofile).
      await ctx.profiled("bulk", async () => {
        for (let i = 1; i < n; i += 1000) {
          const create = bulkNames.slice(i, i + 1000).map((name) => ({ name, primaries: [primary] }));
          await stack.api("POST", "/zones/bulk", { create }, 201);
        }
        await waitFor(`${n} bulk zones committed`, async () => (await committed(stack, `z%.${SUFFIX}`)) >= n, 600_000 + n * 60);
      });
      const bulkMs = performance.now() - t0;
      const [bulkWorkerd, bulkService] = meter.stop() as [number, number];
      const bulkCalls = callsPerZone(callsBefore, workerCalls(await stack.metrics()), n - 1);
      log(`  bulk: ${bulkCalls.total.toFixed(2)} Worker calls a zone (${bulkCalls.routes})`);
      log(`  bulk: ${n} zones in ${(bulkMs / 1000).toFixed(1)} s`);

      // Provisioning by catalog.
      meter = cpuMeter(pids);
      t0 = performance.now();
      await stack.api("POST", "/zones", { name: CATALOG, model: "hidden", primaries: [primary], catalog: true }, 201);
      await waitFor(`${n} catalog members committed`, async () => (await committed(stack, `c%.${SUFFIX}`)) >= n, 600_000 + n * 60);
      const catalogMs = performance.now() - t0;
      const [catWorkerd, catService] = meter.stop() as [number, number];
      log(`  catalog: ${n} members in ${(catalogMs / 1000).toFixed(1)} s`);
      const rssAfter = statusBytes(stack.servicePid, "VmRSS") ?? 0;
      const heapAfter = heapUsed(await stack.metrics());

      // named, configured with the same N secondary zones, until it answers every SOA.
      t0 = performance.now();
      named = await startNamed({ port: namedPort, zones: bulkNames.map((name) => ({ name, secondaryOf: primary })), startTimeoutMs: 600_000 + n * 60 });
      const namedMs = performance.now() - t0;
      // Its CPU so far, start included: the process's total from /proc.
      const namedTotal = cpuMs(named.pid);
      log(`  named: ${n} zones in ${(namedMs / 1000).toFixed(1)} s`);

      // Idle at N zones (2N here, with the catalog's members).
      const manyIdle = await idleCost(stack, pids, `www.${first}`);
      log(`  idle at ${2 * n} zones: answer path ${manyIdle.answerRowsPerS.toFixed(2)} D1 rows/s, service ${manyIdle.serviceRowsPerS.toFixed(2)} rows/s`);
      // Again once the zones have been quiet a while (named's provisioning and the idle window): what the
      // service keeps, against what provisioning's garbage had grown the heap to.
      const rssQuiet = statusBytes(stack.servicePid, "VmRSS") ?? 0;
      const heapQuiet = heapUsed(await stack.metrics());
      log(`  service RSS at ${2 * n} zones: ${(rssAfter / MiB).toFixed(0)} MiB after provisioning (V8 heap used ${(heapAfter / MiB).toFixed(0)} MiB), ${(rssQuiet / MiB).toFixed(0)} MiB quiet (heap used ${(heapQuiet / MiB).toFixed(0)} MiB)`);

      const manyProp = await propagationMs(knotd, first, (name) => udpAnswers(stack.dnsPort, name, RRType.A), EDITS);
      const manyMiss = await missMs(stack, first);

      const quietZones = Math.max(10_000, 2 * n);
      const heapPerZone = await heapBytesPerZone(quietZones);
      const note = `${n.toLocaleString("en")} zones by bulk create (${(2 * n).toLocaleString("en")} with the catalog's); knotd as primary`;
      return [
        figure({ bench: "zones", what: `provisioning ${n} zones (bulk create): first call → every zone committed`, unit: "s", backstop: bulkMs / 1000, peer: namedMs / 1000, peerName: "named", target: { ratioAtMost: 1 }, note }),
        figure({ bench: "zones", what: `provisioning ${n} zones (catalog): catalog created → every member committed`, unit: "s", backstop: catalogMs / 1000, peer: namedMs / 1000, peerName: "named", target: { ratioAtMost: 1 }, note }),
        figure({ bench: "zones", what: "CPU per zone provisioned (bulk): workerd + service", unit: "ms", backstop: (bulkWorkerd + bulkService) / n, peer: namedTotal / n, peerName: "named (its whole start)", note: `workerd ${(bulkWorkerd / n).toFixed(2)} ms, service ${(bulkService / n).toFixed(2)} ms; catalog: workerd ${(catWorkerd / n).toFixed(2)}, service ${(catService / n).toFixed(2)} ms a zone` }),
        figure({ bench: "zones", what: "service → Worker calls per zone provisioned (bulk)", unit: "calls", backstop: bulkCalls.total, note: bulkCalls.routes }),
        figure({ bench: "zones", what: `idle service CPU at ${2 * n} zones`, unit: "ms/min", backstop: manyIdle.serviceMsPerMin, peer: oneIdle.serviceMsPerMin, peerName: "Backstop with 1 zone", note: `workerd ${manyIdle.workerdMsPerMin.toFixed(0)} vs ${oneIdle.workerdMsPerMin.toFixed(0)} ms/min (feed polls once a second here; a DoH query every ${TRICKLE_MS} ms)` }),
        figure({ bench: "zones", what: `D1 rows read per second by the answer path, idle at ${2 * n} zones vs 1`, unit: "rows/s", backstop: manyIdle.answerRowsPerS, peer: oneIdle.answerRowsPerS, peerName: "Backstop with 1 zone", target: { ratioAtMost: 1.2 }, note: `the same at 1 and N is the target; meta.rows_read of the served store, one DoH query every ${TRICKLE_MS} ms for one cached name (${manyIdle.queries} and ${oneIdle.queries} queries, ${manyIdle.answerStatements} and ${oneIdle.answerStatements} D1 statements)` }),
        figure({ bench: "zones", what: `D1 rows read per second by the service's calls, idle at ${2 * n} zones vs 1`, unit: "rows/s", backstop: manyIdle.serviceRowsPerS, peer: oneIdle.serviceRowsPerS, peerName: "Backstop with 1 zone", target: { ratioAtMost: 1.2 }, note: `meta.rows_read of /internal/v1's sessions: ${manyIdle.serviceStatements} and ${oneIdle.serviceStatements} statements in ${IDLE_MS / 1000} s, ${manyIdle.serviceUnmetered} and ${oneIdle.serviceUnmetered} of them without meta (not counted)` }),
        // The issue puts RSS under idle cost: the figure is the quiet one; provisioning's peak is in the note.
        figure({ bench: "zones", what: `service RSS at ${2 * n} zones, idle`, unit: "MiB", backstop: rssQuiet / MiB, target: { valueAtMost: 256 }, note: `V8 heap used ${(heapQuiet / MiB).toFixed(0)} MiB; right after provisioning: RSS ${(rssAfter / MiB).toFixed(0)} MiB (${((rssAfter - rssBefore) / (2 * n)).toFixed(0)} bytes per zone of growth), heap used ${(heapAfter / MiB).toFixed(0)} MiB, most of it garbage not yet collected` }),
        figure({ bench: "zones", what: `service heap per quiet zone (${quietZones.toLocaleString("en")} zones, after full GC)`, unit: "bytes", backstop: heapPerZone, note: `${((heapPerZone * 100_000) / MiB).toFixed(0)} MiB of heap at 100,000 zones` }),
        figure({ bench: "zones", what: `p99 edit → answered on port 53, ${2 * n} zones vs 1`, unit: "ms", backstop: percentile(manyProp, 99), peer: percentile(oneProp, 99), peerName: "Backstop with 1 zone", target: { ratioAtMost: 1.2, valueAtMost: 1000 }, note: `${EDITS} edits each; p50 ${percentile(manyProp, 50).toFixed(0)} vs ${percentile(oneProp, 50).toFixed(0)} ms; slowest at N: ${slowest(manyProp)}; at 1: ${slowest(oneProp)}` }),
        figure({ bench: "zones", what: `DoH cache miss p50, ${2 * n} zones vs 1`, unit: "ms", backstop: percentile(manyMiss, 50), peer: percentile(oneMiss, 50), peerName: "Backstop with 1 zone", target: { ratioAtMost: 1.2 }, note: `${MISSES} NXDOMAIN names each; p99 ${percentile(manyMiss, 99).toFixed(1)} vs ${percentile(oneMiss, 99).toFixed(1)} ms` }),
      ];
    } finally {
      await named?.stop();
      await knotd.stop();
    }
  },
};
