/**
 * @module Benchmark 5, UDP through the port-53 front: dnsperf against the transfer-service's DNS listener
 * (which forwards each QUERY to the Worker's `/dns-query`) and against knotd restricted to one UDP
 * worker (`udp-workers: 1`), on the same zone data. Two mixes: hot (16 A names over and over: the
 * front's cache) and miss (every record of the zone once, shuffled). Each figure is taken at < 1% loss:
 * a run that loses more is repeated at 80% of the rate it reached, at most three times.
 * Target for hot names: ≥ 0.5× knotd's queries per second.
 *
 * Beside each rate, the CPU time (user + system, from /proc) each server spent per answered query in that
 * same round. On a shared machine the rates follow how much of a core each server got, and with dnsperf's
 * 100 outstanding queries a slow schedule caps both; CPU per query says what a saturated core would give.
 *
 * The same two mixes again with `BACKSTOP_FRONT_PROCESSES=2` (a second transfer-service instance on the same
 * Worker: one owner process and two query processes on shared sockets, `server/front-processes.ts`) against
 * knotd with `udp-workers: 2`, in the same run; CPU per query there is the owner's and both query
 * processes' together. On a machine whose cores other work shares, compare the ratios of one run, not the
 * rates of two.
 *
 * Before the rounds, the front must answer the zone from its replica (issue 27; every query process of the
 * two-process front): the miss mix then measures the engine in the front, not the forward to the Worker.
 *
 * Beside each process count, the floor of Node 20's dgram (`udp-floor-server.ts`: a server that echoes each
 * query with QR set and does no DNS work, one process or a cluster of two on one shared socket as the front's
 * processes are) under the same hot-name dnsperf round: its rate against knotd's is the highest ratio any front on
 * Node's dgram can reach here, and the front's rate against it is how much of that ceiling the front keeps.
 *
 * The miss rounds measure steady state (session 11): before each measured miss round (the front's and knotd's, with
 * one process and with two) an unmeasured warm-up round asks the same questions once, each with an OPT that
 * carries an empty EDNS EXPIRE option (RFC 7314 §2; `warmUpFile`). The front gives such a query no response-cache
 * key (an answer with EXPIRE counts down, so it is never cached: `cacheKey`), so its replica answers every one in
 * full through the same engine while neither the response cache nor its doorkeeper (`query/asked-once.ts`) sees it:
 * the measured round finds both as it would have without the warm-up, and each of its answers is made again. The
 * replica keeps no other memory of an answer. Without it, the miss round was the first 100,000 answers the
 * engine ever made in that process, and the JIT's warm-up was in the figure (session 10); a running secondary is
 * warm. The warm-up round's own rate and CPU per query (the cold figure) are printed beside the measured ones.
 *
 * Skipped, saying why, when dnsperf is missing or while the front still answers QUERY with REFUSED.
 */
import { writeFile, readFile } from "node:fs/promises";
import path from "node:path";
import { Rcode } from "../dns/constants.ts";
import { startKnotd } from "../test/peers/knotd.ts";
import { runTool } from "../test/peers/run-tool.ts";
import type { PeerHandle } from "../test/peers/types.ts";
import { rcodeOf, udpExchange } from "../test/tsig/wire-client.ts";
import { queryWire } from "../answer/testing/table.ts";
import { expireRequest } from "../dns/edns-expire.ts";
import { Skip, type Benchmark } from "./context.ts";
import { HOT_NAMES } from "./doh-load.ts";
import { type Figure, figure } from "./figure.ts";
import type { BackstopStack } from "./backstop-stack.ts";
import type { ZoneRecord } from "../test/zones/generate.ts";
import { cpuMeter } from "./proc.ts";
import { ZONE_SEED } from "./zone-setup.ts";
import { startUdpFloor } from "./udp-floor.ts";

export interface DnsperfResult {
  sent: number;
  completed: number;
  lostPercent: number;
  qps: number;
  avgLatencyMs: number;
}

