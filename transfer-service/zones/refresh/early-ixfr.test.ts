/**
 * @module The IXFR beside the lease (issue 28, session 10): when the SOA query sent beside the lease's D1 round
 * trip shows a newer serial, the IXFR from that primary starts at once, into memory; under the lease it is
 * replayed into the store (the primary is not asked twice), and when the lease is busy it is dropped, nothing
 * stored; and when another instance committed a newer serial meanwhile, the reply (from the old serial) is not
 * replayed over it: the IXFR is asked again from the serial held. Against a scripted primary on loopback and the in-memory Worker, whose lease answers only once the
 * primary has seen the IXFR query (or after a bound, when it never comes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config.ts";
import { createLogger } from "../../ops/log.ts";
import { MemoryWorker } from "../../testing/memory-worker.ts";
import { parseScript, startScriptedPrimary, type ScriptedPrimary } from "../../testing/scripted-primary.ts";
import { PrimaryLimiter } from "../limiter.ts";
import { Backoff } from "./backoff.ts";
import { refresh, type RefreshDeps, type RefreshZone } from "./refresh.ts";
import { Name } from "../../../dns/name.ts";
import { RRType } from "../../../dns/constants.ts";
import { withSoaSerial } from "../../../dns/rdata/soa.ts";
import { parseZoneText } from "../../../dns/zonefile/parser.ts";

const ZONE = "early.test";
const SCRIPT = `
zone ${ZONE}
version 1 v1.zone
version 2 v2.zone
on SOA always
    soa 2
on AXFR always
    zone 1
on IXFR from 1 always
    message
        soa 2
        soa 1
        www 300 A 192.0.2.1
        soa 2
        www 300 A 192.0.2.2
        soa 2
`;
const zoneText = (serial: number) => `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 hostmaster ${serial} 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.${serial}\n`;

let primary: ScriptedPrimary;
const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_SOA_TIMEOUT_MS: "5000" });
const queries = (kind: string): number => primary.transcript.filter((l) => l.startsWith(`${kind} over `)).length;

beforeAll(async () => {
  primary = await startScriptedPrimary(parseScript(SCRIPT, (file) => zoneText(file === "v1.zone" ? 1 : 2), "early-ixfr.test"));
});
afterAll(async () => {
  await primary.stop();
});

/** The in-memory Worker whose lease, once `gated`, answers only when the primary has seen an IXFR query (at most `boundMs` later). */
class GatedLease extends MemoryWorker {
  gated = false;
  busy = false;
  ixfrBeforeLease: boolean | undefined;
  override async acquireLease(zone: string, owner: string, ttlMs: number): Promise<boolean> {
    if (this.gated) {
      const before = this.ixfrQueriesAtGate;
      const deadline = Date.now() + 3_000;
      while (queries("IXFR") === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      this.ixfrBeforeLease = queries("IXFR") > before;
    }
    if (this.busy) return false;
    return super.acquireLease(zone, owner, ttlMs);
  }
  ixfrQueriesAtGate = 0;
}

/** The zone as the refresh handler sees it, over `worker`, and the handler's dependencies. */
function refreshOf(worker: MemoryWorker): { zone: RefreshZone; deps: RefreshDeps } {
  const zone: RefreshZone = {
    name: Name.parseAbsolute(ZONE),
    get config() {
      return worker.config(ZONE);
    },
    keys: [],
    backoff: new Backoff(settings.backoff.baseMs, settings.backoff.maxMs),
  };
  return { zone, deps: { worker, settings, log: createLogger({ level: "silent" }), primaryTransfers: new PrimaryLimiter(2) } };
}

/** A fresh in-memory Worker with the zone at serial 1 (by a bootstrap AXFR from the primary). */
async function setUp(): Promise<{ worker: GatedLease; zone: RefreshZone; deps: RefreshDeps }> {
  const worker = new GatedLease();
  worker.addZone({ id: 1, name: ZONE, model: "secondary", primaries: [{ address: primary.address, port: primary.port }], keys: [], notifyAllow: [] });
  const { zone, deps } = refreshOf(worker);
  expect(await refresh(zone, null, deps, new AbortController().signal)).toMatchObject({ kind: "transferred", via: "axfr" });
  expect(worker.config(ZONE).serial).toBe(1);
  await worker.releaseLease(ZONE, settings.instanceId);
  return { worker, zone, deps };
}

const www = (worker: MemoryWorker) =>
  worker
    .records(ZONE)
    .filter((r) => r.name.toString() === `www.${ZONE}.`)
    .map((r) => [...r.rdata].join("."));

describe("the IXFR beside the lease", () => {
  it("is asked of the primary before the lease is held, and replayed into the store under it (the primary asked once)", async () => {
    const { worker, zone, deps } = await setUp();
    worker.gated = true;
    worker.ixfrQueriesAtGate = queries("IXFR");
    const outcome = await refresh(zone, null, deps, new AbortController().signal);
    expect(outcome).toMatchObject({ kind: "transferred", via: "ixfr", soa: { serial: 2 } });
    expect(worker.ixfrBeforeLease).toBe(true);
    expect(queries("IXFR") - worker.ixfrQueriesAtGate).toBe(1);
    expect(worker.config(ZONE).serial).toBe(2);
    expect(www(worker)).toEqual(["192.0.2.2"]);
    expect(worker.commits.at(-1)).toMatchObject({ kind: "ixfr", serial: 2 });
  });

  it("is dropped when another instance holds the lease: nothing stored", async () => {
    const { worker, zone, deps } = await setUp();
    worker.gated = true;
    worker.busy = true;
    worker.ixfrQueriesAtGate = queries("IXFR");
    const commits = worker.commits.length;
    expect(await refresh(zone, null, deps, new AbortController().signal)).toEqual({ kind: "lease-busy" });
    expect(worker.config(ZONE).serial).toBe(1);
    expect(www(worker)).toEqual(["192.0.2.1"]);
    expect(worker.commits.length).toBe(commits);
  });
});

/**
 * A primary already at serial 3, with an IXFR from 1 and one from 2: for the attempt whose zone another instance
 * moves from 1 to 2 while this one waits for the lease.
 */
const MOVED_SCRIPT = `
zone ${ZONE}
version 1 v1.zone
version 2 v2.zone
version 3 v3.zone
on SOA always
    soa 3
on AXFR always
    zone 3
on IXFR from 1 always
    message
        soa 3
        soa 1
        www 300 A 192.0.2.1
        soa 3
        www 300 A 192.0.2.3
        soa 3
on IXFR from 2 always
    message
        soa 3
        soa 2
        www 300 A 192.0.2.2
        soa 3
        www 300 A 192.0.2.3
        soa 3
`;

describe("the IXFR beside the lease, when the zone moved meanwhile", () => {
  it("is not replayed when another instance committed a newer serial before the lease came: the IXFR is asked again from that serial", async () => {
    const moved = await startScriptedPrimary(parseScript(MOVED_SCRIPT, (file) => zoneText(Number(file.slice(1, 2))), "early-ixfr.test moved"));
    try {
      const ixfrs = (): number => moved.transcript.filter((l) => l.startsWith("IXFR over ")).length;
      /** Once the primary has seen the early IXFR, another instance commits version 2 (as the Worker would serve it), then this lease is granted. */
      class MovedMeanwhile extends MemoryWorker {
        override async acquireLease(zone: string, owner: string, ttlMs: number): Promise<boolean> {
          if (owner === "other-instance") return super.acquireLease(zone, owner, ttlMs);
          const deadline = Date.now() + 3_000;
          while (ixfrs() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          expect(ixfrs()).toBe(1);
          const v2 = this.records(zone).map((r) =>
            r.type === RRType.SOA ? { ...r, rdata: withSoaSerial(r.rdata, 2) } : r.name.toString() === `www.${ZONE}.` ? { ...r, rdata: Uint8Array.of(192, 0, 2, 2) } : r,
          );
          expect(await super.acquireLease(zone, "other-instance", ttlMs)).toBe(true);
          const session = await this.beginIngest(zone, "other-instance", "axfr", 2);
          await session.beginFull(v2.find((r) => r.type === RRType.SOA)!);
          await session.records(v2.filter((r) => r.type !== RRType.SOA));
          await session.end();
          await session.commit();
          await this.releaseLease(zone, "other-instance");
          return super.acquireLease(zone, owner, ttlMs);
        }
      }
      const worker = new MovedMeanwhile();
      worker.addZone({ id: 1, name: ZONE, model: "secondary", primaries: [{ address: moved.address, port: moved.port }], keys: [], notifyAllow: [] });
      // Version 1 as this instance last stored it (the bootstrap of the other tests, written here directly).
      await worker.acquireLease(ZONE, "other-instance", 30_000);
      const v1 = await worker.beginIngest(ZONE, "other-instance", "axfr", 1);
      const records = parseZoneText(zoneText(1), { origin: Name.parseAbsolute(ZONE) });
      await v1.beginFull(records.find((r) => r.type === RRType.SOA)!);
      await v1.records(records.filter((r) => r.type !== RRType.SOA));
      await v1.end();
      await v1.commit();
      await worker.releaseLease(ZONE, "other-instance");
      expect(worker.config(ZONE).serial).toBe(1);

      const { zone, deps } = refreshOf(worker);
      const outcome = await refresh(zone, null, deps, new AbortController().signal);
      expect(outcome).toMatchObject({ kind: "transferred", via: "ixfr", soa: { serial: 3 } });
      // The early IXFR (from 1) and the one asked under the lease (from 2): the first was not replayed over version 2.
      expect(moved.transcript.filter((l) => l.startsWith("IXFR over ")).length).toBe(2);
      expect(worker.config(ZONE).serial).toBe(3);
      expect(www(worker)).toEqual(["192.0.2.3"]);
      expect(worker.commits.at(-1)).toMatchObject({ owner: settings.instanceId, kind: "ixfr", serial: 3 });
    } finally {
      await moved.stop();
    }
  });
});
