/**
 * @module Full-transfer ingest into the real Worker (`wrangler dev`, local D1), two figures per zone size:
 *
 * - **store**: the zone, as knotd sends it, is first read into memory; then only begin → chunks → commit
 *   through the service's `WorkerClient` is timed: the Worker's ingest rate into local D1.
 * - **end to end**: knotd → AXFR client (TSIG hmac-sha256) → `WorkerClient` → Worker → D1, the path the
 *   refresh machine takes, timed from the AXFR query to the committed flip, with this process's peak RSS
 *   (it holds exactly what the transfer-service holds during a transfer: the AXFR client and the client).
 *
 * - **ixfr** (after **store**, on its zone): one changeset adding a second address to `BENCH_IXFR_CHANGES`
 *   (default 1,000) A RRsets spread evenly over the zone, sent as the service sends an IXFR
 *   (`POST …/changesets`), timed from the call to the committed answer, with workerd's CPU meanwhile and
 *   the D1 rows the Worker read and wrote for it (issue 28: an IXFR costs in proportion to the change). By
 *   default two rounds: the changesets alone (the Worker reads the touched blocks), then with the changed nodes
 *   a replica of the base version computes (`answer/store/changed-nodes.ts`; `nodesMs` is that computation,
 *   the service's CPU), which the Worker stores without reading a block.
 *
 * Each run goes into a fresh zone of the same Worker, so the D1 file grows by one copy per run.
 *
 *   npx tsx bench/ingest-d1.ts 100000 1000000          # both figures per size
 *   BENCH_ONLY=e2e npx tsx bench/ingest-d1.ts 1000000  # one of them (store | e2e; ixfr: store, then ixfr)
 *   BENCH_CHUNK_BYTES=524288 BENCH_IN_FLIGHT=2 …       # other chunk settings than the client's defaults
 *   BENCH_ONLY=ixfr BENCH_IXFR_ROUNDS=6 …              # IXFRs in a row: the overlay grows, then folds
 *   BENCH_IXFR_NODES=alt|blocks|nodes                  # rounds with the replica's changed nodes (issue 28,
 *                                                      # session 10): alternately (default, 2 rounds), never, always
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { nodeHmac } from "../dns/hmac.node.ts";
import type { ResourceRecord } from "../dns/message.ts";
import { Name } from "../dns/name.ts";
import { RRType } from "../dns/constants.ts";
import { withSoaSerial } from "../dns/rdata/soa.ts";
import { prepareTsigKey } from "../dns/tsig/key.ts";
import { cpuMs, descendantsNamed } from "./proc.ts";
import { startKnotd } from "../test/peers/index.ts";
import type { PeerHandle, TsigKey } from "../test/peers/types.ts";
import { startWranglerDev } from "../test/stack/wrangler-dev.ts";
import { writeZoneFile } from "../test/zones/generate.ts";
import { encodeRecordStream, parseRecordStream } from "../contract/record-stream.ts";
import { WorkerClient } from "../transfer-service/worker/worker-client.ts";
import { ZoneConfigList } from "../contract/internal-v1.ts";
import { CompactZone } from "../answer/store/compact-zone.ts";
import { encodeChangedNodes, ixfrNodes, type IxfrNodes } from "../answer/store/changed-nodes.ts";
import { TransferError } from "../transfer-service/remote/transfer-error.ts";
import { transfer, type XfrLimits, type XfrSink } from "../transfer-service/remote/xfr-in.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const OWNER = "bench-1";
const key: TsigKey = { name: "bench.key.", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const limits: XfrLimits = {
  connectTimeoutMs: 5000,
  idleTimeoutMs: 600_000,
  totalTimeoutMs: 3_600_000,
  maxRecords: 50_000_000,
  maxBytes: 2 ** 40,
  chunkRecords: Number(process.env.BACKSTOP_XFR_CHUNK_RECORDS ?? 2000),
};

/**
 * Keeps every chunk (for the store-only replay) as encoded bytes: a million live record objects would
 * make the collector pause the reader long enough for knotd to drop the connection.
 */
class KeepingSink implements XfrSink {
  soa: ResourceRecord | undefined;
  chunks: Uint8Array[] = [];
  async beginFull(soa: ResourceRecord): Promise<void> {
    this.soa = soa;
  }
  async beginIncremental(): Promise<void> {}
  async beginChangeset(): Promise<void> {}
  async beginAdditions(): Promise<void> {}
  async records(chunk: ResourceRecord[]): Promise<void> {
    this.chunks.push(encodeRecordStream(chunk));
  }
  async end(): Promise<void> {}
}

/** CPU seconds spent since `start()` by this process and by every workerd under it. */
function cpuMeter(): { stop(): { nodeCpuSeconds: number; workerdCpuSeconds: number } } {
  const workerd = () => descendantsNamed(process.pid, "workerd").reduce((t, pid) => t + cpuMs(pid), 0);
  const node0 = process.cpuUsage(), workerd0 = workerd();
  return {
    stop: () => {
      const node = process.cpuUsage(node0);
      return { nodeCpuSeconds: +((node.user + node.system) / 1e6).toFixed(2), workerdCpuSeconds: +((workerd() - workerd0) / 1000).toFixed(2) };
    },
  };
}

function peakSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * knotd drops a reader whose socket stays unwritable for a moment; on this shared 2-core machine a busy
 * neighbour can starve the reader that long (seen at ~50k records, with a sink that only counts too).
 * Such a reset is retried, at most twice, and each retry is printed, so no figure hides one.
 */
async function withRetries<T>(attemptOnce: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(attempt);
    } catch (err) {
      if (!(err instanceof TransferError && err.code === "reset") || attempt >= 3) throw err;
      console.log(JSON.stringify({ retry: attempt, reason: err.message }));
    }
  }
}

async function run(records: number, base: string, client: WorkerClient, only: string | undefined): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-bench-"));
  const workerUrl = base;
  let peer: PeerHandle | undefined;
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    const zone = `bench-${records}.test.`;
    const file = path.join(dir, "bench.zone");
    await writeZoneFile(file, { origin: zone, records, seed: 1, serial: 1 });
    peer = await startKnotd({ zones: [{ name: zone, file, transferKey: key.name }], keys: [key], startTimeoutMs: 300_000 });
    const prepared = await prepareTsigKey(key, nodeHmac);
    const primary = { address: peer.address, port: peer.port, key: prepared };
    const zoneName = Name.parse(zone);

    const createZone = async (name: string) => {
      await api("POST", "/zones", { name, model: "secondary", primaries: [{ address: "127.0.0.1", port: peer!.port }] });
      if (!(await client.acquireLease(name, OWNER, 3_600_000))) throw new Error(`no lease on ${name}`);
    };
    const check = async (name: string) => {
      const z = await api("GET", `/zones/${name}`);
      if (z.serial !== 1 || z.recordCount !== records) throw new Error(`${name}: serial ${String(z.serial)}, ${String(z.recordCount)} records`);
    };

    if (only !== "e2e") {
      const keep = new KeepingSink();
      await withRetries(async () => {
        keep.chunks = [];
        await transfer({ kind: "axfr", zone: zoneName, primary, sink: keep, limits });
      });
      const name = `store-${records}.test`;
      await createZone(name);
      // The same records under the store zone's apex: knotd's zone is renamed on the way.
      const apex = Name.parse(name);
      const rename = (rr: ResourceRecord): ResourceRecord => ({ ...rr, name: Name.fromLabels([...rr.name.labels.slice(0, -2), ...apex.labels]) });
      const soa = rename(keep.soa!);
      const chunks = keep.chunks.map((c) => parseRecordStream(c).map(rename));
      keep.chunks = [];
      // The IXFR rounds' replica of the stored version (below), packed before the store: packing a million records
      // takes seconds, which would idle the client's keep-alive connection into the Worker's timeout.
      const nodesMode = process.env.BENCH_IXFR_NODES ?? "alt";
      const prebuilt = nodesMode === "blocks" ? undefined : CompactZone.fromRecords([...chunks.flat(), soa].map((r) => ({ name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata })));
      global.gc?.();
      const cpu = cpuMeter();
      const started = performance.now();
      const session = await client.beginIngest(name, OWNER, "axfr", 1);
      await session.beginFull(soa);
      for (const c of chunks) await session.records(c);
      await session.end();
      const chunksDone = performance.now();
      const result = await session.commit();
      const seconds = (performance.now() - started) / 1000;
      await check(name);
      const storeCpu = cpu.stop();
      console.log(
        JSON.stringify({
          figure: "store",
          records,
          committed: result.records,
          chunks: chunks.length,
          chunkSeconds: +((chunksDone - started) / 1000).toFixed(2),
          commitSeconds: +((performance.now() - chunksDone) / 1000).toFixed(2),
          seconds: +seconds.toFixed(2),
          recordsPerSecond: Math.round(records / seconds),
          ...storeCpu,
        }),
      );

      // The IXFR: a second address on A RRsets spread over the zone; with BENCH_IXFR_ROUNDS, that many in a row
      // (each on other RRsets), to see the overlay grow and fold (issue 28, session 9).
      const wanted = Number(process.env.BENCH_IXFR_CHANGES ?? 1000);
      // Issue 28, session 10: rounds with the changed nodes a replica of the base would send (`nodes`), computed
      // here from a compact zone of the stored version, or without (`blocks`): alternately by default, so each
      // run gives both on the same zone (`BENCH_IXFR_NODES=alt`, or `blocks`, or `nodes` for every round).
      const rounds = Number(process.env.BENCH_IXFR_ROUNDS ?? (nodesMode === "alt" ? 2 : 1));
      let replica = prebuilt;
      const zoneRow = async () => {
        const res = await fetch(`${workerUrl}/internal/v1/zones/${name}`, { headers: { authorization: `Bearer ${INTERNAL}` } });
        const zone = ZoneConfigList.parse(await res.json()).zones[0]!;
        return { id: zone.id!, version: zone.currentVersion!, serial: zone.serial! };
      };
      const addresses = chunks.flat().filter((r) => r.type === RRType.A);
      const step = Math.max(1, Math.floor(addresses.length / wanted));
      let base = soa;
      for (let round = 1; round <= rounds; round++) {
        // Each round other RRsets (the next one along), so that the overlay grows by a changeset a round.
        const targets = addresses.filter((_, i) => i % step === (round - 1) % step).slice(0, wanted);
        const adds = targets.map((r, k): ResourceRecord => ({ ...r, rdata: Uint8Array.of(198, 18 + (k >> 16), (k >> 8) & 255, (k + round) & 255) }));
        const newSoa: ResourceRecord = { ...soa, rdata: withSoaSerial(soa.rdata, round + 1) };
        global.gc?.();
        const withNodes = replica !== undefined && (nodesMode === "nodes" || round % 2 === 0);
        const row = withNodes ? await zoneRow() : undefined;
        const ixfrCpu = cpuMeter();
        const ixfrStarted = performance.now();
        const ixfr = await client.beginIngest(name, OWNER, "ixfr", round + 1);
        await ixfr.beginIncremental(newSoa);
        await ixfr.beginChangeset(base);
        await ixfr.beginAdditions(newSoa);
        await ixfr.records(adds);
        await ixfr.end();
        // What the service's replica does at the transfer's end (`replica.ts` nodesFor), timed apart.
        let nodesMs: number | undefined;
        let computed: IxfrNodes | undefined;
        if (withNodes) {
          const t = performance.now();
          computed = ixfrNodes(replica!.nodeSource(), [{ deletions: [base], additions: [newSoa, ...adds] }]);
          const { recordDelta, replacedExpiry, earliestAfter } = computed;
          ixfr.attachNodes!({ base: { zoneId: row!.id, version: row!.version, serial: row!.serial, recordDelta, replacedExpiry, earliestAfter }, nodes: encodeChangedNodes(computed.nodes) });
          nodesMs = +(performance.now() - t).toFixed(1);
        }
        const applied = await ixfr.commit();
        const seconds = +((performance.now() - ixfrStarted) / 1000).toFixed(2);
        const cpuUsed = ixfrCpu.stop();
        // The replica's next version, as the commit event makes it (not timed: it is off the Worker's path).
        if (replica !== undefined) replica = computed ? replica.withOwners(computed.nodes.filter((n) => !n.unchanged)) : replica.withChanges([{ deletions: [base], additions: [newSoa, ...adds] }]);
        base = newSoa;
        console.log(
          JSON.stringify({
            figure: "ixfr",
            ...(rounds > 1 ? { round } : {}),
            records,
            changes: adds.length,
            serial: applied.serial,
            nodes: withNodes ? (applied.nodes === "replica" ? "stored" : "set aside") : "none",
            ...(nodesMs === undefined ? {} : { nodesMs }),
            seconds,
            d1RowsRead: applied.d1Rows?.read,
            d1RowsWritten: applied.d1Rows?.written,
            ...cpuUsed,
          }),
        );
      }
    }

    if (only !== "store" && only !== "ixfr") {
      const name = zone.slice(0, -1);
      await createZone(name);
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let sampler = peakSampler();
      let cpu = cpuMeter();
      let started = performance.now();
      const { result, committed } = await withRetries(async (attempt) => {
        if (attempt > 1) {
          sampler.stop();
          [sampler, cpu, started] = [peakSampler(), cpuMeter(), performance.now()];
        }
        const session = await client.beginIngest(name, OWNER, "axfr", 1);
        try {
          const result = await transfer({ kind: "axfr", zone: zoneName, primary, sink: session, limits });
          return { result, committed: await session.commit() };
        } catch (err) {
          await session.abort("bench attempt failed").catch(() => undefined);
          throw err;
        }
      });
      const seconds = (performance.now() - started) / 1000;
      const peak = sampler.stop();
      await check(name);
      console.log(
        JSON.stringify({
          figure: "e2e",
          records,
          received: result.records,
          committed: committed.records,
          seconds: +seconds.toFixed(2),
          recordsPerSecond: Math.round(records / seconds),
          rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
          peakRssMiB: Math.round(peak / 2 ** 20),
          ...cpu.stop(),
        }),
      );
    }
  } finally {
    await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n >= 3);
const worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL, startTimeoutMs: 180_000 });
// BENCH_CHUNK_BYTES / BENCH_IN_FLIGHT override the client's defaults, to compare settings in one session.
const optional = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const client = new WorkerClient({
  baseUrl: worker.base,
  token: INTERNAL,
  timeoutMs: 120_000,
  chunkBytes: optional(process.env.BENCH_CHUNK_BYTES),
  chunksInFlight: optional(process.env.BENCH_IN_FLIGHT),
});
try {
  for (const n of sizes.length ? sizes : [100_000]) await run(n, worker.base, client, process.env.BENCH_ONLY);
} catch (err) {
  // What workerd said last (a crash, an exception) beside the failure.
  console.error(worker.output().slice(-4000));
  throw err;
} finally {
  await client.close();
  await worker.stop();
}