/** The summary lines of dnsperf 2.x ("Queries sent:", "Queries lost: N (x%)", "Queries per second:", "Average Latency (s):"). */
export function parseDnsperf(out: string): DnsperfResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output lacks ${re.source}:\n${out.slice(-1500)}`);
    return Number(m[1]);
  };
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lostPercent: num(/Queries lost:\s+\d+ \(([\d.]+)%\)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
}

interface LowLossResult extends DnsperfResult {
  limitQps?: number;
  /** CPU time of the server (`pid`) per completed query in the accepted round, µs. */
  cpuUsPerQuery: number;
  /** The same for each of the server's processes, in the order of `pids` (a multi-process front: the owner first). */
  cpuUsByProcess: number[];
}

/** One dnsperf run: `extra` arguments beside the common ones (`-B`: a binary query file). */
async function dnsperfRound(port: number, pids: number | number[], file: string, seconds: number, once: boolean, extra: readonly string[] = []): Promise<LowLossResult> {
  const args = ["-s", "127.0.0.1", "-p", String(port), "-d", file, "-l", String(seconds), "-c", "4", "-q", "100", "-t", "2", ...extra];
  if (once) args.push("-n", "1");
  const cpu = cpuMeter(typeof pids === "number" ? [pids] : pids);
  const r = await runTool("dnsperf", args, { timeoutMs: (seconds + 30) * 1000 });
  const byProcess = cpu.stop();
  const result = parseDnsperf(r.stdout + r.stderr);
  const perQuery = (ms: number) => (ms * 1000) / Math.max(1, result.completed);
  return { ...result, cpuUsPerQuery: perQuery(byProcess.reduce((a, b) => a + b, 0)), cpuUsByProcess: byProcess.map(perQuery) };
}

/**
 * dnsperf at < 1% loss: as fast as it goes, then at 80% of the reached rate while loss is ≥ 1%. `pids`:
 * the processes whose CPU time is the server's (a multi-process front: its owner and query processes).
 */
async function dnsperfAtLowLoss(port: number, pids: number | number[], file: string, seconds: number, once: boolean): Promise<LowLossResult> {
  let limit: number | undefined;
  let last: LowLossResult | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    last = await dnsperfRound(port, pids, file, seconds, once, limit === undefined ? [] : ["-Q", String(limit)]);
    if (last.lostPercent < 1) return { ...last, ...(limit !== undefined ? { limitQps: limit } : {}) };
    limit = Math.max(10, Math.floor(last.qps * 0.8));
  }
  throw new Error(`dnsperf lost ${last?.lostPercent}% even at ${limit} qps`);
}

/**
 * The warm-up round's queries (session 11), in dnsperf's binary input form (`-B`: each message after a 2-octet
 * length; dnsperf writes only its own ID into it): the miss file's questions in the same order, with RD set as
 * dnsperf sets it, and an OPT (1232 octets) carrying an empty EDNS EXPIRE option (RFC 7314 §2). The front gives a
 * query with EXPIRE no response-cache key (`cacheKey`), so neither its cache nor its doorkeeper sees these; the
 * replica answers each one in full (EXPIRE itself only changes an SOA answer at a zone's apex).
 */
export function warmUpFile(records: readonly Pick<ZoneRecord, "owner" | "type">[]): Uint8Array {
  const messages = records.map((r, i) => {
    const wire = queryWire(r.owner, r.type, { id: i & 0xffff, edns: { options: [expireRequest()] } });
    wire[2]! |= 0x01; // RD, as dnsperf asks
    return wire;
  });
  const out = new Uint8Array(messages.reduce((n, m) => n + 2 + m.length, 0));
  let at = 0;
  for (const m of messages) {
    out[at] = m.length >> 8;
    out[at + 1] = m.length & 0xff;
    out.set(m, at + 2);
    at += 2 + m.length;
  }
  return out;
}

/**
 * The unmeasured warm-up before a measured miss round: the warm-up file once, as fast as it goes, bounded by
 * `seconds`. Its rate and the server's CPU per query are the cold figures, printed beside the measured ones.
 */
function warmUp(port: number, pids: number | number[], warmFile: string, seconds: number): Promise<LowLossResult> {
  return dnsperfRound(port, pids, warmFile, seconds, true, ["-B"]);
}

/** CPU per query of each process, for a note: "0.4 + 11.2 + 11.0". */
const split = (r: LowLossResult): string => r.cpuUsByProcess.map((us) => us.toFixed(1)).join(" + ");

/** The cold figure, for a note: what the warm-up round measured. */
const coldNote = (r: LowLossResult): string =>
  `unmeasured warm-up before it (the same questions with an EDNS EXPIRE option, never cached): ${r.qps.toFixed(0)} qps, ${r.cpuUsPerQuery.toFixed(1)} µs CPU/query, ${r.completed} answered, ${r.lostPercent}% lost`;

/** knotd serving `file` for `zone` with `workers` UDP workers and one TCP worker (knot.conf edited, knotd restarted). */
async function knotdWorkers(zone: string, file: string, workers: number): Promise<PeerHandle> {
  const peer = await startKnotd({ zones: [{ name: zone, file }], startTimeoutMs: 300_000 });
  try {
    const conf = path.join(peer.dir, "knot.conf");
    const text = await readFile(conf, "utf8");
    await writeFile(conf, text.replace(/^server:\n/m, `server:\n    udp-workers: ${workers}\n    tcp-workers: 1\n`));
    peer.kill("SIGTERM");
    await peer.exited;
    await peer.restart();
    return peer;
  } catch (err) {
    await peer.stop();
    throw err;
  }
}

/** `backstop_front_queries_total{result="replica"}` in a Prometheus text. */
const replicaAnswers = (text: string): number => Number(/backstop_front_queries_total\{result="replica"\} (\d+)/.exec(text)?.[1] ?? 0);

/**
 * Waits until the front answers the zone from its replica (issue 27), every process of it: 20 probes of names
 * that do not exist in the zone (NXDOMAIN, the replica's to answer) must all be counted as the replica's.
 * Returns how long that took (the replica's load, for a zone the front has just heard of), or throws.
 */
async function replicaReady(port: number, metrics: () => Promise<string>, zone: string, log: (line: string) => void): Promise<number> {
  const started = performance.now();
  for (let round = 0; performance.now() - started < 300_000; round++) {
    const before = replicaAnswers(await metrics());
    for (let i = 0; i < 20; i++) await udpExchange(port, queryWire(`replica-probe-${round}-${i}.${zone}`, "A", { id: i }), 5000).catch(() => undefined);
    if (replicaAnswers(await metrics()) - before >= 20) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`  the replica did not answer ${zone} within 300 s: the miss rounds measure the forward`);
  return Number.NaN;
}

/** The Node dgram floor with `processes` reading processes, under the hot-name round. */
async function floorRound(processes: number, hotFile: string, seconds: number): Promise<LowLossResult> {
  const floor = await startUdpFloor(processes);
  try {
    return await dnsperfAtLowLoss(floor.port, floor.pids(), hotFile, seconds, false);
  } finally {
    await floor.stop();
  }
}

/** The floor beside knotd (the ceiling of the ratios), and the front's hot rate beside the floor. */
function floorFigures(label: string, floor: LowLossResult, hotFront: LowLossResult, hotKnot: LowLossResult, peerName: string, note: (r: LowLossResult) => string): Figure[] {
  return [
    figure({
      bench: "udp",
      what: `Node dgram floor, ${label} (echoes each query, no DNS work): queries per second`,
      unit: "qps",
      backstop: floor.qps,
      peer: hotKnot.qps,
      peerName,
      note: `the ceiling of every ratio above for a front on Node 20's dgram on this machine; floor: ${note(floor)}, ${floor.cpuUsPerQuery.toFixed(1)} µs CPU per query; knotd: the hot round`,
    }),
    figure({
      bench: "udp",
      what: `hot names, ${label}: the front's rate as a share of the Node dgram floor`,
      unit: "qps",
      backstop: hotFront.qps,
      peer: floor.qps,
      peerName: `Node dgram floor, ${label}`,
      note: `CPU per query: front ${hotFront.cpuUsPerQuery.toFixed(1)} µs, floor ${floor.cpuUsPerQuery.toFixed(1)} µs: the difference is what the front itself costs a hot answer`,
    }),
  ];
}

