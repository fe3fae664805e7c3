/**
 * @module One zone of N records served by a knotd primary and carried by two secondaries, Backstop and
 * named, and the full-transfer measurement that builds it (benchmark 1): the time from adding the zone
 * to answering its last A record, and each secondary's peak RSS meanwhile.
 *
 * The two secondaries are added one after the other, named first, so neither competes with the other
 * for the machine's two cores; knotd serves both and NOTIFYs both for later edits (benchmarks 2 and 6
 * reuse the zone). Each zone gets its own TSIG key (hmac-sha256), as a real primary would.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { RRType } from "../dns/constants.ts";
import { prng } from "../dns/testing/prng.ts";
import { startKnotd } from "../test/peers/knotd.ts";
import type { PeerHandle, TsigKey } from "../test/peers/types.ts";
import { generatedRecord, writeZoneFile, type ZoneRecord } from "../test/zones/generate.ts";
import { dohAnswers, udpAnswers, untilAnswered } from "./answer-probe.ts";
import type { BackstopStack } from "./backstop-stack.ts";
import { startNamedSecondary, type NamedSecondary } from "./named-secondary.ts";
import { cpuMeter, sampleRss } from "./proc.ts";

export const ZONE_SEED = 7;

export interface FullTransfer {
  /** Milliseconds from `rndc addzone` / `POST /api/v1/zones` to the last A record answered. */
  namedMs: number;
  backstopMs: number;
  /** Milliseconds from `POST /api/v1/zones` until the zone's serial shows in D1 (the version committed). */
  backstopCommitMs: number;
  /** Peak RSS (bytes) while each transferred: named; the transfer-service; workerd (beside it). */
  namedPeakRss: number;
  servicePeakRss: number;
  workerdPeakRss: number;
  /** CPU time (ms, from /proc) spent while Backstop transferred: by the service and by workerd. */
  serviceCpuMs: number;
  workerdCpuMs: number;
  /** named's CPU from `addzone` until it answered, and the primary's (knotd) over the same window. */
  namedCpuMs: number;
  knotdForNamedCpuMs: number;
  /** The primary's CPU while Backstop took the zone (from the POST until answered). */
  knotdForBackstopCpuMs: number;
  /** Backstop's transfers that failed on the way (their errors); each was followed by a refresh request. */
  failedAttempts: string[];
  /**
   * Issue 27: milliseconds from the commit seen in D1 until the service's replica holds the version (its
   * `/metrics` count of loads went up); NaN with the replica off, or when it did not within 30 s.
   */
  replicaAfterCommitMs: number;
  /** How that load was made: `owner` (from the transfer's own stream), `full` (read back from the Worker). */
  replicaLoadKind: string;
}

/** The service's replica load counts by kind (`backstop_replica_load_seconds_count`). */
async function replicaLoads(stack: BackstopStack): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await stack.metrics()).matchAll(/^backstop_replica_load_seconds_count\{[^}]*kind="(\w+)"[^}]*\} (\d+)/gm)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  return out;
}

/** Waits (30 s at most) until a replica load count passes `before`; the kind that did, or undefined. */
async function replicaLoaded(stack: BackstopStack, before: Map<string, number>): Promise<string | undefined> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    for (const [kind, n] of await replicaLoads(stack)) if (n > (before.get(kind) ?? 0)) return kind;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

export interface ZoneSetup {
  zone: string;
  records: number;
  key: TsigKey;
  knotd: PeerHandle;
  named: NamedSecondary;
  transfer: FullTransfer;
  /** Generated A records of the zone (index order), for probes and edits. */
  addressRecords(limit: number, spread?: boolean): ZoneRecord[];
  /** Every generated record once (SOA, NS and glue left out), in an order shuffled by `seed`. */
  shuffledRecords(seed: number): ZoneRecord[];
  stop(): Promise<void>;
}

/** Time allowed to carry a zone: 60 s plus 0.5 ms per record (1M records: ~9 minutes). */
export const transferBudgetMs = (records: number) => 60_000 + records / 2;

let serial = 0;

