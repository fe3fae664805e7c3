/**
 * @module The IXFR beside the lease (issue 28, session 10): when the SOA query sent beside the lease's D1 round
 * trip shows a newer serial, the IXFR from that primary starts at once, into memory; under the lease it is
 * replayed into the store (the primary is not asked twice), and when the lease is busy it is dropped, nothing
 * stored. Against a scripted primary on loopback and the in-memory Worker, whose lease answers only once the
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

/** A fresh in-memory Worker with the zone at serial 1 (by a bootstrap AXFR from the primary). */
async function setUp(): Promise<{ worker: GatedLease; zone: RefreshZone; deps: RefreshDeps }> {
  const worker = new GatedLease();
  worker.addZone({ id: 1, name: ZONE, model: "secondary", primaries: [{ address: primary.address, port: primary.port }], keys: [], notifyAllow: [] });
  const zone: RefreshZone = {
    name: Name.parseAbsolute(ZONE),
    get config() {
      return worker.config(ZONE);
    },
    keys: [],
    backoff: new Backoff(settings.backoff.baseMs, settings.backoff.maxMs),
  };
  const deps: RefreshDeps = { worker, settings, log: createLogger({ level: "silent" }), primaryTransfers: new PrimaryLimiter(2) };
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
