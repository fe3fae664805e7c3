/**
 * Transfers out from the replica (`replica-records.ts`): the stream written from a packed version holds every
 * record of the version once, as stored (owner spelling, TTL, rdata), its apex SOA first, in chunks of about the
 * size asked; and the source reads the Worker whenever the replica does not hold that zone's version.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../../../dns/name.ts";
import { RRType } from "../../../dns/constants.ts";
import { encodeRecordStream, parseRecordStream } from "../../../contract/record-stream.ts";
import { CompactZone } from "../../../answer/store/compact-zone.ts";
import { zoneRecords } from "../../../answer/testing/load-zone.ts";
import { Metrics } from "../../ops/metrics.ts";
import { replicaRecordChunks, withReplicaRecords } from "./replica-records.ts";
import type { TransferSource } from "./transfer-out.ts";

const apex = Name.parse("out.test.");
let text = "@ 3600 SOA ns hostmaster 7 7200 3600 1209600 300\n@ NS ns\n@ MX 10 mail\nns A 192.0.2.1\nMiXeD.Case 60 A 192.0.2.2\na\\000b\\001.esc TXT \"escaped octets\"\n";
for (let i = 0; i < 400; i++) text += `h${(i * 7919) % 1000}.s${i % 13} A 10.0.${i >> 8}.${i & 255}\nh${i}.s${i % 13} TXT "t${i}"\n`;
for (let i = 0; i < 40; i++) text += `${(i * 104729).toString(32).padStart(32, "0").slice(0, 32)} NSEC3 1 0 0 - ${"0".repeat(32)} A\n`;
const records = zoneRecords(text, apex);
const packed = CompactZone.fromRecords(records);

/** A record as a comparable line: owner as spelled, type, class, TTL, rdata. */
const line = (r: { name: Name; type: number; class: number; ttl: number; rdata: Uint8Array }) => `${r.name.toString()} ${r.type} ${r.class} ${r.ttl} ${Buffer.from(r.rdata).toString("hex")}`;

describe("replicaRecordChunks", () => {
  it("writes every record of the version once, as stored, the apex SOA first, in chunks of about the size asked", () => {
    const chunks = [...replicaRecordChunks(packed, 2048)];
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeLessThan(2048 + 600);
    const out = chunks.flatMap((c) => parseRecordStream(c));
    expect(out[0]!.type).toBe(RRType.SOA);
    expect(out[0]!.name.toString()).toBe("out.test.");
    expect(out.filter((r) => r.type === RRType.SOA)).toHaveLength(1);
    expect(out.map(line).sort()).toEqual(records.map(line).sort());
    // Spellings and TTLs come through as the version has them.
    expect(out.map(line)).toContain(line(records.find((r) => r.name.toString() === "MiXeD.Case.out.test.")!));
  });

  it("refuses a version without a single SOA at its apex", () => {
    const noSoa = CompactZone.fromRecords(records.filter((r) => r.type !== RRType.SOA));
    expect(() => [...replicaRecordChunks(noSoa)]).toThrow(/no single SOA/);
  });
});

describe("withReplicaRecords", () => {
  const worker = (): TransferSource & { reads: number } => {
    const source = {
      reads: 0,
      zoneForTransfer: () => Promise.resolve(null),
      journal: () => Promise.resolve(null),
      versionRecords(_zone: string, version: number) {
        source.reads++;
        return Promise.resolve({ serial: 7, version, chunks: (async function* () { yield encodeRecordStream(records); })(), cancel: () => {} });
      },
    };
    return source;
  };
  const held = (zone: string, zoneId: number, version: number) => (zone === "out.test" && zoneId === 3 && version === 5 ? packed : undefined);

  it("streams the version from the replica when it holds that zone's version, else reads the Worker", async () => {
    const inner = worker();
    const metrics = new Metrics();
    const source = withReplicaRecords(inner, held, metrics);
    const fromReplica = (await source.versionRecords("out.test", 5, 3))!;
    expect(fromReplica.serial).toBe(7);
    const got: string[] = [];
    for await (const chunk of fromReplica.chunks) got.push(...parseRecordStream(chunk).map(line));
    expect(got.sort()).toEqual(records.map(line).sort());
    expect(inner.reads).toBe(0);
    // Another version, the same version of a zone created again (another id), no id at all: the Worker's.
    await source.versionRecords("out.test", 4, 3);
    await source.versionRecords("out.test", 5, 9);
    await source.versionRecords("out.test", 5);
    expect(inner.reads).toBe(3);
    const text = await metrics.registry.metrics();
    expect(text).toContain('backstop_xfr_out_reads_total{source="replica"} 1');
    expect(text).toContain('backstop_xfr_out_reads_total{source="worker"} 3');
  });

  it("stops writing when the transfer cancels", async () => {
    const source = withReplicaRecords(worker(), held, undefined, 2048);
    const stream = (await source.versionRecords("out.test", 5, 3))!;
    const iterator = stream.chunks[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    expect((await iterator.next()).done).toBe(false);
    stream.cancel();
    expect((await iterator.next()).done).toBe(true);
  });
});
