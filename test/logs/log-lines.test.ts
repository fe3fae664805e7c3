/**
 * @module Every log line of a real run is strict JSON with each key once (issue 20, item 8): pino writes a
 * child's bindings and then the call's fields as they are, and a call that named the zone again on a zone's
 * logger wrote `"zone"` twice, which log pipelines reject or silently collapse. The whole service runs
 * in-process (`service-under-test.ts`) with the logger `main.ts` builds (base `service` and `instance`) at
 * debug level, through a first transfer from knotd, an edit's NOTIFY and IXFR, a NOTIFY refused by the
 * zone's ACL and one for a zone not served here; each line it wrote is read with `duplicateKey`.
 */
import { createSocket } from "node:dgram";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifyWire } from "../../dns/testing/query-wire.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import { MemoryWorker } from "../../transfer-service/testing/memory-worker.ts";
import { duplicateKey } from "../../transfer-service/testing/strict-json.ts";
import { startKnotd, type PeerHandle } from "../peers/index.ts";
import { startServiceUnderTest, waitFor, type ServiceUnderTest } from "../transfer/service-under-test.ts";
import { generateZone } from "../zones/generate.ts";

const ZONE = "log-lines.test";
/** A zone this NOTIFY sender may not notify. */
const CLOSED = "log-closed.test";
const text = (zone: string, serial: number) => generateZone({ origin: zone, records: 40 + serial, seed: 5, serial });

const worker = new MemoryWorker();
const lines: string[] = [];
let pending = "";
const destination = new Writable({
  write(chunk, _enc, done) {
    pending += String(chunk);
    const parts = pending.split("\n");
    pending = parts.pop()!;
    lines.push(...parts.filter((l) => l !== ""));
    done();
  },
});
let sut: ServiceUnderTest;
let knotd: PeerHandle;

beforeAll(async () => {
  const log = createLogger({ level: "debug", destination, base: { service: "transfer-service", instance: "log-lines-1" } });
  sut = await startServiceUnderTest(worker, { instanceId: "log-lines-1", log });
  knotd = await startKnotd({
    zones: [{ name: ZONE, text: text(ZONE, 1), notify: [`127.0.0.1:${sut.dnsPort}`] }],
  });
  worker.addZone({ name: ZONE, model: "secondary", primaries: [{ address: "127.0.0.1", port: knotd.port }], keys: [], notifyAllow: ["127.0.0.1/32"] });
  // Its primary is ::1, where nothing answers (failures are logged too), so a NOTIFY from 127.0.0.1 is
  // outside its ACL: the refusal below.
  worker.addZone({ name: CLOSED, model: "secondary", primaries: [{ address: "::1", port: knotd.port }], keys: [], notifyAllow: ["192.0.2.1/32"] });
}, 120_000);

afterAll(async () => {
  await knotd?.stop();
  await sut?.stop();
});

/**
 * One NOTIFY over UDP from `from` (a loopback address); resolves with the reply's RCODE. Each refusal comes
 * from a source of its own: refused NOTIFYs are logged once per source per window (notify-in.ts
 * `RejectionLog`), and knotd's own first NOTIFY from 127.0.0.1 may already have been refused as "not served
 * here" if it came before the service knew the zone.
 */
function notify(zone: string, from = "127.0.0.1"): Promise<number> {
  const wire = notifyWire(zone);
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer to the NOTIFY for ${zone}`));
    }, 5000);
    socket.on("message", (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(m[3]! & 0xf);
    });
    socket.bind(0, from, () => socket.send(wire, sut.dnsPort, "127.0.0.1"));
  });
}

describe("log lines", () => {
  it("every line of a transfer, a NOTIFY, an IXFR and refusals is JSON with each key once", async () => {
    await waitFor(`${ZONE} serial 1`, () => worker.config(ZONE).serial === 1, 60_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${lines.slice(-15).join("\n")}`);
    });
    await knotd.updateZone(ZONE, text(ZONE, 2));
    await waitFor(`${ZONE} serial 2 after knotd's NOTIFY`, () => worker.config(ZONE).serial === 2, 60_000);
    expect(await notify(CLOSED, "127.0.0.3"), "NOTIFY outside the zone's ACL").toBe(5); // REFUSED
    expect(await notify("not-served.test", "127.0.0.2"), "NOTIFY for a zone not served here").not.toBe(0);
    await waitFor("the refusals logged", () => lines.some((l) => l.includes("NOTIFY refused")) && lines.some((l) => l.includes("not served here"))).catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}\nNOTIFY lines:\n${lines.filter((l) => l.includes("NOTIFY")).join("\n")}`);
      },
    );

    const zoneLines = lines.filter((l) => l.includes(`"zone":"${ZONE}`));
    expect(zoneLines.length, "lines about the zone").toBeGreaterThan(3);
    const doubled = lines.map((line) => ({ line, key: duplicateKey(line) })).filter((x) => x.key !== undefined);
    expect(doubled, "lines carrying a key twice").toEqual([]);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ service: "transfer-service", instance: "log-lines-1" });
  });
});
