/**
 * @module IXFR changesets against real local D1: the result equals the in-memory application of the same
 * changes, a 10-change IXFR writes only a handful of rows (counted from D1's own `rows_written`), and a
 * changeset that does not fit the zone is refused with the zone left as it was.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { storedZone } from "./testing/stored-zone.ts";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { applyChangesets } from "./changeset-apply.ts";
import type { ChangesetInput } from "./changeset-apply.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { MemoryZoneStore } from "../../answer/store/memory-zone-store.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import { decodeBlock } from "./block-codec.ts";
import { textToBytes } from "./blob-text.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { soaRdata, syntheticZone, txtRdata } from "./synthetic-zone.ts";

const OWNER = "instance-a";
const IN = RRClass.IN;

const zoneWith = (apex: string, records: OwnedRecord[]): Promise<ZoneRef> => storedZone(env.DB, Name.parseAbsolute(apex), records, { owner: OWNER });

const soa = (apex: Name, serial: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata: soaRdata(apex, serial) });
const a = (name: Name, last: number): OwnedRecord => ({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, 0, last) });
const txt = (name: Name, text: string): OwnedRecord => ({ name, type: RRType.TXT, class: IN, ttl: 300, rdata: txtRdata(text) });

function changeset(from: number, to: number, apex: Name, deletions: OwnedRecord[], additions: OwnedRecord[]): ChangesetInput {
  return {
    fromSerial: from,
    toSerial: to,
    deletions: encodeRecordStream([soa(apex, from), ...deletions]),
    additions: encodeRecordStream([soa(apex, to), ...additions]),
  };
}

/** Applies changesets to a record list the slow, obvious way: the reference. */
function applyInMemory(records: OwnedRecord[], changesets: { deletions: OwnedRecord[]; additions: OwnedRecord[] }[]): OwnedRecord[] {
  let out = records.slice(0, -1); // drop the AXFR's closing SOA
  const same = (x: OwnedRecord, y: OwnedRecord) =>
    x.name.equals(y.name) && x.type === y.type && x.rdata.length === y.rdata.length && x.rdata.every((v, i) => v === y.rdata[i]);
  for (const cs of changesets) {
    out = out.filter((r) => !cs.deletions.some((d) => same(d, r)));
    out.push(...cs.additions);
  }
  return out;
}

