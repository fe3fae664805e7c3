/**
 * @module The refresh state machine end to end: the whole service in-process (DNS listener, HTTP port,
 * refresher) against real knotd, named and PowerDNS on loopback, storing into the in-memory Worker.
 * First transfer; NOTIFY from knotd (TCP, signed) and named (UDP) leading to IXFR; PowerDNS's single-SOA
 * IXFR answer falling back to AXFR; a storm of 100 NOTIFYs during a transfer; serial regression and its
 * repair; primaries in order; a wrong TSIG secret; the primary killed mid-AXFR; expiry with the primary
 * stopped and recovery; two instances on the same zones. A silent primary at first contact is a case:
 * test/cases/first-contact-silent-primary.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifyWire } from "../../dns/testing/query-wire.ts";
import { MemoryWorker } from "../../transfer-service/testing/memory-worker.ts";
import type { ZoneConfig } from "../../transfer-service/worker/worker-api.ts";
import { freePort, PEERS, type PeerHandle, type PeerKind, type TsigKey } from "../peers/index.ts";
import { formatRecord, generateZone, zoneRecords, type SoaTimers } from "../zones/generate.ts";
import { presentation } from "./collecting-sink.ts";
import { startServiceUnderTest, TEST_TOKEN, waitFor, type ServiceUnderTest } from "./service-under-test.ts";

const SEED = 77;
const key: TsigKey = { name: "refresh.key.", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const text = (zone: string, serial: number, records: number, soa?: Partial<SoaTimers>) =>
  generateZone({ origin: zone, records, seed: SEED, serial, soa });
const expected = (zone: string, serial: number, records: number, soa?: Partial<SoaTimers>) =>
  [...zoneRecords({ origin: zone, records, seed: SEED, serial, soa })].map((r) => formatRecord(r).replace(" IN ", " ")).sort();

const worker = new MemoryWorker();
let sut: ServiceUnderTest;
const peers = new Map<PeerKind, PeerHandle>();
let deadPort: number;

// Zones, by scenario. SOA refresh is long so that only NOTIFYs and the test's own triggers cause refreshes.
const Z = {
  knotNotify: "knot-notify.test",
  namedNotify: "named-notify.test",
  pdnsFallback: "pdns-fallback.test",
  storm: "storm.test",
  regress: "regress.test",
  ordered: "ordered.test",
  badKey: "bad-key.test",
  killed: "killed.test",
  expiring: "expiring.test",
  shared: "shared.test",
  skew: "skew.test",
  lease: "lease.test",
  nsdNotify: "nsd-notify.test",
  pdnsNotify: "pdns-notify.test",
};
const SHORT: Partial<SoaTimers> = { refresh: 1, retry: 1, expire: 2 };

const served = (zone: string) => worker.records(zone).map(presentation).sort();
const serialOf = (zone: string) => worker.config(zone).serial;
const logOf = (zone: string) => worker.log.filter((e) => e.zone === zone);
const peerOf = (kind: PeerKind) => peers.get(kind)!;

function addZone(zone: string, kind: PeerKind, extra: Partial<ZoneConfig> = {}): void {
  const primary = { address: "127.0.0.1", port: peerOf(kind).port };
  worker.addZone({ name: zone, model: "secondary", primaries: [primary], tsigKey: key.name, keys: [key], notifyAllow: [], ...extra });
}

beforeAll(async () => {
  deadPort = await freePort();
  // The HTTP port test reads per-zone gauges, which carry zone names only when asked for.
  sut = await startServiceUnderTest(worker, { env: { BACKSTOP_METRICS_ZONE_LABELS: "true" } });
  const notify = [`127.0.0.1:${sut.dnsPort}`];
  const spec = (zone: string, serial: number, records: number, more: object = {}) => ({
    name: zone,
    text: text(zone, serial, records),
    transferKey: key.name,
    ...more,
  });
  const [knotd, named, pdns, nsd] = await Promise.all([
    PEERS.knotd({
      keys: [key],
      zones: [
        spec(Z.knotNotify, 1, 200, { notify, signNotify: true }),
        spec(Z.ordered, 1, 50),
        spec(Z.killed, 1, 200_000),
        spec(Z.shared, 1, 100),
        spec(Z.lease, 1, 5_000),
      ],
    }),
    PEERS.named({
      keys: [key],
      zones: [
        spec(Z.namedNotify, 1, 200, { notify }),
        spec(Z.storm, 1, 300),
        { name: Z.expiring, text: text(Z.expiring, 1, 30, SHORT), transferKey: key.name },
        spec(Z.skew, 1, 20),
      ],
    }),
    // PowerDNS keeps no journal, so it serves a lower serial as told (named and knotd refuse to).
    PEERS.pdns({
      keys: [key],
      zones: [spec(Z.pdnsFallback, 1, 150), spec(Z.regress, 10, 100), spec(Z.pdnsNotify, 1, 80, { notify, signNotify: true })],
    }),
    PEERS.nsd({ keys: [key], zones: [spec(Z.nsdNotify, 1, 80, { notify })] }),
  ]);
  peers.set("nsd", nsd);
  peers.set("knotd", knotd);
  peers.set("named", named);
  peers.set("pdns", pdns);
}, 120_000);

afterAll(async () => {
  await sut?.stop();
  await Promise.all([...peers.values()].map((p) => p.stop()));
});

async function firstTransfer(zone: string, kind: PeerKind, extra: Partial<ZoneConfig> = {}): Promise<void> {
  addZone(zone, kind, extra);
  await sut.refresher.poll();
  await waitFor(`${zone} first transfer`, () => serialOf(zone) !== null);
}

describe("first transfer and NOTIFY", () => {
  it.each([
    { zone: Z.knotNotify, kind: "knotd" as const },
    { zone: Z.namedNotify, kind: "named" as const },
  ])("$kind: AXFR at first, then an edit's NOTIFY brings an IXFR", async ({ zone, kind }) => {
    await firstTransfer(zone, kind);
    expect(served(zone)).toEqual(expected(zone, 1, 200));
    const report = worker.reports(zone).at(-1)!;
    expect(report.status).toBe("active");
    expect(report.statusDetail).toMatch(/transferred serial 1 .* by AXFR/);
    expect(report.expiresAt! - Date.now()).toBeGreaterThan(80_000 * 1000);

    await peerOf(kind).updateZone(zone, text(zone, 2, 230));
    await waitFor(`${zone} serial 2 after NOTIFY`, () => serialOf(zone) === 2);
    expect(served(zone)).toEqual(expected(zone, 2, 230));
    expect(logOf(zone).some((e) => e.kind === "ixfr" && e.result === "ok" && e.serialAfter === 2)).toBe(true);
    // Deletions too.
    await peerOf(kind).updateZone(zone, text(zone, 3, 180));
    await waitFor(`${zone} serial 3 after NOTIFY`, () => serialOf(zone) === 3);
    expect(served(zone)).toEqual(expected(zone, 3, 180));
  });

  it.each([
    { zone: Z.nsdNotify, kind: "nsd" as const },
    { zone: Z.pdnsNotify, kind: "pdns" as const },
  ])("$kind: an edit's NOTIFY brings the new serial", async ({ zone, kind }) => {
    await firstTransfer(zone, kind);
    await peerOf(kind).updateZone(zone, text(zone, 2, 95));
    await waitFor(`${zone} serial 2 after NOTIFY`, () => serialOf(zone) === 2);
    expect(served(zone)).toEqual(expected(zone, 2, 95));
    // nsd answers the IXFR with the whole zone, pdns with only its SOA (then we ask for AXFR): either
    // way the log names what arrived, as the zone's status does.
    expect(logOf(zone).at(-1)).toMatchObject({ kind: "axfr", result: "ok", serialAfter: 2 });
    expect(worker.reports(zone).at(-1)!.statusDetail).toMatch(/by AXFR/);
  });

  it("pdns: an IXFR answered with a single newer SOA falls back to AXFR", async () => {
    const zone = Z.pdnsFallback;
    await firstTransfer(zone, "pdns");
    await peerOf("pdns").updateZone(zone, text(zone, 2, 160));
    sut.refresher.get(zone)!.notified("127.0.0.1", undefined);
    await waitFor(`${zone} serial 2`, () => serialOf(zone) === 2);
    expect(served(zone)).toEqual(expected(zone, 2, 160));
    const last = logOf(zone).slice(-3).map((e) => `${e.kind}:${e.result}`);
    expect(last).toEqual(["soa:ok", "ixfr:error", "axfr:ok"]);
    expect(logOf(zone).find((e) => e.kind === "ixfr")!.error).toMatch(/only its SOA/);
    expect(worker.reports(zone).at(-1)!.statusDetail).toMatch(/by AXFR.*IXFR failed first/);
  });

  it("a storm of 100 NOTIFYs during a transfer yields one transfer and one re-check; the zone shows refreshing meanwhile", async () => {
    const zone = Z.storm;
    await firstTransfer(zone, "named");
    await peerOf("named").updateZone(zone, text(zone, 2, 320));
    const before = logOf(zone).length;
    const announced = () => worker.refreshing.filter((r) => r.zone === zone).map((r) => r.detail);
    const announcedBefore = announced().length;
    // Hold the transfer at its first chunk while the storm arrives.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding = false;
    worker.ingestHook = async (z, step) => {
      if (z === zone && step === "records" && !holding) {
        holding = true;
        await held;
      }
    };
    sut.refresher.get(zone)!.notified("127.0.0.1", undefined);
    await waitFor("transfer in progress", () => holding);
    await waitFor("status refreshing", () => worker.config(zone).status === "refreshing");
    await sendNotifies(zone, 100, sut.dnsPort);
    release();
    await waitFor(`${zone} serial 2`, () => serialOf(zone) === 2);
    await sut.refresher.get(zone)!.idle();
    worker.ingestHook = undefined;
    // One `refreshing` report for the one transfer, in words, replaced by the final report.
    expect(announced().slice(announcedBefore)).toEqual([`transferring serial 2 from 127.0.0.1:${peerOf("named").port} by IXFR (serial 1 is served meanwhile)`]);
    expect(worker.config(zone).status).toBe("active");
    const entries = logOf(zone).slice(before).map((e) => `${e.kind}:${e.result}`);
    expect(entries).toEqual(["soa:ok", "ixfr:ok", "soa:up-to-date"]);
    expect(serialOf(zone)).toBe(await peerOf("named").serial(zone));
  });
});

describe("faults leave the served zone as it was, and the status names the cause", () => {
  it("serial regression: kept ours, status explains; force AXFR with acceptLowerSerial takes theirs", async () => {
    const zone = Z.regress;
    await firstTransfer(zone, "pdns");
    expect(serialOf(zone)).toBe(10);
    await peerOf("pdns").updateZone(zone, text(zone, 5, 90));
    const z = sut.refresher.get(zone)!;
    z.notified("127.0.0.1", undefined);
    await waitFor("serial-regressed", () => worker.config(zone).status === "serial-regressed");
    expect(worker.reports(zone).at(-1)!.statusDetail).toMatch(/serves serial 5, older than our serial 10/);
    expect(serialOf(zone)).toBe(10);
    expect(served(zone)).toEqual(expected(zone, 10, 100));
    // POST /api/v1/zones/:name/refresh {"force":"axfr","acceptLowerSerial":true}, as the Worker stores it.
    worker.requestRefresh(zone, { force: "axfr", acceptLowerSerial: true });
    await sut.refresher.poll();
    await waitFor("serial 5 accepted", () => serialOf(zone) === 5);
    expect(served(zone)).toEqual(expected(zone, 5, 90));
    expect(worker.config(zone).status).toBe("active");
    expect(worker.config(zone).refreshRequestedAt).toBeNull();
  });

  it("primaries are tried in order: a dead first one is logged, the second serves", async () => {
    const zone = Z.ordered;
    addZone(zone, "knotd", {
      primaries: [
        { address: "127.0.0.1", port: deadPort },
        { address: "127.0.0.1", port: peerOf("knotd").port },
      ],
    });
    await sut.refresher.poll();
    await waitFor(`${zone} transferred`, () => serialOf(zone) === 1);
    const entries = logOf(zone);
    // A zone with no data asks for the AXFR at once (bootstrap): the dead primary refuses the connection.
    expect(entries[0]).toMatchObject({ kind: "axfr", result: "error", primary: `127.0.0.1:${deadPort}` });
    expect(entries[0]!.error).toMatch(/cannot connect to .* over TCP/);
    expect(entries.at(-1)).toMatchObject({ kind: "axfr", result: "ok", primary: `127.0.0.1:${peerOf("knotd").port}` });
  });

  it("a wrong TSIG secret: the status says the primary rejected our signature", async () => {
    const zone = Z.badKey;
    // The zone exists on knotd under another name; use knot-notify.test's server with a wrong secret.
    worker.addZone({
      name: Z.knotNotify.replace("knot-notify", "bad-key"),
      model: "secondary",
      primaries: [{ address: "127.0.0.1", port: peerOf("knotd").port }],
      tsigKey: key.name,
      keys: [{ ...key, secret: randomBytes(32).toString("base64") }],
      notifyAllow: [],
    });
    await sut.refresher.poll();
    await waitFor("a report", () => worker.reports(zone).length > 0);
    const detail = worker.reports(zone)[0]!.statusDetail;
    expect(detail).toMatch(/TSIG|BADSIG|NOTAUTH/);
    expect(detail).not.toContain(key.secret);
  });

  it("the primary killed mid-AXFR: the served zone stays, the status names the broken connection", async () => {
    const zone = Z.killed;
    const knotd = peerOf("knotd");
    // Serve a small version first, so there is something to keep.
    let gateOpen = false;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    worker.ingestHook = async (z, step) => {
      if (z === zone && step === "records" && !gateOpen) {
        gateOpen = true;
        await held;
      }
    };
    addZone(zone, "knotd");
    await sut.refresher.poll();
    await waitFor("AXFR under way", () => gateOpen);
    knotd.kill("SIGKILL");
    await knotd.exited;
    release();
    await waitFor("a report", () => worker.reports(zone).length > 0);
    worker.ingestHook = undefined;
    expect(serialOf(zone)).toBeNull();
    expect(worker.records(zone)).toEqual([]);
    expect(worker.aborts.some((a) => a.zone === zone)).toBe(true);
    expect(worker.reports(zone)[0]!.statusDetail).toMatch(/closed the connection|failed mid-transfer|reset/);
    await knotd.restart();
  });

  it("expiry: with the primary stopped the zone stops being served, and comes back after a transfer", async () => {
    const zone = Z.expiring;
    const named = peerOf("named");
    await firstTransfer(zone, "named");
    expect(served(zone)).toEqual(expected(zone, 1, 30, SHORT));
    expect(worker.served(zone)).toBe(true);
    named.kill("SIGKILL");
    await named.exited;
    await waitFor("expired", () => !worker.served(zone), 10_000);
    await waitFor("status expired", () => worker.config(zone).status === "expired", 10_000);
    expect(worker.config(zone).status).toBe("expired");
    await named.restart();
    await waitFor("served again", () => worker.served(zone), 15_000);
    expect(worker.config(zone).status).toBe("active");
  });

  it("our clock skewed by an hour (injected): the primary's BADTIME is reported as clock skew", async () => {
    const zone = Z.skew;
    const skewed = await startServiceUnderTest(worker, { instanceId: "test-skewed", tsigNow: () => Date.now() + 3_600_000 });
    try {
      addZone(zone, "named");
      await skewed.refresher.poll();
      await waitFor("a report", () => worker.reports(zone).length > 0);
      const detail = worker.reports(zone)[0]!.statusDetail;
      expect(detail).toMatch(/BADTIME|clock/i);
      expect(detail).toMatch(/3600 seconds/);
      expect(serialOf(zone)).toBeNull();
    } finally {
      await skewed.stop();
    }
    // The service with a good clock takes the zone.
    await sut.refresher.poll();
    sut.refresher.get(zone)!.notified("127.0.0.1", undefined);
    await waitFor(`${zone} transferred`, () => serialOf(zone) === 1);
  });

  it("a lease lost mid-transfer stops the transfer, and nothing is committed", async () => {
    const zone = Z.lease;
    const other = await startServiceUnderTest(worker, { instanceId: "test-lease", env: { BACKSTOP_LEASE_TTL_S: "5" } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding = false;
    worker.ingestHook = async (z, step) => {
      if (z === zone && step === "records" && !holding) {
        holding = true;
        await held;
      }
    };
    try {
      addZone(zone, "knotd");
      await other.refresher.poll();
      await waitFor("transfer under way", () => holding);
      worker.stealLease(zone, "intruder", 120_000);
      // The holder notices at its next renewal (a third of its 5 s lease, or of the main instance's 30 s
      // if that one took the zone), and stops the transfer once the held chunk returns.
      await new Promise((r) => setTimeout(r, sut.refresher.get(zone)?.busy ? 10_500 : 2_000));
      release();
      await waitFor("the transfer to stop", () => logOf(zone).some((e) => e.kind === "axfr" && e.result === "error"), 15_000);
      await Promise.all([other.refresher.get(zone)?.idle(), sut.refresher.get(zone)?.idle()]);
      const entry = logOf(zone).find((e) => e.kind === "axfr" && e.result === "error")!;
      expect(entry.error).toMatch(/lost the zone's refresh lease/);
      expect(worker.commits.filter((c) => c.zone === zone)).toHaveLength(0);
      expect(serialOf(zone)).toBeNull();
    } finally {
      release();
      worker.ingestHook = undefined;
      await other.stop();
    }
  });

  it("two instances on the same zone: one transfer, from the lease holder", async () => {
    const zone = Z.shared;
    const second = await startServiceUnderTest(worker, { instanceId: "test-2" });
    try {
      addZone(zone, "knotd");
      await Promise.all([sut.refresher.poll(), second.refresher.poll()]);
      await waitFor(`${zone} transferred`, () => serialOf(zone) === 1);
      await Promise.all([sut.refresher.get(zone)!.idle(), second.refresher.get(zone)!.idle()]);
      expect(worker.commits.filter((c) => c.zone === zone)).toHaveLength(1);
      expect(served(zone)).toEqual(expected(zone, 1, 100));
    } finally {
      await second.stop();
    }
  });
});

describe("HTTP port", () => {
  it("serves /healthz, /metrics with per-zone gauges, and an authenticated /control/refresh", async () => {
    const health = await fetch(`${sut.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${sut.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/backstop_transfers_total\{kind="axfr",result="ok"\} \d+/);
    expect(metrics).toMatch(new RegExp(`backstop_zone_serial\\{zone="${Z.knotNotify}"\\} 3`));
    expect(metrics).toMatch(/backstop_zone_seconds_since_last_check\{zone="[^"]+"\} [\d.]+/);
    const post = (body: unknown, token = TEST_TOKEN) =>
      fetch(`${sut.httpUrl}/control/refresh`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post({ zone: Z.knotNotify }, "wrong-token")).status).toBe(401);
    expect((await post({ zone: 5 })).status).toBe(400);
    expect((await post({ zone: "nowhere.test" })).status).toBe(404);
    const before = logOf(Z.knotNotify).length;
    // The Worker's push: the contract's Signal, force null.
    expect((await post({ zone: Z.knotNotify, requestedAt: Date.now(), force: null, acceptLowerSerial: false })).status).toBe(202);
    await waitFor("a refresh from the control signal", () => logOf(Z.knotNotify).length > before);
    expect(logOf(Z.knotNotify).at(-1)).toMatchObject({ kind: "soa", result: "up-to-date" });
  });
});

/** Sends `n` NOTIFYs for `zone` over UDP from 127.0.0.1 (the primary's address) and waits for the replies. */
async function sendNotifies(zone: string, n: number, port: number): Promise<void> {
  const socket = createSocket("udp4");
  let replies = 0;
  const done = new Promise<void>((resolve) => {
    socket.on("message", () => {
      if (++replies >= n) resolve();
    });
  });
  for (let i = 0; i < n; i++) {
    const wire = notifyWire(zone, { id: i, aa: false });
    socket.send(wire, port, "127.0.0.1");
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  socket.close();
  expect(replies).toBe(n);
}
