/**
 * @module The whole Backstop stack for the bench, each part its own process so /proc can charge it:
 * the Worker (and the trivial Worker beside it) on one workerd (`worker-pair.ts`), and the
 * transfer-service as `node --import tsx transfer-service/main.ts` (what `npm start` runs), listening for
 * NOTIFY and port-53 queries on a free loopback port and for the Worker's refresh signals on another.
 * Zones are created through `/api/v1` as an operator would; the Worker signals the service, which
 * transfers at once.
 *
 * With `cpuProfileDir`, the service runs under `node --cpu-prof` (a `.cpuprofile` is written there when
 * the stack stops) and workerd opens its inspector, so steps can profile the Worker too (`cpu-profile.ts`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { freePorts } from "../test/peers/ports.ts";
import type { TsigKey } from "../test/peers/types.ts";
import { waitFor } from "../test/transfer/service-under-test.ts";
import { startWorkerPair, type WorkerPair } from "./worker-pair.ts";
import { descendantsNamed } from "./proc.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/**
 * Extra Node/V8 flags for every transfer-service process the bench starts (the stack's and `startFront`'s; their
 * query processes inherit them), from `BENCH_FRONT_NODE_FLAGS` (space-separated), for experiments such as
 * `--max-semi-space-size=64` (issue 27, session 11). Empty by default: the bench runs the service as shipped.
 */
const frontNodeFlags = (process.env.BENCH_FRONT_NODE_FLAGS ?? "").split(/\s+/).filter((flag) => flag !== "");

export interface BackstopStackOptions {
  /** Write a V8 CPU profile of the transfer-service into this directory at stop. */
  cpuProfileDir?: string;
  /** The service's log level (default "warn"). */
  logLevel?: string;
}

export interface BackstopStack {
  worker: WorkerPair;
  /** The Worker's ADMIN_TOKEN (the panel bench signs in with it). */
  adminToken: string;
  /** The transfer-service's DNS port (NOTIFY and the port-53 front), UDP and TCP on 127.0.0.1. */
  dnsPort: number;
  /** The transfer-service's Node process. */
  servicePid: number;
  /** `/api/v1` call with the admin token; throws on a status other than `expect`. */
  api(method: string, apiPath: string, body?: unknown, expect?: number): Promise<Record<string, unknown>>;
  addTsigKey(key: TsigKey): Promise<void>;
  /** Creates a secondary zone of `primaryPort` on 127.0.0.1 (TSIG `key`), NOTIFY allowed from loopback. */
  addZone(zone: string, primaryPort: number, key: TsigKey): Promise<void>;
  /**
   * The serial Backstop has committed for `zone`, or undefined before the first transfer. Read from D1
   * directly (`WorkerPair.d1First`), so asking does not disturb the Worker's caches.
   */
  serial(zone: string): Promise<number | undefined>;
  /** The zone's newest transfer-log entry (D1, read directly), or undefined. */
  lastTransfer(zone: string): Promise<{ result: string; error: string | null; at: number } | undefined>;
  /** What the service printed lately (for failure messages). */
  serviceOutput(): string;
  /** The service's Prometheus text (`GET /metrics` on its loopback HTTP port, which needs no token). */
  metrics(): Promise<string>;
  /**
   * Another transfer-service instance on the same Worker, with `processes` front processes
   * (BACKSTOP_FRONT_PROCESSES; the stack's own runs one), on its own DNS port: the multi-process rows of the
   * UDP bench. Stopped with the stack at the latest.
   */
  startFront(processes: number): Promise<ExtraFront>;
  stop(): Promise<void>;
}

