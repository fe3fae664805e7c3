/**
 * @module The zone status shows the earliest RRSIG expiration of the served version (issue 8 item 6),
 * against the real Worker (`wrangler dev`, local D1): zones signed when the test runs (dnssec-signzone,
 * NSEC and NSEC3), ingested the way the transfer-service does, in canonical order (blocks written
 * directly) and shuffled in small chunks (staged and merged); an unsigned zone shows null; an IXFR that
 * brings an RRSIG expiring sooner moves the figure. Expected values come from the signed file itself.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { withSoaSerial } from "../../dns/rdata/soa.ts";
import { prng } from "../../dns/testing/prng.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import { WorkerClient } from "../../transfer-service/worker/worker-client.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { createZone } from "../stack/zone-load.ts";
import { generateZone } from "../zones/generate.ts";
import { signZone, type SignZoneOptions } from "../zones/sign.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const OWNER = "rrsig-test";
let worker: WranglerDev;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "backstop-rrsig-"));
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL });
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const expirationOf = (rdata: Uint8Array) => new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(8);
/** The earliest RRSIG expiration among `records`, as the API shows it (ISO 8601), or null. */
function earliest(records: readonly ResourceRecord[]): string | null {
  const times = records.filter((r) => r.type === RRType.RRSIG).map((r) => expirationOf(r.rdata));
  return times.length === 0 ? null : new Date(Math.min(...times) * 1000).toISOString();
}

async function zoneStatus(apex: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${worker.base}/api/v1/zones/${apex}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** Records of `apex` (generated, then signed unless `sign` is null) as the AXFR client hands them over. */
async function zoneRecords(apex: string, sign: SignZoneOptions | null): Promise<ResourceRecord[]> {
  const file = path.join(dir, `${apex}.zone`);
  await writeFile(file, generateZone({ origin: apex, records: 400, seed: 7, serial: 1 }));
  let text = await readFile(file, "utf8");
  if (sign) {
    const signed = await signZone(file, apex, { ...sign, dir: await mkdtemp(path.join(dir, "keys-")) });
    text = await readFile(signed.file, "utf8");
  }
  return parseZoneText(text, { origin: Name.parse(apex), defaultTtl: 3600 });
}

/** A full ingest through the service's client: canonical order in one chunk, or shuffled in small chunks. */
async function ingest(apex: string, records: ResourceRecord[], order: "canonical" | "shuffled"): Promise<void> {
  // The service cuts the blocks (BACKSTOP_INGEST_CUT=service) here, so its cutter and the Worker's check of
  // them meet a signed zone end to end, in canonical order and shuffled; the other stacks use the default.
  const client = new WorkerClient({ baseUrl: worker.base, token: INTERNAL, timeoutMs: 30_000, chunkBytes: order === "shuffled" ? 2048 : undefined, cutBlocks: true });
  try {
    await createZone({ base: worker.base, admin: ADMIN, internal: INTERNAL }, apex);
    expect(await client.acquireLease(apex, OWNER, 60_000)).toBe(true);
    const soa = records.find((r) => r.type === RRType.SOA)!;
    let rest = records.filter((r) => r !== soa);
    if (order === "shuffled") {
      const random = prng(5);
      rest = rest.map((r) => ({ r, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.r);
    }
    const session = await client.beginIngest(apex, OWNER, "axfr", 1);
    await session.beginFull(soa);
    await session.records(rest);
    await session.end();
    await session.commit();
  } finally {
    await client.close();
  }
}

describe("rrsigExpiresEarliest in the zone status", () => {
  it.each([
    ["unsigned", null, "canonical"],
    ["NSEC-signed, written straight into blocks", {}, "canonical"],
    ["NSEC-signed, staged and merged", {}, "shuffled"],
    ["NSEC3-signed (salt, iterations, opt-out)", { nsec3: { salt: "aabbccdd", iterations: 5, optOut: true } }, "canonical"],
  ] as const)("%s", async (label, sign, order) => {
    const apex = `${label.split(/[^a-z0-9]+/i)[0]!.toLowerCase()}-${order}-${sign && "nsec3" in sign ? "3" : "1"}.test`;
    const records = await zoneRecords(apex, sign);
    await ingest(apex, records, order);
    const status = await zoneStatus(apex);
    expect(status.serial).toBe(1);
    expect(status.rrsigExpiresEarliest).toBe(earliest(records));
    if (sign) expect(status.rrsigExpiresEarliest).not.toBeNull();
  }, 120_000);

  it("follows an IXFR that brings an RRSIG expiring sooner, and one that takes it away", async () => {
    const apex = "ixfr-rrsig.test";
    const records = await zoneRecords(apex, {});
    await ingest(apex, records, "canonical");
    const before = (await zoneStatus(apex)).rrsigExpiresEarliest;
    expect(before).toBe(earliest(records));

    // Replace one RRSIG by a copy expiring in a day (the store does not validate signatures).
    const old = records.find((r) => r.type === RRType.RRSIG && !r.name.equals(Name.parse(apex)))!;
    const sooner = { ...old, rdata: old.rdata.slice() };
    const inADay = Math.floor(Date.now() / 1000) + 86_400;
    new DataView(sooner.rdata.buffer).setUint32(8, inADay);
    const soa1 = records.find((r) => r.type === RRType.SOA)!;
    const withSerial = (serial: number): ResourceRecord => ({ ...soa1, rdata: withSoaSerial(soa1.rdata, serial) });
    const client = new WorkerClient({ baseUrl: worker.base, token: INTERNAL, timeoutMs: 30_000 });
    const change = async (from: number, to: number, deletions: ResourceRecord[], additions: ResourceRecord[]) => {
      const session = await client.beginIngest(apex, OWNER, "ixfr", to);
      await session.beginIncremental(withSerial(to));
      await session.beginChangeset(withSerial(from));
      await session.records(deletions);
      await session.beginAdditions(withSerial(to));
      await session.records(additions);
      await session.end();
      await session.commit();
    };
    try {
      await change(1, 2, [old], [sooner]);
      expect(await zoneStatus(apex)).toMatchObject({ serial: 2, rrsigExpiresEarliest: new Date(inADay * 1000).toISOString() });
      await change(2, 3, [sooner], [old]);
      expect(await zoneStatus(apex)).toMatchObject({ serial: 3, rrsigExpiresEarliest: before });
    } finally {
      await client.close();
    }
  }, 120_000);
});
