/**
 * @module Bootstrap (issue 19): a zone with no data is asked for by AXFR at once, with no SOA query before it
 * and no slot of the serial-query rate, as Knot does (`refresh.c`: no contents, STATE_TRANSFER); a zone we
 * hold still begins with an SOA query, under the rate. The refresh handler runs against a scripted primary
 * on loopback (its transcript counts the queries) and the in-memory Worker, with a rate that counts its
 * reservations.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config.ts";
import { createLogger } from "../../ops/log.ts";
import { MemoryWorker } from "../../testing/memory-worker.ts";
import { parseScript, startScriptedPrimary, type ScriptedPrimary } from "../../testing/scripted-primary.ts";
import { SerialQueryRate } from "../serial-query-rate.ts";
import { PrimaryLimiter } from "../limiter.ts";
import { Backoff } from "./backoff.ts";
import { refresh, type RefreshDeps, type RefreshZone } from "./refresh.ts";
import { Name } from "../../../dns/name.ts";

const ZONE = "boot.test";
const SCRIPT = `
zone ${ZONE}
version 7 v7.zone
on SOA always
    soa 7
on AXFR always
    zone 7
`;
const V7 = `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.7\n`;

/** The serial-query rate, counting the slots taken; `backlog` slots are taken up front (a queue ahead). */
class CountingRate extends SerialQueryRate {
  reserved = 0;
  constructor(perSecond: number, backlog = 0) {
    super(perSecond);
    for (let i = 0; i < backlog; i++) super.reserve();
  }
  override reserve(): number {
    this.reserved++;
    return super.reserve();
  }
}

let primary: ScriptedPrimary;
const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_SOA_TIMEOUT_MS: "5000" });

beforeAll(async () => {
  primary = await startScriptedPrimary(parseScript(SCRIPT, () => V7, "bootstrap.test"));
});
afterAll(async () => {
  await primary.stop();
});

/** A fresh in-memory Worker holding the zone, served at `serial` (null: no data yet). */
function setUp(serial: number | null, rate: SerialQueryRate): { worker: MemoryWorker; zone: RefreshZone; deps: RefreshDeps } {
  const worker = new MemoryWorker();
  worker.addZone({ id: 1, name: ZONE, model: "secondary", primaries: [{ address: primary.address, port: primary.port }], keys: [], notifyAllow: [], serial });
  const zone: RefreshZone = {
    name: Name.parseAbsolute(ZONE),
    get config() {
      return worker.config(ZONE);
    },
    keys: [],
    backoff: new Backoff(settings.backoff.baseMs, settings.backoff.maxMs),
  };
  const deps: RefreshDeps = { worker, settings, log: createLogger({ level: "silent" }), serialQueries: rate, primaryTransfers: new PrimaryLimiter(2) };
  return { worker, zone, deps };
}

const queries = (kind: string): number => primary.transcript.filter((l) => l.startsWith(`${kind} over `)).length;

describe("bootstrap: a zone with no data", () => {
  it("is transferred by AXFR with no SOA query and no slot of the serial-query rate, even behind a minute of queued SOA checks", async () => {
    // 1,200 slots at 20 a second ahead of it: an attempt that took a slot would wait a minute.
    const rate = new CountingRate(20, 1_200);
    const { worker, zone, deps } = setUp(null, rate);
    const [soaBefore, axfrBefore] = [queries("SOA"), queries("AXFR")];
    const outcome = await refresh(zone, null, deps, new AbortController().signal);
    expect(outcome).toMatchObject({ kind: "transferred", via: "axfr", soa: { serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 300 } });
    expect(queries("SOA") - soaBefore).toBe(0);
    expect(queries("AXFR") - axfrBefore).toBe(1);
    expect(rate.reserved).toBe(0);
    expect(worker.commits).toEqual([expect.objectContaining({ zone: ZONE, kind: "axfr", serial: 7 })]);
    // The log holds the AXFR alone, from nothing to the primary's serial.
    expect(worker.log.map((e) => [e.kind, e.result, e.serialBefore, e.serialAfter])).toEqual([["axfr", "ok", null, 7]]);
  });

  it("a primary that refuses the AXFR is reported as the failure, with no SOA query", async () => {
    const refusing = await startScriptedPrimary(parseScript(`zone ${ZONE}\nversion 7 v7.zone\non AXFR always\n    rcode REFUSED\n`, () => V7, "refusing"));
    try {
      const rate = new CountingRate(20);
      const { worker, zone, deps } = setUp(null, rate);
      worker.config(ZONE).primaries = [{ address: refusing.address, port: refusing.port }];
      const outcome = await refresh(zone, null, deps, new AbortController().signal);
      expect(outcome).toMatchObject({ kind: "failed", detail: expect.stringMatching(/REFUSED/) });
      expect(refusing.transcript.filter((l) => l.startsWith("SOA over "))).toEqual([]);
      expect(rate.reserved).toBe(0);
      expect(worker.log.map((e) => [e.kind, e.result])).toEqual([["axfr", "error"]]);
    } finally {
      await refusing.stop();
    }
  });
});

describe("a zone we hold: the SOA check stays under the serial-query rate", () => {
  it("asks the SOA first, in a slot of the rate", async () => {
    const rate = new CountingRate(20);
    const { worker, zone, deps } = setUp(7, rate);
    const [soaBefore, axfrBefore] = [queries("SOA"), queries("AXFR")];
    const outcome = await refresh(zone, null, deps, new AbortController().signal);
    expect(outcome).toMatchObject({ kind: "up-to-date", soa: { serial: 7 } });
    expect(rate.reserved).toBe(1);
    expect(queries("SOA") - soaBefore).toBe(1);
    expect(queries("AXFR") - axfrBefore).toBe(0);
    expect(worker.log.map((e) => [e.kind, e.result])).toEqual([["soa", "up-to-date"]]);
  });

  it("waits for its slot behind queued checks: stopped while waiting, it has sent nothing", async () => {
    const rate = new CountingRate(20, 1_200);
    const { zone, deps } = setUp(7, rate);
    const soaBefore = queries("SOA");
    const stop = new AbortController();
    const attempt = refresh(zone, null, deps, stop.signal);
    // Held for its slot a minute away; stopping it must find no query sent.
    setTimeout(() => stop.abort(new Error("the service is shutting down")), 300);
    const outcome = await attempt;
    expect(outcome).toMatchObject({ kind: "failed", detail: expect.stringMatching(/waiting for its turn/) });
    expect(rate.reserved).toBe(1);
    expect(queries("SOA") - soaBefore).toBe(0);
  });
});
