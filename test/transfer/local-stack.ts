/**
 * @module The local stack for end-to-end tests: the real Worker under `wrangler dev` (workerd, local D1 built
 * from migrations/) with its control URL pointing at the transfer-service, which runs in-process with the
 * HTTP `WorkerClient` on free loopback ports. Primaries are the tests' own (knotd). Also the two ways a test
 * looks at the result: `/api/v1` with the admin token, and a DoH query answered by the Worker.
 */
import { randomBytes } from "node:crypto";
import { typeFromString } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { loadConfig } from "../../transfer-service/config.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import { Metrics } from "../../transfer-service/ops/metrics.ts";
import { ZoneSet } from "../../transfer-service/zones/zone-set.ts";
import { CommitEvents, watchCommits } from "../../transfer-service/server/query/commit-watch.ts";
import { startService, type RunningService } from "../../transfer-service/service.ts";
import type { WorkerApi } from "../../transfer-service/worker/worker-api.ts";
import { WorkerClient } from "../../transfer-service/worker/worker-client.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { freePorts } from "../peers/index.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";

// Answers are read field by field in tests; a loose type keeps them readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface DohAnswer {
  rcode: number;
  /** `owner ttl rdata`, owner lowercased. */
  answers: string[];
}

export interface LocalStack {
  /** `http://127.0.0.1:PORT` of the Worker. */
  base: string;
  adminToken: string;
  /** The Worker's `/internal/v1` token (a test that reads what the service reads). */
  internalToken: string;
  /** The service's DNS port (NOTIFY): where primaries send NOTIFY. */
  dnsPort: number;
  worker: WranglerDev;
  service: RunningService;
  refresher: ZoneSet;
  /** `/api/v1` (and other Worker paths) with the admin token unless another is given. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: Json }>;
  /** One DoH GET (RFC 8484 §4.1) to the Worker, decoded. */
  doh(name: string, type: string): Promise<DohAnswer>;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Extra service settings (`BACKSTOP_*`) over the defaults below. */
  env?: Record<string, string>;
  /** Extra Worker vars (`--var`), e.g. the panel's BACKSTOP_NAMESERVERS. */
  workerVars?: Record<string, string>;
  /** Wraps the service's Worker client (a test that makes the Worker unreachable on cue). */
  wrapWorker?: (client: WorkerApi) => WorkerApi;
  /** The Worker's own options: `testScheduled` (`GET /__scheduled` runs the cron) and extra vars. */
  worker?: { testScheduled?: boolean; vars?: Record<string, string> };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const adminToken = `admin-${randomBytes(12).toString("hex")}`;
  const internalToken = `internal-${randomBytes(12).toString("hex")}`;
  const [dnsPort, httpPort] = await freePorts(2);
  const worker = await startWranglerDev({
    adminToken,
    internalToken,
    vars: { SERVICE_CONTROL_URLS: `http://127.0.0.1:${httpPort}`, ...options.workerVars, ...options.worker?.vars },
    testScheduled: options.worker?.testScheduled,
  });
  const config = loadConfig({
    BACKSTOP_WORKER_URL: worker.base,
    BACKSTOP_INTERNAL_TOKEN: internalToken,
    BACKSTOP_INSTANCE_ID: "stack-1",
    BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
    // Not an RRL test: whether its queries cross 50 a second must not depend on the machine.
    BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    BACKSTOP_POLL_INTERVAL_S: "1",
    BACKSTOP_SOA_TIMEOUT_MS: "1000",
    ...options.env,
  });
  const log = createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });
  const client = new WorkerClient({ baseUrl: worker.base, token: internalToken, timeoutMs: 30_000 });
  const metrics = new Metrics({ defaultMetrics: false });
  // Commits announced as main.ts wires them: the front's cache and NOTIFY out hear of them.
  const commits = new CommitEvents();
  const refresher = new ZoneSet({ worker: watchCommits(options.wrapWorker?.(client) ?? client, commits), settings: config, log, metrics, hmac: nodeHmac });
  let service: RunningService;
  try {
    service = await startService(config, log, { zones: refresher, metrics, commits });
  } catch (err) {
    await client.close();
    await worker.stop();
    throw err;
  }

  const api = async (method: string, path: string, body?: unknown, token = adminToken) => {
    const res = await fetch(`${worker.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
  };

  const doh = async (name: string, type: string): Promise<DohAnswer> => {
    const wire = queryWire(name, type, { id: 0, edns: false });
    const res = await fetch(`${worker.base}/dns-query?dns=${Buffer.from(wire).toString("base64url")}`, { headers: { accept: "application/dns-message" } });
    if (res.status !== 200) throw new Error(`DoH answered HTTP ${res.status}: ${await res.text()}`);
    const reply = decodeMessage(new Uint8Array(await res.arrayBuffer()));
    const qtype = typeFromString(type);
    return {
      rcode: reply.rcode,
      answers: reply.answers.filter((rr) => rr.type === qtype).map((rr) => `${rr.name.toString().toLowerCase()} ${rr.ttl} ${rdataToText(rr.type, rr.rdata)}`),
    };
  };

  return {
    base: worker.base,
    adminToken,
    internalToken,
    dnsPort,
    worker,
    service,
    refresher,
    api,
    doh,
    async stop() {
      await service.stop();
      await client.close();
      await worker.stop();
    },
  };
}

/** The SOA serial in a DoH answer for the apex's SOA, or null when there is none. */
export function soaSerialOf(answer: DohAnswer): number | null {
  const soa = answer.answers[0];
  if (!soa) return null;
  const fields = soa.split(/\s+/);
  // owner ttl mname rname serial refresh retry expire minimum
  return Number(fields[4]);
}