/** The rows of BACKSTOP_FRONT_PROCESSES=2 against knotd with two UDP workers. */
async function twoProcesses(stack: BackstopStack, zone: string, zoneFile: string, hotFile: string, missFile: string, warmFile: string, seconds: number, log: (line: string) => void): Promise<Figure[]> {
  const front = await stack.startFront(2);
  const knotd = await knotdWorkers(zone, zoneFile, 2);
  try {
    // The new front's caches start empty, as the single process's did before its first round; its replicas
    // (one per query process) are loaded first, so the miss mix measures answers from them.
    const ready = await replicaReady(front.dnsPort, () => front.metrics(), zone, log);
    log(`  2 processes: every query process answers from its replica after ${ready.toFixed(0)} ms`);
    const hotFront = await dnsperfAtLowLoss(front.dnsPort, front.pids(), hotFile, seconds, false);
    const hotKnot = await dnsperfAtLowLoss(knotd.port, knotd.pid, hotFile, seconds, false);
    // Steady state: each server answers the warm-up round (unmeasured; no cache key, see `warmUpFile`) first.
    const coldFront = await warmUp(front.dnsPort, front.pids(), warmFile, seconds * 2);
    const missFront = await dnsperfAtLowLoss(front.dnsPort, front.pids(), missFile, seconds * 2, true);
    const coldKnot = await warmUp(knotd.port, knotd.pid, warmFile, seconds * 2);
    const missKnot = await dnsperfAtLowLoss(knotd.port, knotd.pid, missFile, seconds * 2, true);
    const floor = await floorRound(2, hotFile, seconds);
    log(`  2 processes: Node dgram floor ${floor.qps.toFixed(0)} qps (${floor.cpuUsPerQuery.toFixed(1)} µs CPU/query)`);
    log(`  2 processes: hot: front ${hotFront.qps.toFixed(0)} qps (${hotFront.cpuUsPerQuery.toFixed(1)} µs CPU/query), knotd ${hotKnot.qps.toFixed(0)} (${hotKnot.cpuUsPerQuery.toFixed(1)} µs); miss: front ${missFront.qps.toFixed(0)} (${missFront.cpuUsPerQuery.toFixed(1)} µs), knotd ${missKnot.qps.toFixed(0)}`);
    log(`  2 processes: miss CPU per query by process, owner first: ${split(missFront)} µs`);
    log(`  2 processes: miss warm-up (unmeasured, cold): front ${coldFront.qps.toFixed(0)} qps (${coldFront.cpuUsPerQuery.toFixed(1)} µs CPU/query), knotd ${coldKnot.qps.toFixed(0)} (${coldKnot.cpuUsPerQuery.toFixed(1)} µs)`);
    const note = (r: LowLossResult) => `${r.sent} queries, ${r.lostPercent}% lost${r.limitQps ? `, limited to ${r.limitQps} qps` : ""}, avg ${r.avgLatencyMs.toFixed(2)} ms`;
    const peerName = "knotd (2 UDP workers)";
    return [
      figure({ bench: "udp", what: "2 front processes, hot names: queries per second", unit: "qps", backstop: hotFront.qps, peer: hotKnot.qps, peerName, target: { ratioAtLeast: 0.6 }, note: `BACKSTOP_FRONT_PROCESSES=2 (owner + 2 query processes): ${note(hotFront)}; knotd: ${note(hotKnot)}` }),
      figure({
        bench: "udp",
        what: "2 front processes, hot names: server CPU per query",
        unit: "µs",
        backstop: hotFront.cpuUsPerQuery,
        peer: hotKnot.cpuUsPerQuery,
        peerName,
        note: "user + system time of the owner and both query processes, and of knotd, over the same rounds, per completed query",
      }),
      figure({ bench: "udp", what: "2 front processes, miss mix (steady state): queries per second", unit: "qps", backstop: missFront.qps, peer: missKnot.qps, peerName, target: { ratioAtLeast: 0.5 }, note: `front: ${note(missFront)}; ${coldNote(coldFront)}; knotd: ${note(missKnot)}; knotd's warm-up ${coldKnot.qps.toFixed(0)} qps` }),
      ...floorFigures("2 processes", floor, hotFront, hotKnot, peerName, note),
      figure({
        bench: "udp",
        what: "2 front processes, miss mix (steady state): server CPU per query",
        unit: "µs",
        backstop: missFront.cpuUsPerQuery,
        peer: missKnot.cpuUsPerQuery,
        peerName,
        note: `the owner's and both query processes' CPU per completed query (answered from their replicas; by process, owner first: ${split(missFront)} µs), and knotd's, after the warm-up round; cold (the warm-up round itself): front ${coldFront.cpuUsPerQuery.toFixed(1)} µs, knotd ${coldKnot.cpuUsPerQuery.toFixed(1)} µs`,
      }),
    ];
  } finally {
    await knotd.stop();
    await front.stop();
  }
}