/**
 * A failed first transfer is retried by the service only after the SOA retry interval (clamped to at
 * least 500 s), far beyond any sensible wait here; the bench asks for a refresh through the API instead,
 * at most this many times, and reports each failure beside the figure.
 */
const MAX_RETRIES = 2;

/** The zone's last transfer when it failed (its error and time), else undefined. */
async function failedTransfer(stack: BackstopStack, zone: string): Promise<{ error: string; at: number } | undefined> {
  const last = await stack.lastTransfer(zone);
  // TRANSFER_RESULTS: "ok" and "up-to-date" are fine; "failed", "refused", "serial-regressed" are not.
  return last !== undefined && last.result !== "ok" && last.result !== "up-to-date"
    ? { error: `${last.result}: ${last.error ?? ""}`, at: last.at }
    : undefined;
}

/** Runs a step, profiling the Worker meanwhile when asked (`BenchContext.profiled`). */
export type Profiled = <T>(label: string, step: () => Promise<T>) => Promise<T>;

export async function setUpZone(stack: BackstopStack, records: number, log: (line: string) => void, profiled: Profiled): Promise<ZoneSetup> {
  const zone = `z${records}-${++serial}.bench`;
  const key: TsigKey = { name: `${zone}.key`, algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-zone-"));
  const cleanups: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const file = path.join(dir, "zone");
    await writeZoneFile(file, { origin: zone, records, seed: ZONE_SEED, serial: 1 });
    const named = await startNamedSecondary([key]);
    cleanups.push(() => named.stop());
    const knotd = await startKnotd({
      keys: [key],
      zones: [{ name: zone, file, transferKey: key.name, notify: [`127.0.0.1:${stack.dnsPort}`, `127.0.0.1:${named.port}`], signNotify: true }],
      startTimeoutMs: transferBudgetMs(records),
    });
    cleanups.push(() => knotd.stop());
    await stack.addTsigKey(key);

    const addressRecords = (limit: number, spread = false): ZoneRecord[] => {
      // About 40% of generated records are A records: a stride of generated / (2.5 × limit) spans the
      // zone; a second, dense pass tops up what the stride missed.
      const out: ZoneRecord[] = [];
      const taken = new Set<number>();
      const generated = records - 3;
      const step = spread ? Math.max(1, Math.floor(generated / (limit * 2.5))) : 1;
      for (const stride of [step, 1]) {
        for (let i = 0; i < generated && out.length < limit; i += stride) {
          const r = generatedRecord(zone, ZONE_SEED, i);
          if (r.type === "A" && !taken.has(i)) {
            taken.add(i);
            out.push(r);
          }
        }
      }
      return out;
    };
    const shuffledRecords = (seed: number): ZoneRecord[] => {
      const random = prng(seed);
      const all = Array.from({ length: records - 3 }, (_, i) => generatedRecord(zone, ZONE_SEED, i));
      // Fisher–Yates.
      for (let i = all.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      return all;
    };
    let last: ZoneRecord | undefined;
    for (let i = records - 4; i >= 0 && !last; i--) {
      const r = generatedRecord(zone, ZONE_SEED, i);
      if (r.type === "A") last = r;
    }
    if (!last) throw new Error(`zone of ${records} records has no A record to probe`);
    const probe = last;
    const budget = transferBudgetMs(records);

    log(`  ${zone}: named addzone …`);
    let sampler = sampleRss(named.pid);
    // The primary's CPU is counted on both sides: it serves the same AXFR to each, and on a machine whose
    // cores all three share, the secondaries' wall times follow the CPU everything spent meanwhile.
    const namedCpu = cpuMeter([named.pid, knotd.pid]);
    const since = performance.now();
    await named.addZone(zone, knotd.port, key);
    const namedMs = await untilAnswered(() => udpAnswers(named.port, probe.owner, RRType.A), probe.data, { since, timeoutMs: budget, what: `named ${zone}` });
    const namedPeakRss = sampler.stop();
    const [namedCpuMs, knotdForNamedCpuMs] = namedCpu.stop() as [number, number];

    log(`  ${zone}: named ${(namedMs / 1000).toFixed(2)} s (CPU: named ${(namedCpuMs / 1000).toFixed(2)} s, knotd ${(knotdForNamedCpuMs / 1000).toFixed(2)} s); Backstop POST /zones …`);
    sampler = sampleRss(stack.servicePid);
    const workerdSampler = sampleRss(stack.worker.workerdPid);
    const cpu = cpuMeter([stack.servicePid, stack.worker.workerdPid, knotd.pid]);
    const failedAttempts: string[] = [];
    let backstopCommitMs = Number.NaN;
    let replicaAfterCommitMs = Number.NaN;
    let replicaLoadKind = "none";
    const replicaOn = process.env.BACKSTOP_REPLICA_MAX_BYTES !== "0";
    const loadsBefore = replicaOn ? await replicaLoads(stack) : new Map<string, number>();
    const backstopMs = await profiled(`transfer-${records}`, async () => {
      const started = performance.now();
      await stack.addZone(zone, knotd.port, key);
      let checked = started;
      let lastFailureAt: number | undefined;
      const ask = async (): Promise<string[]> => {
        const answers = await dohAnswers(stack.worker.backstop, probe.owner, RRType.A);
        if (answers.length === 0 && performance.now() - checked > 1000) {
          checked = performance.now();
          const failed = await failedTransfer(stack, zone);
          if (failed && failed.at !== lastFailureAt) {
            lastFailureAt = failed.at;
            failedAttempts.push(failed.error);
            if (failedAttempts.length > MAX_RETRIES) return answers;
            log(`  ${zone}: Backstop's transfer failed (${failed.error}); asking for a refresh, as an operator would`);
            await stack.api("POST", `/zones/${zone}/refresh`, {}, 202);
          }
        }
        return answers;
      };
      const giveUp = () => (failedAttempts.length > MAX_RETRIES ? `the transfer failed ${failedAttempts.length} times: ${failedAttempts.join("; ")}` : undefined);
      const [answered, committed] = await Promise.all([
        untilAnswered(ask, probe.data, { since: started, timeoutMs: budget, what: `Backstop ${zone}`, giveUp }),
        // Serial 1 in the zones row (read from D1 directly): the version is committed.
        untilAnswered(async () => [String(await stack.serial(zone))], "1", { since: started, timeoutMs: budget, what: `Backstop ${zone} commit`, giveUp }).then(async (ms) => {
          // Issue 27: from the commit seen in D1 (polled, so a little after the commit event) until /metrics
          // (polled every 10 ms) counts the replica's load of it.
          if (!replicaOn) return ms;
          const at = performance.now();
          const kind = await replicaLoaded(stack, loadsBefore);
          if (kind !== undefined) {
            replicaAfterCommitMs = performance.now() - at;
            replicaLoadKind = kind;
          }
          return ms;
        }),
      ]).catch((err: Error) => {
        throw new Error(`${err.message}\nservice output:\n${stack.serviceOutput().slice(-3000)}`);
      });
      backstopCommitMs = committed;
      return answered;
    });
    const [serviceCpuMs, workerdCpuMs, knotdForBackstopCpuMs] = cpu.stop() as [number, number, number];
    const servicePeakRss = sampler.stop();
    const workerdPeakRss = workerdSampler.stop();
    log(`  ${zone}: Backstop ${(backstopMs / 1000).toFixed(2)} s (CPU: service ${(serviceCpuMs / 1000).toFixed(2)} s, workerd ${(workerdCpuMs / 1000).toFixed(2)} s, knotd ${(knotdForBackstopCpuMs / 1000).toFixed(2)} s)`);

    return {
      zone,
      records,
      key,
      knotd,
      named,
      transfer: { namedMs, backstopMs, backstopCommitMs, namedPeakRss, servicePeakRss, workerdPeakRss, serviceCpuMs, workerdCpuMs, namedCpuMs, knotdForNamedCpuMs, knotdForBackstopCpuMs, failedAttempts, replicaAfterCommitMs, replicaLoadKind },
      addressRecords,
      shuffledRecords,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
