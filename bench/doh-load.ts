/**
 * @module A bounded closed-loop DoH load: `connections` loops, each on its own keep-alive connection of
 * an undici Pool, send RFC 8484 GETs one after another until the round's time or request budget runs
 * out. Every latency is kept (a Float64Array, bounded by the request budget), and workerd's CPU time is
 * read from /proc before and after, so one round gives req/s, p50/p99 and CPU per query.
 *
 * The same loop drives Backstop's Worker and the trivial one, alternating rounds, so both see the same
 * client, the same connection count and the same machine load.
 */
import { Pool } from "undici";
import { queryWire } from "../answer/testing/table.ts";
import { percentile } from "./figure.ts";
import { cpuMs } from "./proc.ts";

export interface LoadRound {
  requests: number;
  /** Non-200 answers and transport errors. */
  errors: number;
  seconds: number;
  latenciesMs: number[];
  /** workerd CPU time (user + system) spent during the round, ms. */
  workerdCpuMs: number;
}

export interface LoadSummary {
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerQuery: number;
}

/** `/dns-query?dns=…` paths for `names` (A queries with EDNS, id 0 as RFC 8484 §4.1 asks). */
export function dohPaths(names: readonly { owner: string; type: string }[]): string[] {
  return names.map((n) => `/dns-query?dns=${Buffer.from(queryWire(n.owner, n.type, { id: 0 })).toString("base64url")}`);
}

export interface RoundOptions {
  base: string;
  paths: readonly string[];
  seconds: number;
  connections: number;
  /** Stop after this many requests even if time remains. */
  maxRequests: number;
  workerdPid: number;
}

export async function loadRound(options: RoundOptions): Promise<LoadRound> {
  const pool = new Pool(options.base, { connections: options.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies = new Float64Array(options.maxRequests);
  let sent = 0;
  let done = 0;
  let errors = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const cpuBefore = cpuMs(options.workerdPid);
  const started = performance.now();
  const loop = async () => {
    while (performance.now() < deadline && sent < options.maxRequests) {
      const path = options.paths[sent % options.paths.length] as string;
      sent++;
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: "GET", headers: { accept: "application/dns-message" }, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies[done++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  const workerdCpuMs = cpuMs(options.workerdPid) - cpuBefore;
  await pool.close();
  return { requests: done, errors, seconds, latenciesMs: Array.from(latencies.subarray(0, done)), workerdCpuMs };
}

export function summarise(rounds: readonly LoadRound[]): LoadSummary {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const cpu = rounds.reduce((n, r) => n + r.workerdCpuMs, 0);
  const latencies = rounds.flatMap((r) => r.latenciesMs);
  return {
    requests,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    perSecond: requests / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMsPerQuery: cpu / requests,
  };
}

/** The hot set: a few A names of the zone, asked over and over (the isolate's caches hold them). */
export const HOT_NAMES = 16;

