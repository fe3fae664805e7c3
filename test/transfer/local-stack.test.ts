/**
 * @module The whole local stack, end to end, with nothing in memory standing in: the Worker under
 * `wrangler dev` (workerd, local D1 built from migrations/), the transfer-service in-process with its
 * HTTP WorkerClient, and knotd as primary. A zone created through `/api/v1` is transferred (AXFR, TSIG)
 * into D1 and answered over DoH; an edit's NOTIFY brings an IXFR, stored as changesets.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKnotd, type PeerHandle, type TsigKey } from "../peers/index.ts";
import { generateZone, zoneRecords } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "./local-stack.ts";
import { waitFor } from "./service-under-test.ts";

const ZONE = "stack.test";
const key: TsigKey = { name: "stack-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const text = (serial: number, records: number) => generateZone({ origin: ZONE, records, seed: 3, serial });
/** Zone size; set BACKSTOP_STACK_RECORDS=100000 (or 1000000) to measure the AXFR rate into D1. */
const RECORDS = Number(process.env.BACKSTOP_STACK_RECORDS ?? 300);
const slow = Math.max(60_000, RECORDS / 2);

let stack: LocalStack | undefined;
let knotd: PeerHandle;

const api = (method: string, p: string, body?: unknown) => stack!.api(method, p, body);
const doh = async (name: string, type: string) => (await stack!.doh(name, type)).answers;

beforeAll(async () => {
  stack = await startLocalStack();
  knotd = await startKnotd({
    keys: [key],
    zones: [{ name: ZONE, text: text(1, RECORDS), transferKey: key.name, notify: [`127.0.0.1:${stack.dnsPort}`], signNotify: true }],
    startTimeoutMs: slow,
  });
}, 240_000);

afterAll(async () => {
  await knotd?.stop();
  await stack?.stop();
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
    expect(await doh(host.owner, "A")).toEqual([`${host.owner} ${host.ttl} ${host.data}`]);

    await knotd.updateZone(ZONE, text(2, RECORDS + 20));
    await waitFor("serial 2 in D1", async () => (await api("GET", `/api/v1/zones/${ZONE}`)).json.serial === 2, slow);
    const after = (await api("GET", `/api/v1/zones/${ZONE}`)).json;
    expect(after).toMatchObject({ status: "active", serial: 2, recordCount: RECORDS + 20 });
    expect(after.lastTransfer).toMatchObject({ kind: "ixfr", result: "ok" });
  }, 3 * slow);
});