export interface ExtraFront {
  dnsPort: number;
  /** The owner's pid and its query processes' (every process the front's CPU is charged to). */
  pids(): number[];
  /** The front's Prometheus text (the owner's `/metrics`, every process merged). */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** A zone's name as the zones table may hold it: without and with the root's dot, lower case. */
const spellings = (zone: string): [string, string] => {
  const bare = zone.replace(/\.$/, "").toLowerCase();
  return [bare, `${bare}.`];
};

export async function startBackstopStack(options: BackstopStackOptions = {}): Promise<BackstopStack> {
  const adminToken = `admin-${randomBytes(16).toString("hex")}`;
  const internalToken = `internal-${randomBytes(16).toString("hex")}`;
  const [dnsPort, httpPort] = (await freePorts(2)) as [number, number];
  const worker = await startWorkerPair({
    adminToken,
    internalToken,
    serviceControlUrl: `http://127.0.0.1:${httpPort}`,
    inspector: options.cpuProfileDir !== undefined,
  });

  const nodeArgs = [...frontNodeFlags, "--import", "tsx"];
  if (options.cpuProfileDir) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir);
  let output = "";
  const service: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(root, "transfer-service/main.ts")], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      BACKSTOP_WORKER_URL: worker.backstop,
      BACKSTOP_INTERNAL_TOKEN: internalToken,
      BACKSTOP_INSTANCE_ID: "bench-1",
      BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      BACKSTOP_LOG_LEVEL: options.logLevel ?? "warn",
      // One process, as the single-process rows and the CPU profile need (the default is one per core).
      BACKSTOP_FRONT_PROCESSES: "1",
      BACKSTOP_POLL_INTERVAL_S: "1",
      BACKSTOP_SOA_TIMEOUT_MS: "1000",
      // Every bench client is on loopback: response rate limiting (rrl.ts) would throttle dnsperf to 50
      // answers a second. The check still runs; knotd and named run without RRL too.
      BACKSTOP_RRL_EXEMPT: "127.0.0.0/8",
    },
  });
  const keep = (d: Buffer) => (output = (output + String(d)).slice(-20_000));
  service.stdout!.on("data", keep);
  service.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => service.once("exit", () => r()));

  const extras = new Set<ExtraFront>();
  const stop = async (): Promise<void> => {
    for (const extra of [...extras]) await extra.stop();
    if (service.exitCode === null && service.signalCode === null) {
      service.kill("SIGTERM");
      // The service drains in-flight work for up to its grace period (10 s), then exits.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (service.exitCode === null && service.signalCode === null) service.kill("SIGKILL");
    }
    await worker.stop();
  };

  try {
    await waitFor(
      "transfer-service /healthz",
      async () => {
        if (service.exitCode !== null) throw new Error(`transfer-service exited with ${service.exitCode}: ${output.slice(-2000)}`);
        return (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok === true;
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const api = async (method: string, apiPath: string, body?: unknown, expect = 200): Promise<Record<string, unknown>> => {
    const res = await fetch(`${worker.backstop}/api/v1${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`${method} /api/v1${apiPath}: ${res.status} ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  return {
    worker,
    adminToken,
    dnsPort,
    servicePid: service.pid!,
    api,
    async addTsigKey(key) {
      await api("POST", "/tsig-keys", key, 201);
    },
    async addZone(zone, primaryPort, key) {
      await api(
        "POST",
        "/zones",
        {
          name: zone,
          model: "secondary",
          primaries: [{ address: "127.0.0.1", port: primaryPort, tsigKey: key.name }],
          notifyAllow: ["127.0.0.1/32"],
        },
        201,
      );
    },
    async serial(zone) {
      const row = await worker.d1First<{ serial: number | null }>("SELECT serial FROM zones WHERE name IN (?, ?)", ...spellings(zone));
      return row?.serial ?? undefined;
    },
    async lastTransfer(zone) {
      const row = await worker.d1First<{ result: string; error: string | null; at: number }>(
        "SELECT t.result, t.error, t.at FROM transfer_log t JOIN zones z ON z.id = t.zone_id WHERE z.name IN (?, ?) ORDER BY t.id DESC LIMIT 1",
        ...spellings(zone),
      );
      return row ?? undefined;
    },
    serviceOutput: () => output,
    metrics: async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    async startFront(processes) {
      const [frontDns, frontHttp] = (await freePorts(2)) as [number, number];
      let frontOutput = "";
      const child = spawn(process.execPath, [...frontNodeFlags, "--import", "tsx", path.join(root, "transfer-service/main.ts")], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          BACKSTOP_WORKER_URL: worker.backstop,
          BACKSTOP_INTERNAL_TOKEN: internalToken,
          BACKSTOP_INSTANCE_ID: `bench-front-${processes}`,
          BACKSTOP_DNS_LISTEN: `127.0.0.1:${frontDns}`,
          BACKSTOP_HTTP_LISTEN: `127.0.0.1:${frontHttp}`,
          BACKSTOP_LOG_LEVEL: "warn",
          BACKSTOP_RRL_EXEMPT: "127.0.0.0/8",
          BACKSTOP_FRONT_PROCESSES: String(processes),
        },
      });
      const keepFront = (d: Buffer) => (frontOutput = (frontOutput + String(d)).slice(-20_000));
      child.stdout!.on("data", keepFront);
      child.stderr!.on("data", keepFront);
      const frontExited = new Promise<void>((r) => child.once("exit", () => r()));
      const extra: ExtraFront = {
        dnsPort: frontDns,
        pids: () => [child.pid!, ...descendantsNamed(child.pid!, "node")],
        metrics: async () => (await fetch(`http://127.0.0.1:${frontHttp}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
        async stop() {
          extras.delete(extra);
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          await Promise.race([frontExited, new Promise((r) => setTimeout(r, 15_000))]);
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        },
      };
      extras.add(extra);
      try {
        await waitFor(
          `a front of ${processes} processes`,
          async () => {
            if (child.exitCode !== null) throw new Error(`front exited with ${child.exitCode}: ${frontOutput.slice(-2000)}`);
            const health = await fetch(`http://127.0.0.1:${frontHttp}/healthz`).catch(() => undefined);
            // The owner of several says how many query processes listen; one process says nothing of them.
            return health?.ok === true && (processes === 1 || ((await health.json()) as { frontProcesses?: number }).frontProcesses === processes);
          },
          60_000,
        );
      } catch (err) {
        await extra.stop();
        throw err;
      }
      return extra;
    },
    stop,
  };
}