describe("IXFR changesets", () => {
  it("cost follows the changeset, not the zone: the same 10 changes read and write about as much on a zone 10× bigger", async () => {
    const cost = async (apexText: string, count: number) => {
      const apex = Name.parseAbsolute(apexText);
      const zone = await zoneWith(apexText, syntheticZone({ apex: apexText, serial: 10, count, seed: 5 }));
      // Ten owners spread over the zone each get a second address.
      const adds = Array.from({ length: 10 }, (_, k) => {
        const i = Math.floor(((k + 0.5) * count) / 10);
        return a(i % 10 === 3 ? apex.child(`sub${i}`).child(`h${i}`) : apex.child(`h${i}`), 250);
      });
      const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [changeset(10, 11, apex, [], adds)]);
      // What the version wrote: its overlay rows (issue 28), and blocks had it folded.
      const bytes = (await env.DB.prepare(
        `SELECT (SELECT COALESCE(SUM(length(data)), 0) FROM blocks WHERE zone_id = ?1 AND added_version = ?2)
          + (SELECT COALESCE(SUM(length(data)), 0) FROM node_overlay WHERE zone_id = ?1 AND added_version = ?2) AS n`,
      ).bind(zone.id, result.version).first<{ n: number }>())!.n;
      return { rowsRead: result.rowsRead, rowsWritten: result.rowsWritten, bytes };
    };
    const small = await cost("small-cost.test", 4_000);
    const big = await cost("big-cost.test", 40_000);
    console.log(`10-change IXFR: on 4k records ${JSON.stringify(small)}, on 40k ${JSON.stringify(big)} (rows as D1 counts them; bytes of block and overlay data written)`);
    expect(big.rowsRead).toBeLessThan(small.rowsRead * 1.5 + 50);
    expect(big.rowsWritten).toBeLessThanOrEqual(small.rowsWritten + 4);
    // The 11 changed owners (10 and the apex) in one overlay row: less than one 4 KiB block, let alone 11.
    expect(big.bytes).toBeLessThan(4 * 1024);
  });

  it("a 10-change IXFR across the zone writes only its overlay row, and the result equals the reference", async () => {
    const apexText = "ixfr.test";
    const apex = Name.parseAbsolute(apexText);
    const records = syntheticZone({ apex: apexText, serial: 10, count: 20_000, seed: 3 });
    const zone = await zoneWith(apexText, records);
    const blocksBefore = (await env.DB.prepare("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1").bind(zone.id).first<{ n: number }>())!.n;

    // Ten changes spread over the zone: deletions, additions, a new owner, an owner removed entirely.
    const dels: OwnedRecord[] = [a(apex.child("h100"), 100), a(apex.child("h5000"), 5000 & 255), a(apex.child("h19990"), 19990 & 255)];
    dels[1]!.rdata = Uint8Array.of(10, 0, (5000 >> 8) & 255, 5000 & 255);
    dels[2]!.rdata = Uint8Array.of(10, 0, (19990 >> 8) & 255, 19990 & 255);
    const adds: OwnedRecord[] = [
      a(apex.child("h100"), 1),
      txt(apex.child("new-owner"), "hello"),
      a(apex.child("h7777"), 77),
      a(apex.child("zzz-last"), 9),
      txt(apex.child("h12345"), "more"),
      a(apex.child("h2"), 222),
    ];
    const budget = new Budget(env.DB);
    const result = await applyChangesets(budget, zone, OWNER, [changeset(10, 11, apex, dels, adds)]);
    expect(result.serial).toBe(11);
    expect(result.recordCount).toBe(records.length - 1 - dels.length + adds.length);
    console.log(
      `IXFR of ${dels.length + adds.length} changes (+ SOA): ${result.rowsWritten} rows written (D1 rows_written), ` +
        `${result.blocksReplaced} blocks replaced (${result.blocksRetired} of them retired, the rest shadowed), ` +
        `${result.blocksWritten} written; the zone has ${blocksBefore} blocks`,
    );
    // Touched blocks ≤ 10 (+ the apex block for the SOA). D1 counts index entries as rows written: a new
    // block is 2 (row and lookup index), a retired one 1 more; a block rewritten from the same first key
    // shadows its old row and retires nothing. Bookkeeping: the version row (2: row and key), the
    // pointer, the journal (2), the earliest RRSIG, the zone change log's row (written by a trigger, for the
    // answer path's freshness, `store/zone-directory.ts`): 7. Plus the service's zone change feed (issue 19,
    // migration `zone_config_feed`): each update of the zone row that moves what the service reads (the
    // pointer and serial, the earliest RRSIG) takes the next change_seq: the counter, the row, its index
    // entry, 3 rows, twice here: 6.
    // Through the overlay (issue 28): no block is written; the changed owners are one `node_overlay` row (and
    // its key, 2 rows written) instead.
    expect([result.blocksReplaced, result.blocksWritten, result.overlayOwners]).toEqual([0, 0, 9]);
    expect(result.rowsWritten).toBeLessThanOrEqual(2 + 13);
    // A copy of the zone would retire and rewrite every block: 3 rows each.
    expect(result.rowsWritten).toBeLessThan((3 * blocksBefore) / 2);

    const expected = applyInMemory(records, [{ deletions: [soa(apex, 10), ...dels], additions: [soa(apex, 11), ...adds] }]);
    const d1 = new D1ZoneStore(env.DB);
    const info = (await d1.findZone(apex))!;
    expect(info.serial).toBe(11);
    const memory = new MemoryZoneStore([{ info, records: expected }]);
    for (const name of ["h100", "h5000", "h19990", "new-owner", "h7777", "zzz-last", "h12345", "h2", "h3", "h101", "nothing"]) {
      const n = apex.child(name);
      const [x, y] = [await d1.locate(info, 0, n), await memory.locate(info, 0, n)];
      expect([x.match?.records, x.before?.name.toString(), x.after?.name.toString()], name).toEqual([
        y.match?.records,
        y.before?.name.toString(),
        y.after?.name.toString(),
      ]);
    }
    // The old version is still readable at its own version (for readers that cached the old pointer).
    const old = { ...info, version: info.version! - 1 };
    expect((await new D1ZoneStore(env.DB).node(old, apex.child("h5000")))?.records.length).toBe(1);
  }, 120_000);

  it("a block rewritten in place shadows its old row; emptied later, it is retired and the old row stays hidden", async () => {
    const apexText = "shadow.test";
    const apex = Name.parseAbsolute(apexText);
    const records = syntheticZone({ apex: apexText, serial: 1, count: 30, nsec3: 2 });
    const zone = await zoneWith(apexText, records);
    // The NSEC3 chain is one block of its own tree: change one record, then delete the whole chain.
    const nsec3s = records.filter((r) => r.type === RRType.NSEC3);
    const chain = records.filter((r) => r.type === RRType.NSEC3 || (r.type === RRType.RRSIG && r.rdata[1] === RRType.NSEC3));
    expect([nsec3s.length, chain.length]).toEqual([2, 4]);
    const budget = new Budget(env.DB);
    // The blocks path, as a fold takes it (issue 28: bounds of 0 fold every apply).
    const blocksPath = { overlayLimits: { owners: 0, bytes: 0 } };
    const first = await applyChangesets(budget, zone, OWNER, [changeset(1, 2, apex, [nsec3s[0]!], [{ ...nsec3s[0]!, ttl: 77 }])], blocksPath);
    // Two blocks: the chain and the apex (the SOA changes).
    expect([first.blocksRetired, first.blocksReplaced]).toEqual([0, 2]);
    const second = await applyChangesets(budget, zone, OWNER, [changeset(2, 3, apex, chain.map((r) => ({ ...r })), [])], blocksPath);
    expect(second.blocksRetired).toBe(1);

    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const info = (await store.findZone(apex))!;
    for (const [version, expected] of [
      [info.version! - 2, [300, 300]],
      [info.version! - 1, [300, 77]],
      [info.version!, []],
    ] as const) {
      const at = { ...info, version };
      const ttls: number[] = [];
      for (const r of nsec3s) {
        const { match } = await store.locate(at, TREE_NSEC3, r.name);
        for (const x of match?.records ?? []) if (x.type === RRType.NSEC3) ttls.push(x.ttl);
      }
      expect(ttls.sort((x, y) => y - x), `version ${version}`).toEqual([...expected].sort((x, y) => y - x));
    }
  }, 60_000);

  it("several changesets in one IXFR become one version, journalled in order", async () => {
    const apexText = "multi.test";
    const apex = Name.parseAbsolute(apexText);
    const zone = await zoneWith(apexText, syntheticZone({ apex: apexText, serial: 1, count: 50 }));
    const budget = new Budget(env.DB);
    const result = await applyChangesets(budget, zone, OWNER, [
      changeset(1, 2, apex, [], [a(apex.child("x1"), 1)]),
      changeset(2, 3, apex, [a(apex.child("x1"), 1)], [a(apex.child("x2"), 2)]),
    ]);
    expect(result.serial).toBe(3);
    const journal = await env.DB.prepare("SELECT seq, from_serial, to_serial FROM changesets WHERE zone_id = ?1 ORDER BY version, seq, part")
      .bind(zone.id)
      .all();
    expect(journal.results).toEqual([
      { seq: 0, from_serial: 1, to_serial: 2 },
      { seq: 1, from_serial: 2, to_serial: 3 },
    ]);
    const store = new D1ZoneStore(env.DB);
    const info = (await store.findZone(apex))!;
    expect(await store.node(info, apex.child("x1"))).toBeNull();
    expect((await store.node(info, apex.child("x2")))?.records).toHaveLength(1);
  }, 60_000);

  it.each([
    ["starts at another serial", (apex: Name) => [changeset(4, 5, apex, [], [])], "inconsistent"],
    ["deletes a record the zone does not have", (apex: Name) => [changeset(1, 2, apex, [a(apex.child("h1"), 99)], [])], "inconsistent"],
    ["breaks the chain", (apex: Name) => [changeset(1, 2, apex, [], []), changeset(3, 4, apex, [], [])], "inconsistent"],
    [
      "ends with an SOA of another serial",
      (apex: Name) => [{ ...changeset(1, 2, apex, [], []), additions: encodeRecordStream([soa(apex, 7)]) }],
      "serial-mismatch",
    ],
    [
      "leaves no SOA",
      (apex: Name) => [{ ...changeset(1, 2, apex, [], []), additions: encodeRecordStream([]) }],
      "inconsistent",
    ],
    [
      "has a record outside the zone",
      (apex: Name) => [changeset(1, 2, apex, [], [a(Name.parse("other.test."), 1)])],
      "bad-records",
    ],
  ])("refuses a changeset that %s, and the zone stays as it was", async (label, make, code) => {
    // Lowercase, as `zones.name` always is (the API normalizes; the answer path looks names up as stored).
    const apexText = `bad-${label.replaceAll(" ", "-").toLowerCase()}.test`;
    const apex = Name.parseAbsolute(apexText);
    const zone = await zoneWith(apexText, syntheticZone({ apex: apexText, serial: 1, count: 20 }));
    await expect(applyChangesets(new Budget(env.DB), zone, OWNER, make(apex))).rejects.toMatchObject({ code });
    const store = new D1ZoneStore(env.DB);
    const info = (await store.findZone(apex))!;
    expect(info.serial).toBe(1);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM changesets WHERE zone_id = ?1").bind(zone.id).first()).toEqual({ n: 0 });
  }, 30_000);

  it("changes at block boundaries: a block's first owner removed, a block grown past its size, an owner between two blocks", async () => {
    const apexText = "edges.test";
    const apex = Name.parseAbsolute(apexText);
    const records = syntheticZone({ apex: apexText, serial: 20, count: 3000, seed: 5 });
    const zone = await zoneWith(apexText, records);
    const stored = await env.DB.prepare("SELECT data FROM blocks WHERE zone_id = ?1 AND tree = 0 ORDER BY first_key").bind(zone.id).all<{ data: string }>();
    const blocks = stored.results.map((r) => decodeBlock(textToBytes(r.data)));
    expect(blocks.length).toBeGreaterThan(6);
    // Block 2's first owner goes entirely: the block's first key moves, so its old row is retired.
    const gone = blocks[2]![0]!;
    // Block 4's last owner gains 3 KiB of text: the block no longer fits 4 KiB and is cut in two.
    const grown = blocks[4]!.at(-1)!;
    // A new owner just after block 5's last one, before block 6's first: it lands in block 5.
    const between = blocks[5]!.at(-1)!.name.child("aaa-between");
    expect(compareBytes(between.sortKey(), blocks[6]![0]!.key)).toBeLessThan(0);
    const dels = gone.records.map((r) => ({ name: gone.name, ...r }));
    const adds = [txt(grown.name, "x".repeat(250)), ...Array.from({ length: 11 }, (_, i) => txt(grown.name, `${i}`.repeat(250))), a(between, 7)];
    const budget = new Budget(env.DB);
    // The blocks path, as a fold takes it (issue 28: bounds of 0 fold every apply).
    const result = await applyChangesets(budget, zone, OWNER, [changeset(20, 21, apex, dels, adds)], { overlayLimits: { owners: 0, bytes: 0 } });
    // The apex block (SOA) and the three above; block 4 became two (block 5 may too, if it was full).
    expect(result.blocksReplaced).toBe(4);
    expect(result.blocksRetired).toBe(1);
    expect(result.blocksWritten).toBeGreaterThanOrEqual(5);
    expect(result.blocksWritten).toBeLessThanOrEqual(6);

    const expected = applyInMemory(records, [{ deletions: [soa(apex, 20), ...dels], additions: [soa(apex, 21), ...adds] }]);
    const d1 = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const info = (await d1.findZone(apex))!;
    const memory = new MemoryZoneStore([{ info, records: expected }]);
    const probes = [gone.name, blocks[2]![1]!.name, blocks[1]!.at(-1)!.name, grown.name, blocks[4]![0]!.name, blocks[5]![0]!.name, between, blocks[6]![0]!.name, apex];
    for (const n of probes) {
      const [x, y] = [await d1.locate(info, TREE_MAIN, n), await memory.locate(info, TREE_MAIN, n)];
      expect([x.match?.records, x.before?.name.toString(), x.after?.name.toString()], n.toString()).toEqual([
        y.match?.records,
        y.before?.name.toString(),
        y.after?.name.toString(),
      ]);
    }
    // Every block of the new version is within the size limits, and they do not overlap.
    const now = await env.DB.prepare(
      "SELECT first_key, last_key, data FROM blocks WHERE zone_id = ?1 AND tree = 0 AND added_version = ?2 ORDER BY first_key",
    )
      .bind(zone.id, info.version)
      .all<{ first_key: ArrayBuffer; last_key: ArrayBuffer; data: string }>();
    for (const r of now.results) expect(textToBytes(r.data).length).toBeLessThanOrEqual(4096 + 250);
  }, 60_000);

  it("given the version the caller read, the lookups go in the lease check's batch (one round trip less); a stale one is caught", async () => {
    const currentVersion = async (zone: ZoneRef) =>
      (await env.DB.prepare("SELECT current_version AS v FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number }>())!.v;
    const apply = async (zone: ZoneRef, apex: Name, from: number, adds: OwnedRecord[], expectedBase?: number) => {
      const budget = new Budget(env.DB);
      const result = await applyChangesets(budget, zone, OWNER, [changeset(from, from + 1, apex, [], adds)], { expectedBase });
      return { result, batches: budget.counts.batches };
    };
    const spread = (apex: Name, last: number) => [10, 400, 900, 1500].map((i) => a(apex.child(`h${i}`), last));
    const zones = await Promise.all(
      ["folded-a.test", "folded-b.test"].map(async (apexText) => {
        const apex = Name.parseAbsolute(apexText);
        return { apex, zone: await zoneWith(apexText, syntheticZone({ apex: apexText, serial: 1, count: 2_000, seed: 9 })) };
      }),
    );
    const [folded, separate] = [
      await apply(zones[0]!.zone, zones[0]!.apex, 1, spread(zones[0]!.apex, 201), await currentVersion(zones[0]!.zone)),
      await apply(zones[1]!.zone, zones[1]!.apex, 1, spread(zones[1]!.apex, 201)),
    ];
    expect(folded.batches).toBe(separate.batches - 1);
    expect(folded.result).toMatchObject({ serial: 2, recordCount: separate.result.recordCount, blocksWritten: separate.result.blocksWritten });

    // The version read before the first IXFR is stale now: the second IXFR, on the same owners, must be
    // applied to the first one's blocks, not to the blocks that version saw.
    const { zone, apex } = zones[0]!;
    const stale = (await env.DB.prepare("SELECT MIN(version) AS v FROM zone_versions WHERE zone_id = ?1").bind(zone.id).first<{ v: number }>())!.v;
    expect(stale).toBeLessThan(await currentVersion(zone));
    const second = await apply(zone, apex, 2, spread(apex, 202), stale);
    expect(second.result.serial).toBe(3);
    const store = new D1ZoneStore(env.DB);
    const info = (await store.findZone(apex))!;
    for (const i of [10, 400, 900, 1500]) {
      const addresses = (await store.node(info, apex.child(`h${i}`)))!.records.filter((r) => r.type === RRType.A).map((r) => r.rdata[3]);
      expect(addresses).toEqual(expect.arrayContaining([201, 202]));
    }
  }, 60_000);

  it("refuses a changeset from an instance without the lease, the lookups folded in or not", async () => {
    const apexText = "ixfr-lease.test";
    const apex = Name.parseAbsolute(apexText);
    const zone = await zoneWith(apexText, syntheticZone({ apex: apexText, serial: 1, count: 5 }));
    await expect(applyChangesets(new Budget(env.DB), zone, "intruder", [changeset(1, 2, apex, [], [])])).rejects.toMatchObject({
      code: "lease",
    });
    const version = (await env.DB.prepare("SELECT current_version AS v FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number }>())!.v;
    await expect(applyChangesets(new Budget(env.DB), zone, "intruder", [changeset(1, 2, apex, [], [])], { expectedBase: version })).rejects.toMatchObject({
      code: "lease",
    });
  }, 30_000);
});
