/**
 * @module The port-53 front's miss mix in one process, without sockets (issue 27, session 8): what the UDP
 * bench's miss rows (`udp-front.ts`) cost in JavaScript, measured as CPU time per query with nothing else in
 * the way, so that a change to the engine, the compact store or the front's dispatch can be compared A/B on
 * a shared machine, where dnsperf's rates follow how much of a core each server got.
 *
 * The zone is the bench's (`test/zones/generate.ts`, seed `ZONE_SEED`), packed into a replica as the front
 * loads it (a `Replica` over an in-memory feed and record stream). The queries are the miss mix's: every
 * generated record's owner and type once, shuffled with the same seed as `udp-front.ts`'s file, without an
 * OPT, as dnsperf sends them by default. Two paths:
 *   - `engine`: `replicaAnswerer` alone (the engine over the replica's view, and its origin);
 *   - `front` (default): the listener's handler as the service builds it (`createDispatcher` → the forward
 *     with the response cache → the replica answerer, RRL on but with loopback exempt as in the bench,
 *     cookies), each reply taken as the listener takes it (at once when the handler returns it, awaited when it
 *     returns a promise; the round says how many were waited for); no socket;
 *   - `--no-cache`: the front without its response cache (every answer the replica's);
 *   - with `--mix hot`, `engine` and `front` ask the 16 names of the UDP bench's hot round in turn instead (as
 *     many queries as the miss mix: the front answers all but the first 16 from its response cache);
 *   - `udp`: that front behind the real DNS listener (`dns-listener.ts`) on 127.0.0.1, and dnsperf sending it
 *     the miss mix once a round (`--mix hot`: the 16 names the UDP bench's hot round asks, for 5 s), as
 *     `udp-front.ts` does; CPU per answered query split into user and system time, with the rate dnsperf saw
 *     and the main thread's context switches per query (Linux's /proc).
 * Each round answers every query once; the figure is `process.cpuUsage()` (user + system) per query of the
 * best round, with every answer's octets folded into a SHA-256 so two versions of the code can be shown to
 * answer the same. `--check` compares each answer with the general path's: `answerQuery` of the engine over
 * a plain `CompactZoneStore` of the same zone.
 *
 *   npx tsx bench/miss-cpu.ts [--records 100000] [--rounds 5] [--path front|engine|udp] [--mix miss|hot] [--check]
 *   npx tsx bench/miss-cpu.ts --profile /tmp/miss.cpuprofile   (a V8 CPU profile of the rounds alone, and its top)
 *   npx tsx bench/miss-cpu.ts --heap-profile /tmp/miss.heapprofile   (what the rounds allocate, collected or not)
 *
 * Bounded: `records` × `rounds` queries, nothing listens, nothing is sent.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { Name } from "../dns/name.ts";
import { prng } from "../dns/testing/prng.ts";
import { parseZoneText } from "../dns/zonefile/parser.ts";
import { encodeRecordStream } from "../contract/record-stream.ts";
import type { ZoneConfigChanges } from "../contract/internal-v1.ts";
import { servedZoneConfig } from "../transfer-service/testing/zone-config.ts";
import { answerQuery } from "../answer/engine.ts";
import { CompactZone, CompactZoneStore } from "../answer/store/compact-zone.ts";
import type { ZoneInfo } from "../answer/zone-store.ts";
import { queryWire } from "../answer/testing/table.ts";
import { generateZone, generatedRecord, type ZoneRecord } from "../test/zones/generate.ts";
import { runTool } from "../test/peers/run-tool.ts";
import { createLogger } from "../transfer-service/ops/log.ts";
import { Metrics } from "../transfer-service/ops/metrics.ts";
import { createDispatcher } from "../transfer-service/server/dns-dispatch.ts";
import { startDnsListener } from "../transfer-service/server/dns-listener.ts";
import type { DnsHandler } from "../transfer-service/server/request-context.ts";
import type { RequestContext } from "../transfer-service/server/request-context.ts";
import { ServerCookies } from "../transfer-service/server/query/cookie.ts";
import { createQueryForwarder } from "../transfer-service/server/query/query-forward.ts";
import { readQueryShape } from "../transfer-service/server/query/query-shape.ts";
import { ResponseCache } from "../transfer-service/server/query/response-cache.ts";
import { ResponseRateLimiter } from "../transfer-service/server/query/rrl.ts";
import type { WorkerUpstream } from "../transfer-service/server/query/worker-upstream.ts";
import { Replica } from "../transfer-service/server/replica/replica.ts";
import { replicaAnswerer } from "../transfer-service/server/replica/replica-answer.ts";
import type { FeedCursor, ReplicaSource } from "../transfer-service/server/replica/replica-source.ts";
import { loadConfig } from "../transfer-service/config.ts";
import { type CpuProfile, describeSummary, summarise } from "./cpu-profile.ts";
import { ZONE_SEED } from "./zone-setup.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    path: { type: "string", default: "front" },
    mix: { type: "string", default: "miss" },
    "max-qps": { type: "string" },
    check: { type: "boolean", default: false },
    "no-cache": { type: "boolean", default: false },
    profile: { type: "string" },
    "heap-profile": { type: "string" },
  },
});
const records = Number(values.records);
const rounds = Number(values.rounds);
if (!Number.isInteger(records) || records < 4 || !Number.isInteger(rounds) || rounds < 1) throw new Error("--records ≥ 4 and --rounds ≥ 1, integers");
if (values.path !== "front" && values.path !== "engine" && values.path !== "udp") throw new Error("--path: front, engine or udp");
if (values.mix !== "miss" && values.mix !== "hot") throw new Error("--mix: miss or hot");

const zone = `z${records}-1.bench`;
const log = createLogger({ level: "silent" });

/** The zone's record stream, as the Worker would serve its version. */
function zoneStream(): Uint8Array {
  const text = generateZone({ origin: zone, records, seed: ZONE_SEED, serial: 1 });
  return encodeRecordStream(parseZoneText(text, { origin: Name.parse(`${zone}.`), defaultTtl: 3600 }));
}

