/**
 * @module NOTIFY out's retries over real UDP on loopback (a NOTIFY catcher as the downstream), on a
 * schedule shortened for the test (the production one is 0, 5, 15, 35, 75 s, and 45 s more for the last):
 * a target that comes up only after two tries is reached by a later try; a target that never answers is
 * abandoned after the last try with a log line; a target the outbound rule forbids is never sent to; and
 * the NOTIFY carries the committed version's SOA. The zone's configuration and version come from a fixed
 * `TransferSource` here; the real Worker's are in `xfr-out.test.ts`.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { RRClass, RRType } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { Name } from "../../dns/name.ts";
import { rdataFromText } from "../../dns/rdata/index.ts";
import { encodeRecordStream } from "../../contract/record-stream.ts";
import type { ZoneConfigList } from "../../contract/internal-v1.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import { Metrics } from "../../transfer-service/ops/metrics.ts";
import { NotifyOut } from "../../transfer-service/server/xfr-out/notify-out.ts";
import { freePort } from "../peers/index.ts";
import { startNotifyCatcher, type NotifyCatcher } from "../peers/notify-catcher.ts";

const ZONE = "notify.test";
const origin = Name.parse(`${ZONE}.`);
const soa = { name: origin, type: RRType.SOA, class: RRClass.IN, ttl: 300, rdata: rdataFromText(RRType.SOA, "ns1 hostmaster 77 3600 600 86400 300", origin) };

const catchers: NotifyCatcher[] = [];
afterEach(async () => {
  for (const c of catchers.splice(0)) await c.close();
});

function source(alsoNotify: ZoneConfigList["zones"][number]["alsoNotify"]) {
  const config = { zones: [{ alsoNotify } as ZoneConfigList["zones"][number]], keys: [] };
  return {
    zoneForTransfer: async () => config,
    versionRecords: async (_zone: string, version: number) => ({
      serial: 77,
      version,
      chunks: (async function* () {
        yield encodeRecordStream([soa]);
      })(),
      cancel: () => undefined,
    }),
  };
}

function logLines() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ level: "info", destination }) };
}

const scrape = async (metrics: Metrics, result: string) =>
  Number(new RegExp(`backstop_notify_out_total\\{result="${result}"\\} (\\d+)`).exec(await metrics.registry.metrics())?.[1] ?? 0);

describe("NOTIFY out", () => {
  it("reaches a target that was down through a later try", async () => {
    const downPort = await freePort();
    const metrics = new Metrics({ defaultMetrics: false });
    const { lines, log } = logLines();
    // Tries at 0, 400, 1200 and 2400 ms, the last waiting 800 ms more: about 3.2 s in all.
    const out = new NotifyOut({ source: source([{ address: "127.0.0.1", port: downPort }]), hmac: nodeHmac, log, metrics, scheduleMs: [0, 400, 1_200, 2_400], lastWaitMs: 800 });
    out.committed(ZONE, 5);
    // The target comes up after the second try has gone unanswered.
    await new Promise((r) => setTimeout(r, 600));
    const catcher = await startNotifyCatcher({ port: downPort });
    catchers.push(catcher);
    const caught = await catcher.wait((n) => n.zone === `${ZONE}.`, 5_000);
    expect(caught.serial).toBe(77);
    expect(caught.transport).toBe("udp");
    const deadline = Date.now() + 5_000;
    while ((await scrape(metrics, "answered")) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await scrape(metrics, "answered")).toBe(1);
    const answered = lines.find((l) => l.msg === "NOTIFY out answered");
    expect(answered?.tries).toBeGreaterThanOrEqual(3);
    await out.close();
  });

  it("abandons a target that never answers after the last try, and never sends to a forbidden address", async () => {
    const silentPort = await freePort();
    const metrics = new Metrics({ defaultMetrics: false });
    const { lines, log } = logLines();
    const out = new NotifyOut({
      source: source([{ address: "127.0.0.1", port: silentPort }, { address: "169.254.169.254", port: 53 }]),
      hmac: nodeHmac,
      log,
      metrics,
      scheduleMs: [0, 100, 300],
      lastWaitMs: 300,
    });
    const started = Date.now();
    out.committed(ZONE, 5);
    const deadline = Date.now() + 10_000;
    while ((await scrape(metrics, "abandoned")) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await scrape(metrics, "abandoned")).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600); // the last try waited its turn
    expect(await scrape(metrics, "forbidden")).toBe(1);
    expect(lines.some((l) => l.msg === "NOTIFY out abandoned: no answer after the last try" && l.tries === 3)).toBe(true);
    expect(lines.some((l) => String(l.msg).includes("outbound address rule"))).toBe(true);
    await out.close();
  });
});
