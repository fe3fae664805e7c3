/**
 * @module The whole local stack, end to end, with nothing in memory standing in: the Worker under
 * `wrangler dev` (workerd, local D1 built from migrations/), the transfer-service in-process with its
 * HTTP WorkerClient, and knotd as primary. A zone created through `/api/v1` is transferred (AXFR, TSIG)
 * into D1 and answered over DoH; an edit's NOTIFY brings an IXFR, stored as changesets.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RRType, typeToString } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { decodeMessage } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { loadConfig } from "../../transfer-service/config.ts";
import { createLogger } from "../../transfer-service/log.ts";
import { Metrics } from "../../transfer-service/metrics.ts";
import { Refresher } from "../../transfer-service/refresh.ts";
import { startService, type RunningService } from "../../transfer-service/service.ts";
import { WorkerClient } from "../../transfer-service/worker-client.ts";
import { queryWire } from "../../workers/answer/testing/table.ts";
import { freePorts, startKnotd, type PeerHandle, type TsigKey } from "../peers/index.ts";
import { generateZone, zoneRecords } from "../zones/generate.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { waitFor } from "./service-under-test.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const ZONE = "stack.test";
const key: TsigKey = { name: "stack-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const text = (serial: number, records: number) => generateZone({ origin: ZONE, records, seed: 3, serial });
/** Zone size; set BACKSTOP_STACK_RECORDS=100000 (or 1000000) to measure the AXFR rate into D1. */
const RECORDS = Number(process.env.BACKSTOP_STACK_RECORDS ?? 300);
const slow = Math.max(60_000, RECORDS / 2);

let worker: WranglerDev | undefined;
let base: string;
let knotd: PeerHandle;
let service: RunningService;
let client: WorkerClient;

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const t = await res.text();
  return { status: res.status, json: t ? (JSON.parse(t) as Record<string, unknown>) : {} };
}

async function doh(name: string, type: number): Promise<string[]> {
  const wire = queryWire(name, typeToString(type), { id: 0, edns: false });
  const res = await fetch(`${base}/dns-query?dns=${Buffer.from(wire).toString("base64url")}`, { headers: { accept: "application/dns-message" } });
  const reply = decodeMessage(new Uint8Array(await res.arrayBuffer()));
  return reply.answers.map((rr) => `${rr.name.toString().toLowerCase()} ${rr.ttl} ${rdataToText(rr.type, rr.rdata)}`);
}

beforeAll(async () => {
  const [dnsPort, httpPort] = await freePorts(2);
  worker = await startWranglerDev({
    adminToken: ADMIN,
    internalToken: INTERNAL,
    vars: { SERVICE_CONTROL_URLS: `http://127.0.0.1:${httpPort}` },
  });
  base = worker.base;

  knotd = await startKnotd({
    keys: [key],
    zones: [{ name: ZONE, text: text(1, RECORDS), transferKey: key.name, notify: [`127.0.0.1:${dnsPort}`], signNotify: true }],
    startTimeoutMs: slow,
  });

  const config = loadConfig({
    BACKSTOP_WORKER_URL: base,
    BACKSTOP_INTERNAL_TOKEN: INTERNAL,
    BACKSTOP_INSTANCE_ID: "stack-1",
    BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
    BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    BACKSTOP_POLL_INTERVAL_S: "1",
    BACKSTOP_SOA_TIMEOUT_MS: "1000",
  });
  const log = createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });
  client = new WorkerClient({ baseUrl: base, token: INTERNAL, timeoutMs: 30_000 });
  const metrics = new Metrics({ defaultMetrics: false });
  service = await startService(config, log, { zones: new Refresher({ worker: client, settings: config, log, metrics, hmac: nodeHmac }), metrics });
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await client?.close();
  await knotd?.stop();
  await worker?.stop();
});

describe("the local stack", () => {
  it("transfers a zone created through /api/v1 into D1, answers it over DoH, and follows a NOTIFY with an IXFR", async () => {
    expect((await api("POST", "/api/v1/tsig-keys", key)).status).toBe(201);
    const created = await api("POST", "/api/v1/zones", {
      name: ZONE,
      model: "secondary",
      primaries: [{ address: "127.0.0.1", port: knotd.port, tsigKey: key.name }],
      notifyAllow: ["127.0.0.1/32"],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const started = performance.now();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    await waitFor("serial 1 in D1", async () => (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial === 1, slow).finally(() => clearInterval(sampler));
    const seconds = (performance.now() - started) / 1000;
    console.log(`AXFR of ${RECORDS} records into the local stack: ${seconds.toFixed(1)} s, ${Math.round(RECORDS / seconds)} records/s, peak RSS of the test process ${Math.round(peakRss / 2 ** 20)} MiB`);
    const zone = (await api("GET", `/api/v1/zones/${ZONE}`)).json;
    expect(zone).toMatchObject({ status: "active", serial: 1, recordCount: RECORDS });

    const host = [...zoneRecords({ origin: ZONE, records: Math.min(RECORDS, 300), seed: 3, serial: 1 })].find((r) => r.type === "A" && r.owner.startsWith("host-"))!;
    expect(await doh(host.owner, RRType.A)).toEqual([`${host.owner} ${host.ttl} ${host.data}`]);

    await knotd.updateZone(ZONE, text(2, RECORDS + 20));
    await waitFor("serial 2 in D1", async () => (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial === 2, slow);
    const after = (await api("GET", `/api/v1/zones/${ZONE}`)).json;
    expect(after).toMatchObject({ status: "active", serial: 2, recordCount: RECORDS + 20 });
    expect(after.lastTransfer).toMatchObject({ kind: "ixfr", result: "ok" });
  }, 3 * slow);
});