/** The miss mix: every generated record once, shuffled as `udp-front.ts`'s file (seed ZONE_SEED + 1). */
function missRecords(): ZoneRecord[] {
  const random = prng(ZONE_SEED + 1);
  const all = Array.from({ length: records - 3 }, (_, i) => generatedRecord(zone, ZONE_SEED, i));
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}

/**
 * The mix as query messages, without an OPT (as dnsperf sends them by default): the miss mix, or (`--mix hot`)
 * the hot round's 16 names asked in turn, as many queries as the miss mix has (all but the first 16 answered
 * from the response cache on the `front` path).
 */
function mixQueries(): Uint8Array[] {
  if (values.mix === "miss") return missRecords().map((r, i) => queryWire(r.owner, r.type, { id: i & 0xffff, edns: false }));
  const hot = hotRecords();
  return Array.from({ length: records - 3 }, (_, i) => queryWire(hot[i % hot.length]!.owner, "A", { id: i & 0xffff, edns: false }));
}

/** The hot round's names: 16 A records spread over the zone, as `udp-front.ts` picks them. */
function hotRecords(): ZoneRecord[] {
  const hot: ZoneRecord[] = [];
  for (let i = 0; hot.length < 16 && i < records - 3; i += Math.max(1, Math.floor(records / 40))) {
    const r = generatedRecord(zone, ZONE_SEED, i);
    if (r.type === "A") hot.push(r);
  }
  return hot;
}

/** One zone, one version: the Worker as the replica reads it. */
class OneZoneSource implements ReplicaSource {
  constructor(private readonly stream: Uint8Array) {}
  async zoneChanges(_cursor: FeedCursor): Promise<ZoneConfigChanges> {
    const config = servedZoneConfig({ id: 1, name: zone, recordCount: records });
    return { zones: [config], keys: [], deleted: [], cursor: { since: 1, deletes: 0 }, more: false, resync: false };
  }
  async versionRecords(): Promise<Uint8Array> {
    return this.stream;
  }
  async close(): Promise<void> {}
}

/** dnsperf's query file of the mix: the miss mix's names and types, or the hot round's 16 A names. */
function dnsperfFile(): string {
  if (values.mix === "miss") return missRecords().map((r) => `${r.owner} ${r.type}\n`).join("");
  return hotRecords().map((r) => `${r.owner} A\n`).join("");
}