export const udpFront: Benchmark = {
  id: "udp",
  title: "UDP through the port-53 front vs knotd (1 UDP worker; and 2 front processes vs 2 UDP workers), dnsperf",
  async run(ctx) {
    if ((await runTool("dnsperf", ["-h"]).catch(() => undefined)) === undefined) {
      throw new Skip("dnsperf is not installed (apt-get install -y dnsperf)");
    }
    const stack = await ctx.stack();
    const setup = await ctx.zone(ctx.options.loadRecords);
    const hot = setup.addressRecords(HOT_NAMES, true);
    const probe = hot[0]!;
    const reply = await udpExchange(stack.dnsPort, queryWire(probe.owner, "A", { id: 4242 }), 3000).catch((err: Error) => {
      throw new Skip(`the port-53 front on 127.0.0.1:${stack.dnsPort} did not answer a QUERY: ${err.message}`);
    });
    if (rcodeOf(reply) === Rcode.REFUSED) {
      throw new Skip("the port-53 front answers QUERY with REFUSED: forwarding to the Worker has not landed yet");
    }

    const dir = setup.knotd.dir;
    const hotFile = path.join(dir, "dnsperf-hot.txt");
    const missFile = path.join(dir, "dnsperf-miss.txt");
    await writeFile(hotFile, hot.map((r) => `${r.owner} A\n`).join(""));
    const warmFile = path.join(dir, "dnsperf-miss-warm-up.bin");
    const missRecords = setup.shuffledRecords(ZONE_SEED + 1);
    await writeFile(missFile, missRecords.map((r) => `${r.owner} ${r.type}\n`).join(""));
    await writeFile(warmFile, warmUpFile(missRecords));

    const knotd = await knotdWorkers(setup.zone, setup.knotd.zoneFile(setup.zone), 1);
    try {
      const { seconds } = ctx.options;
      const ready = await replicaReady(stack.dnsPort, () => stack.metrics(), setup.zone, ctx.log);
      ctx.log(`  the front answers ${setup.zone} from its replica (${ready.toFixed(0)} ms after the bench first asked)`);
      const hotFront = await dnsperfAtLowLoss(stack.dnsPort, stack.servicePid, hotFile, seconds, false);
      const hotKnot = await dnsperfAtLowLoss(knotd.port, knotd.pid, hotFile, seconds, false);
      // Steady state: each server answers the warm-up round (unmeasured; no cache key, see `warmUpFile`) first.
      const coldFront = await warmUp(stack.dnsPort, stack.servicePid, warmFile, seconds * 2);
      const missFront = await dnsperfAtLowLoss(stack.dnsPort, stack.servicePid, missFile, seconds * 2, true);
      const coldKnot = await warmUp(knotd.port, knotd.pid, warmFile, seconds * 2);
      const missKnot = await dnsperfAtLowLoss(knotd.port, knotd.pid, missFile, seconds * 2, true);
      const floor = await floorRound(1, hotFile, seconds);
      ctx.log(`  Node dgram floor: ${floor.qps.toFixed(0)} qps (${floor.cpuUsPerQuery.toFixed(1)} µs CPU/query)`);
      ctx.log(`  hot: front ${hotFront.qps.toFixed(0)} qps (${hotFront.cpuUsPerQuery.toFixed(1)} µs CPU/query), knotd ${hotKnot.qps.toFixed(0)} (${hotKnot.cpuUsPerQuery.toFixed(1)} µs); miss: front ${missFront.qps.toFixed(0)} (${missFront.cpuUsPerQuery.toFixed(1)} µs), knotd ${missKnot.qps.toFixed(0)}`);
      ctx.log(`  miss warm-up (unmeasured, cold): front ${coldFront.qps.toFixed(0)} qps (${coldFront.cpuUsPerQuery.toFixed(1)} µs CPU/query), knotd ${coldKnot.qps.toFixed(0)} (${coldKnot.cpuUsPerQuery.toFixed(1)} µs)`);
      const note = (r: LowLossResult) =>
        `${r.sent} queries, ${r.lostPercent}% lost${r.limitQps ? `, limited to ${r.limitQps} qps` : ""}, avg ${r.avgLatencyMs.toFixed(2)} ms`;
      const peerName = "knotd (1 UDP worker)";
      const multi = await twoProcesses(stack, setup.zone, setup.knotd.zoneFile(setup.zone), hotFile, missFile, warmFile, seconds, ctx.log);
      return [
        figure({ bench: "udp", what: "hot names: queries per second", unit: "qps", backstop: hotFront.qps, peer: hotKnot.qps, peerName, target: { ratioAtLeast: 0.6 }, note: `front (one Node process): ${note(hotFront)}; knotd: ${note(hotKnot)}` }),
        figure({
          bench: "udp",
          what: "hot names: server CPU per query",
          unit: "µs",
          backstop: hotFront.cpuUsPerQuery,
          peer: hotKnot.cpuUsPerQuery,
          peerName,
          note: "user + system time of the transfer-service's process and of knotd over the same rounds, per completed query; a saturated core answers 1e6 / this many queries a second",
        }),
        figure({ bench: "udp", what: "miss mix (steady state): queries per second", unit: "qps", backstop: missFront.qps, peer: missKnot.qps, peerName, target: { ratioAtLeast: 0.5 }, note: `front: ${note(missFront)}; ${coldNote(coldFront)}; knotd: ${note(missKnot)}; knotd's warm-up ${coldKnot.qps.toFixed(0)} qps` }),
        ...floorFigures("1 process", floor, hotFront, hotKnot, peerName, note),
        figure({
          bench: "udp",
          what: "miss mix (steady state): server CPU per query",
          unit: "µs",
          backstop: missFront.cpuUsPerQuery,
          peer: missKnot.cpuUsPerQuery,
          peerName,
          note: `the transfer-service's CPU per completed query (answered from its replica; a forward's Worker CPU would not be counted here), and knotd's, after the warm-up round; cold (the warm-up round itself): front ${coldFront.cpuUsPerQuery.toFixed(1)} µs, knotd ${coldKnot.cpuUsPerQuery.toFixed(1)} µs`,
        }),
        ...multi,
      ];
    } finally {
      await knotd.stop();
    }
  },
};
