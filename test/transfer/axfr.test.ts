/**
 * @module The transfer client against real primaries (knotd, named, nsd, PowerDNS) on loopback:
 * a TSIG-signed SOA query and AXFR from each, compared record for record with the zone the peer serves;
 * IXFR after edits (additions and deletions) from knotd and named; the AXFR-style and single-SOA answers
 * of nsd and PowerDNS; and TSIG failures named as such.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { Name } from "../../dns/name.ts";
import { withSoaSerial } from "../../dns/rdata/soa.ts";
import { prepareTsigKey, type TsigKey as PreparedKey } from "../../dns/tsig/key.ts";
import { querySoa, type PrimaryTarget } from "../../transfer-service/remote/soa-query.ts";
import { TransferError } from "../../transfer-service/remote/transfer-error.ts";
import { transfer, type XfrLimits } from "../../transfer-service/remote/xfr-in.ts";
import { PEERS, IXFR_ANSWER, type PeerHandle, type PeerKind, type TsigKey } from "../peers/index.ts";
import { formatRecord, generateZone, zoneRecords } from "../zones/generate.ts";
import { CollectingSink, StreamCollectingSink } from "./collecting-sink.ts";

const ZONE = "xfr.test.";
const SEED = 5309;
const RECORDS = 400;
const key: TsigKey = { name: "xfr.key.", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const zoneText = (serial: number, records = RECORDS) => generateZone({ origin: ZONE, records, seed: SEED, serial });
const expected = (serial: number, records = RECORDS) =>
  [...zoneRecords({ origin: ZONE, records, seed: SEED, serial })].map((r) => formatRecord(r).replace(" IN ", " ")).sort();

const limits: XfrLimits = {
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  totalTimeoutMs: 30_000,
  maxRecords: 1_000_000,
  maxBytes: 1 << 30,
  chunkRecords: 64,
};

const kinds = Object.keys(PEERS) as PeerKind[];
const peers = new Map<PeerKind, PeerHandle>();
let prepared: PreparedKey;
const zoneName = Name.parse(ZONE);

beforeAll(async () => {
  prepared = await prepareTsigKey(key, nodeHmac);
  await Promise.all(
    kinds.map(async (kind) => {
      peers.set(kind, await PEERS[kind]({ keys: [key], zones: [{ name: ZONE, text: zoneText(1), transferKey: key.name }] }));
    }),
  );
});

afterAll(async () => {
  await Promise.all([...peers.values()].map((p) => p.stop()));
});

const target = (kind: PeerKind, k: PreparedKey | undefined = prepared): PrimaryTarget => {
  const p = peers.get(kind)!;
  return { address: p.address, port: p.port, key: k };
};

describe.each(kinds)("%s as primary", (kind) => {
  it("answers a TSIG-signed SOA query with the served serial", async () => {
    const soa = await querySoa(zoneName, target(kind), { timeoutMs: 2000, tries: 2 });
    expect(soa.serial).toBe(1);
    expect([soa.refresh, soa.retry, soa.expire, soa.minimum]).toEqual([3600, 600, 86400, 300]);
  });

  it("gives an AXFR equal to its zone, in bounded chunks", async () => {
    const sink = new CollectingSink();
    const result = await transfer({ kind: "axfr", zone: zoneName, primary: target(kind), sink, limits });
    expect(result.style).toBe("axfr");
    expect(result.serial).toBe(1);
    expect(result.records).toBe(RECORDS + 1); // both SOA copies
    expect(sink.sorted()).toEqual(expected(1));
    expect(sink.maxChunk).toBeLessThanOrEqual(limits.chunkRecords);
    expect(sink.events).toEqual(["full", "end"]);
  });

  it("gives the same zone to a sink that takes record streams (the AXFR decoded without record objects)", async () => {
    const sink = new StreamCollectingSink(2048);
    const result = await transfer({ kind: "axfr", zone: zoneName, primary: target(kind), sink, limits });
    expect(result.records).toBe(RECORDS + 1);
    expect(sink.sorted()).toEqual(expected(1));
    expect(sink.streams).toBeGreaterThan(1);
  });

  it.each([
    { name: "a wrong secret", spec: { ...key, secret: randomBytes(32).toString("base64") } },
    { name: "a wrong key name", spec: { ...key, name: "other.key." } },
    { name: "a wrong algorithm", spec: { ...key, algorithm: "hmac-sha512" as const } },
  ])("refuses an AXFR signed with $name, and says so", async ({ spec }) => {
    const wrong = await prepareTsigKey(spec, nodeHmac);
    const err = await transfer({ kind: "axfr", zone: zoneName, primary: target(kind, wrong), sink: new CollectingSink(), limits }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferError);
    const te = err as TransferError;
    // Peers answer NOTAUTH with a TSIG error, or (nsd, pdns) REFUSED/NOTAUTH unsigned: either is named.
    expect(["tsig", "rcode"]).toContain(te.code);
    expect(te.message).toMatch(/TSIG|NOTAUTH|REFUSED|BADKEY|BADSIG/);
  });

  it("refuses an unsigned AXFR of a key-guarded zone", async () => {
    const err = await transfer({ kind: "axfr", zone: zoneName, primary: { ...target(kind), key: undefined }, sink: new CollectingSink(), limits }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferError);
    expect((err as TransferError).code).toMatch(/rcode|reset/);
  });
});

describe("IXFR after edits", () => {
  // Serial 1 (400 records) → 2 (450: additions) → 3 (380: deletions, and the SOA changes).
  const steps = [
    { serial: 2, records: 450 },
    { serial: 3, records: 380 },
  ];

  it.each(kinds)("%s answers the way IXFR_ANSWER says, and the result equals the zone", async (kind) => {
    const peer = peers.get(kind)!;
    const sink = new CollectingSink();
    await transfer({ kind: "axfr", zone: zoneName, primary: target(kind), sink, limits });
    let current = [...sink.zone].find((l) => l.includes(" SOA "))!;
    for (const step of steps) {
      await peer.updateZone(ZONE, zoneText(step.serial, step.records));
      const soaRecord = (await querySoa(zoneName, target(kind), { timeoutMs: 2000, tries: 2 }));
      expect(soaRecord.serial).toBe(step.serial);
      const ours = await currentSoaRecord(kind, sink);
      const attempt = transfer({ kind: "ixfr", zone: zoneName, primary: target(kind), currentSoa: ours, sink, limits });
      const mode = IXFR_ANSWER[kind];
      if (mode === "single-soa") {
        const err = await attempt.catch((e: unknown) => e);
        expect((err as TransferError).code).toBe("inconsistent-ixfr");
        // The refresh machine's fallback: AXFR.
        await transfer({ kind: "axfr", zone: zoneName, primary: target(kind), sink, limits });
      } else {
        const result = await attempt;
        expect(result.style).toBe(mode === "incremental" ? "ixfr" : "axfr");
        if (mode === "incremental") expect(result.changesets).toBeGreaterThanOrEqual(1);
      }
      expect(sink.sorted()).toEqual(expected(step.serial, step.records));
      current = [...sink.zone].find((l) => l.includes(" SOA "))!;
    }
    expect(current).toContain(" 3 ");
    // Up to date now: a single SOA, nothing sent to the sink.
    const before = sink.events.length;
    const up = await transfer({ kind: "ixfr", zone: zoneName, primary: target(kind), currentSoa: await currentSoaRecord(kind, sink), sink, limits });
    if (kind !== "nsd") expect(up.style).toBe("up-to-date");
    if (up.style === "up-to-date") expect(sink.events.length).toBe(before);
  });
});

/** Our SOA as the primary would have sent it (the sink keeps text; the primary's SOA query gives the record). */
async function currentSoaRecord(kind: PeerKind, sink: CollectingSink) {
  const line = [...sink.zone].find((l) => l.includes(" SOA "))!;
  const serial = Number(line.split(" ")[5]);
  const soa = await querySoa(zoneName, target(kind), { timeoutMs: 2000, tries: 2 });
  // The SOA query returns the primary's current SOA; rewrite its serial to ours.
  return { ...soa.record, rdata: withSoaSerial(soa.record.rdata, serial) };
}