/** The main thread's context switches so far (voluntary and not; Linux's /proc), or undefined elsewhere. */
async function switches(): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/self/task/${process.pid}/status`, "utf8");
    const count = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    const n = count("voluntary_ctxt_switches") + count("nonvoluntary_ctxt_switches");
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One round through a real socket: `handler` behind the DNS listener on 127.0.0.1, dnsperf asking it (the
 * miss file once, or the hot names for 5 s). Returns this process's CPU per answered query, µs.
 */
async function udpRound(handler: DnsHandler, round: number): Promise<number> {
  const listener = await startDnsListener({ addresses: [{ host: "127.0.0.1", port: 0 }], handler, log, tcpIdleTimeoutMs: 10_000, maxTcpConnections: 10 });
  const dir = await mkdtemp(path.join(tmpdir(), "miss-cpu-"));
  try {
    const file = path.join(dir, "queries.txt");
    await writeFile(file, dnsperfFile());
    const args = ["-s", "127.0.0.1", "-p", String(listener.addresses[0]!.port), "-d", file, "-c", "4", "-q", "100", "-t", "2"];
    args.push(...(values.mix === "miss" ? ["-n", "1", "-l", "120"] : ["-l", "5"]));
    if (values["max-qps"] !== undefined) args.push("-Q", values["max-qps"]);
    const s0 = await switches();
    const f0 = process.resourceUsage().minorPageFault;
    const t0 = process.cpuUsage();
    const result = await runTool("dnsperf", args, { timeoutMs: 180_000 });
    const cpu = process.cpuUsage(t0);
    const faults = process.resourceUsage().minorPageFault - f0;
    const s1 = await switches();
    const out = result.stdout + result.stderr;
    const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const lost = /Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out)?.[1] ?? "?";
    const per = (us: number) => us / Math.max(1, completed);
    const us = per(cpu.user + cpu.system);
    const switched = s0 === undefined || s1 === undefined ? "" : `, ${per(s1 - s0).toFixed(2)} context switches/query`;
    console.log(`round ${round + 1}: ${us.toFixed(2)} µs CPU/query (user ${per(cpu.user).toFixed(2)}, system ${per(cpu.system).toFixed(2)}), ${completed} answered at ${qps.toFixed(0)} qps, ${lost}% lost${switched}, ${per(faults).toFixed(3)} page faults/query`);
    return us;
  } finally {
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const stream = zoneStream();
  const queries = mixQueries();
  // A clock that stands still: the replica's vouching read stays fresh through every round.
  const clock = Date.now();
  const now = () => clock;
  const replica = new Replica({ source: new OneZoneSource(stream), log, maxRecords: 10_000_000, maxBytes: 2 ** 31, pollMs: 3_600_000, now });
  await replica.poll();
  try {
    replica.resolve(Name.parse(`${zone}.`));
  } catch {
    // The first ask of the zone starts its load.
  }
  await replica.settled();
  const answerer = replicaAnswerer(replica, log, now);
  const ctx: RequestContext = { transport: "udp", remoteAddress: "127.0.0.1", remotePort: 5353 };

  // The service's front, as `service.ts` `createFront` makes it, from the bench's environment.
  const config = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "bench-miss-cpu-token", BACKSTOP_RRL_EXEMPT: "127.0.0.0/8" });
  const metrics = new Metrics({ defaultMetrics: false });
  const upstream = { pool: undefined, dohPath: "/dns-query" } as unknown as WorkerUpstream;
  // A new front each round: the bench asks each name once, so no round may find the last one's cache.
  const newFront = () => createDispatcher({
    notify: () => Promise.reject(new Error("no NOTIFY here")),
    front: {
      forward: createQueryForwarder({
        upstream,
        internalToken: config.internalToken,
        timeoutMs: config.front.timeoutMs,
        maxInFlight: config.front.maxInFlight,
        // `--no-cache`: every answer from the replica, none from the response cache (is caching them worth it?).
        cache: values["no-cache"] ? undefined : new ResponseCache({ maxEntries: config.front.cacheEntries, ttlMs: config.front.cacheTtlMs }),
        metrics,
        log,
        local: answerer,
      }),
      rrl: new ResponseRateLimiter({ ...config.rrl, log, metrics }),
      nsid: config.front.nsid,
      cookies: new ServerCookies({ secret: new Uint8Array(16).fill(7) }),
    },
    metrics,
  });
  let handler = newFront();
  // A reply that is there at once is taken at once, as the listener does (no await: a microtask per query).
  const answerOne =
    values.path === "engine"
      ? (wire: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> => {
          const local = answerer(wire, readQueryShape(wire), ctx);
          return local instanceof Promise ? local.then((l) => l?.answer) : local?.answer;
        }
      : (wire: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> => {
          const reply = handler(wire, ctx);
          return reply instanceof Promise ? reply.then((r) => (r instanceof Uint8Array ? r : undefined)) : reply instanceof Uint8Array ? reply : undefined;
        };

  let general: ((wire: Uint8Array) => Promise<Uint8Array>) | undefined;
  if (values.check) {
    // The general path, for comparison: the engine over a plain store of the same packed zone.
    const packed = CompactZone.fromStream(stream, Name.parse(`${zone}.`));
    const info: ZoneInfo = { id: 1, name: Name.parse(`${zone}.`), model: "secondary", version: 1, expiresAt: null, answerAllow: [] };
    const store = new (class extends CompactZoneStore {
      async findZone(name: Name): Promise<ZoneInfo | null> {
        return name.isSubdomainOf(info.name) ? info : null;
      }
      protected zoneData(): CompactZone {
        return packed;
      }
    })();
    general = async (wire) => (await answerQuery(store, wire, { transport: "udp", udpLimit: 512, client: { address: "127.0.0.1", admin: false }, now: clock })).wire;
  }

  const session = values.profile === undefined && values["heap-profile"] === undefined ? undefined : new Session();
  if (session) session.connect();
  if (session && values.profile !== undefined) {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  if (session && values["heap-profile"] !== undefined) {
    await session.post("HeapProfiler.enable");
    // Every allocation sampled, also those the collector has taken since: the garbage is what costs here.
    await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  let best = Infinity;
  let digest = "";
  let missing = 0;
  let differ = 0;
  for (let round = 0; round < rounds; round++) {
    if (values.path === "udp") {
      const front = newFront();
      const wrapped: DnsHandler = process.env.MISS_ASYNC ? async (w, c) => front(w, c) : front;
      best = Math.min(best, await udpRound(wrapped, round));
      continue;
    }
    const hash = createHash("sha256");
    missing = 0;
    handler = newFront();
    const t0 = process.cpuUsage();
    const w0 = performance.now();
    let waited = 0;
    for (const wire of queries) {
      let reply = answerOne(wire);
      if (reply instanceof Promise) {
        waited++;
        reply = await reply;
      }
      if (reply === undefined) missing++;
      else hash.update(reply);
    }
    const cpu = process.cpuUsage(t0);
    const wall = performance.now() - w0;
    const us = (cpu.user + cpu.system) / queries.length;
    best = Math.min(best, us);
    digest = hash.digest("hex").slice(0, 16);
    console.log(`round ${round + 1}: ${us.toFixed(2)} µs CPU/query (user ${(cpu.user / queries.length).toFixed(2)}, system ${(cpu.system / queries.length).toFixed(2)}), ${((wall * 1000) / queries.length).toFixed(2)} µs wall, ${missing} unanswered, ${waited} waited for, answers ${digest}`);
  }
  if (session && values.profile !== undefined) {
    const { profile } = await session.post("Profiler.stop");
    await writeFile(values.profile, JSON.stringify(profile));
    console.log(`${values.profile}:\n${describeSummary(summarise(profile as CpuProfile, 25))}`);
  }
  if (session && values["heap-profile"] !== undefined) {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    await writeFile(values["heap-profile"], JSON.stringify(profile));
    console.log(`${values["heap-profile"]}: written`);
  }
  session?.disconnect();
  if (general) {
    handler = newFront();
    for (const wire of queries) {
      const a = await answerOne(wire);
      const b = await general(wire);
      if (a === undefined || Buffer.compare(a, b) !== 0) differ++;
    }
    console.log(`check: ${differ} of ${queries.length} answers differ from the general path's`);
  }
  console.log(`${values.path} (${values.mix}): ${queries.length} queries over ${records} records, best round ${best.toFixed(2)} µs CPU/query, answers ${digest}`);
  await replica.stop();
  if (missing > 0 || differ > 0) process.exitCode = 1;
}

await main();
