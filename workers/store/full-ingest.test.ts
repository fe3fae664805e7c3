/**
 * @module Full ingest into real local D1: canonical blocks from shuffled chunks, equal to the in-memory
 * reference; the atomic flip under concurrent readers; abandoned ingests leave nothing visible; a
 * 100k-record zone stays within D1's statement limits (counted) and its ingest rate is measured.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { abortIngest, appendBlocks, appendChunk, beginIngest, commitIngest } from "./full-ingest.ts";
import { cutBlocks, encodeBlockChunk } from "../../answer/store/block-chunk.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { acquireLease } from "./lease.ts";
import { MemoryZoneStore } from "../../answer/store/memory-zone-store.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget, MAX_BOUND_PARAMETERS, MAX_STATEMENT_BYTES } from "./statement-budget.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { prng } from "../../dns/testing/prng.ts";
import { syntheticZone } from "./synthetic-zone.ts";
import { versionNodes } from "./version-stream.ts";

const OWNER = "instance-a";

async function createZone(name: string): Promise<ZoneRef> {
  const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id")
    .bind(name)
    .first<{ id: number }>();
  const zone = { id: row!.id, name: Name.parseAbsolute(name) };
  expect(await acquireLease(new Budget(env.DB), zone.id, OWNER, 600_000)).not.toBeNull();
  return zone;
}

/** Splits records into chunks of `size` records, as the transfer-service ships them. */
function chunks(records: OwnedRecord[], size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < records.length; i += size) out.push(encodeRecordStream(records.slice(i, i + size)));
  return out;
}

/**
 * Sorts records canonically and cuts them into chunks of about `size` records between owners: what a
 * primary sending in canonical order and the service's chunker produce.
 */
function canonicalChunks(records: OwnedRecord[], size: number): Uint8Array[] {
  const sorted = [...records].sort((a, b) => compareBytes(a.name.sortKey(), b.name.sortKey()));
  const out: Uint8Array[] = [];
  let current: OwnedRecord[] = [];
  for (const r of sorted) {
    if (current.length >= size && !r.name.equals(current[current.length - 1]!.name)) {
      out.push(encodeRecordStream(current));
      current = [];
    }
    current.push(r);
  }
  if (current.length > 0) out.push(encodeRecordStream(current));
  return out;
}

const countRows = async (sql: string, zone: ZoneRef) => (await env.DB.prepare(sql).bind(zone.id).first<{ n: number }>())!.n;

/** Run pieces staged by the last `ingest` before its commit (0: every chunk went straight into blocks). */
let lastStagedPieces = 0;

/** A chunk as the transfer-service sends it since issue 28: the blocks it cut from the record stream. */
function asBlocks(zone: ZoneRef, stream: Uint8Array): Uint8Array {
  return encodeBlockChunk(cutBlocks(stream, zone.name.toWire(), zone.name.sortKey()).blocks);
}

/**
 * Ingests records in chunks: record streams the Worker cuts (`stream`, as the whole-zone request's), or
 * chunks of blocks the service cut (`blocks`, a full transfer's).
 */
async function ingest(
  budget: Budget,
  zone: ZoneRef,
  records: OwnedRecord[],
  chunkSize: number,
  serial?: number,
  order: "shuffled" | "canonical" = "shuffled",
  route: "stream" | "blocks" = "stream",
) {
  const version = await beginIngest(budget, zone, OWNER);
  const parts = order === "canonical" ? canonicalChunks(records, chunkSize) : chunks(records, chunkSize);
  for (let i = 0; i < parts.length; i++) {
    if (route === "blocks") await appendBlocks(budget, zone, version, i, asBlocks(zone, parts[i]!), OWNER);
    else await appendChunk(budget, zone, version, i, parts[i]!, OWNER);
  }
  lastStagedPieces = await countRows("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1", zone);
  return commitIngest(budget, zone, version, OWNER, { serial });
}

function namesToProbe(apex: string, count: number): Name[] {
  const a = Name.parseAbsolute(apex);
  const names = [a, a.child("zzz"), a.child("a"), a.child("ns1"), a.child("sub3"), a.child("x").child("sub13")];
  const random = prng(count);
  for (let k = 0; k < 60; k++) {
    const i = Math.floor(random() * (count + 5));
    names.push(a.child(`h${i}`), a.child(`h${i}x`), a.child(`sub${i}`).child(`h${i}`), a.child(`sub${i}`), a.child("q").child(`h${i}`));
  }
  return names;
}

const text = (n: { name: Name } | null) => (n ? n.name.toString() : null);

describe("full ingest", () => {
  let budget: Budget;
  beforeEach(() => {
    budget = new Budget(env.DB);
  });

  it.each([
    ["one chunk (sorted on arrival)", 1, 400, 20_000, "shuffled", "direct", "stream"],
    ["many small chunks (owners split across chunks)", 2, 400, 7, "shuffled", "merged", "stream"],
    ["NSEC3 chain and mid-size chunks", 3, 1500, 211, "shuffled", "merged", "stream"],
    ["canonical order, one chunk", 4, 400, 20_000, "canonical", "direct", "stream"],
    ["canonical order, many chunks cut between owners", 5, 1500, 97, "canonical", "direct", "stream"],
    ["canonical order with an NSEC3 chain", 6, 1500, 211, "canonical", "direct", "stream"],
    // Issue 28: the same, as chunks of blocks the service cut.
    ["blocks cut by the service, many small shuffled chunks", 12, 400, 7, "shuffled", "merged", "blocks"],
    ["blocks cut by the service, NSEC3 chain, shuffled", 13, 1500, 211, "shuffled", "merged", "blocks"],
    ["blocks cut by the service, canonical order, many chunks", 15, 1500, 97, "canonical", "direct", "blocks"],
    ["blocks cut by the service, canonical order with an NSEC3 chain", 16, 1500, 211, "canonical", "direct", "blocks"],
  ] as const)("%s: D1 lookups equal the in-memory reference", async (_label, seed, count, chunkSize, order, path, route) => {
    const apex = `ingest${seed}.test`;
    const zone = await createZone(apex);
    const records = syntheticZone({ apex, serial: 7, count, nsec3: seed % 10 === 3 || seed % 10 === 6 ? 300 : 0, seed });
    const result = await ingest(budget, zone, records, chunkSize, 7, order, route);
    // Canonical chunks go straight into blocks: nothing is staged, so nothing is merged.
    if (path === "direct") expect(lastStagedPieces).toBe(0);
    else expect(lastStagedPieces).toBeGreaterThan(0);
    expect(await countRows("SELECT COUNT(*) AS n FROM ingest_ranges WHERE zone_id = ?1", zone)).toBe(0);
    expect(await countRows("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND tree > 1", zone)).toBe(0);
    expect(result.serial).toBe(7);
    // The closing SOA of the AXFR is the same record as the opening one.
    expect(result.recordCount).toBe(records.length - 1);

    const d1 = new D1ZoneStore(env.DB);
    const started = Date.now();
    const info = (await d1.findZone(zone.name))!;
    expect(info.version).toBe(result.version);
    const memory = new MemoryZoneStore([{ info, records }]);
    for (const name of namesToProbe(apex, count)) {
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        const [a, b] = [await d1.locate(info, tree, name), await memory.locate(info, tree, name)];
        expect([text(a.match), text(a.before), text(a.after)], `${name} tree ${tree}`).toEqual([
          text(b.match),
          text(b.before),
          text(b.after),
        ]);
        expect(a.match?.records).toEqual(b.match?.records);
      }
      const [ca, cb] = [await d1.closestEncloser(info, name), await memory.closestEncloser(info, name)];
      expect([ca.name.toString(), text(ca.node)], `closest encloser of ${name}`).toEqual([cb.name.toString(), text(cb.node)]);
      expect(text(await d1.nsec3Predecessor(info, name))).toEqual(text(await memory.nsec3Predecessor(info, name)));
    }
    console.log(`${d1.queries} D1 queries for ${namesToProbe(apex, count).length} probes in ${Date.now() - started} ms`);
  }, 60_000);

  it.each([
    ["canonical order", "canonical", 0, 97],
    ["canonical order with an NSEC3 chain", "canonical", 300, 211],
    ["shuffled order", "shuffled", 0, 5000],
    ["shuffled order with an NSEC3 chain, owners split across chunks", "shuffled", 300, 211],
  ] as const)("issue 28: %s stores the same block rows whether the Worker or the service cut the chunks", async (label, order, nsec3, chunkSize) => {
    // One zone, transferred twice with the same data: versions 1 and 2, cut by the Worker then by the service.
    const apex = `same-${order}-${nsec3}-${chunkSize}.test`;
    const zone = await createZone(apex);
    const records = syntheticZone({ apex, serial: 5, count: 1500, nsec3, seed: 31 });
    const rows = [];
    for (const route of ["stream", "blocks"] as const) {
      const { version } = await ingest(budget, zone, records, chunkSize, 5, order, route);
      const stored = await env.DB.prepare(
        `SELECT tree, hex(first_key) AS f, hex(last_key) AS l, record_count AS n, data, rrsig_expires_at AS e
         FROM blocks WHERE zone_id = ?1 AND added_version = ?2 ORDER BY tree, first_key`,
      )
        .bind(zone.id, version)
        .all();
      rows.push(stored.results);
    }
    expect(rows[0]!.length, label).toBeGreaterThan(10);
    expect(rows[1]).toEqual(rows[0]);
  }, 60_000);

  it("issue 28: a chunk of blocks that fails its check is refused whole (bad-records, nothing stored)", async () => {
    const zone = await createZone("badblocks.test");
    const records = syntheticZone({ apex: "badblocks.test", serial: 2, count: 300, seed: 4 });
    const cut = cutBlocks(encodeRecordStream(records), zone.name.toWire(), zone.name.sortKey()).blocks;
    expect(cut.length).toBeGreaterThan(2);
    const version = await beginIngest(budget, zone, OWNER);
    // Good blocks, then two out of order: the good ones before them must not be stored either.
    const body = encodeBlockChunk([...cut.slice(2), cut[1]!, cut[0]!]);
    await expect(appendBlocks(budget, zone, version, 0, body, OWNER)).rejects.toMatchObject({ code: "bad-records", status: 400 });
    await expect(appendBlocks(budget, zone, version, 0, body, OWNER)).rejects.toThrow(/chunk 0: block \d+: does not start after the end of the block before it/);
    for (const table of ["blocks", "ingest_ranges", "ingest_runs"]) expect(await countRows(`SELECT COUNT(*) AS n FROM ${table} WHERE zone_id = ?1`, zone), table).toBe(0);
    // The lease is checked as for a record stream.
    await expect(appendBlocks(budget, zone, version, 0, encodeBlockChunk(cut), "instance-b")).rejects.toMatchObject({ code: "lease" });
  });

  it("versionNodes reads a committed version back whole, the same whether a page holds 2 blocks or the default", async () => {
    const apex = "readback.test";
    const zone = await createZone(apex);
    const records = syntheticZone({ apex, serial: 4, count: 1500, nsec3: 300, seed: 9 });
    const { version } = await ingest(budget, zone, records, 211, 4, "canonical");
    const blocks = await countRows("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1", zone);
    expect(blocks).toBeGreaterThan(4);
    const read = async (perQuery?: number) => {
      const out: string[] = [];
      for await (const n of versionNodes(env.DB, zone.id, version, perQuery)) out.push(`${n.name} ${n.records.length}`);
      return out;
    };
    const paged = await read(2);
    expect(paged).toEqual(await read());
    expect(new Set(paged).size).toBe(paged.length);
    // Every record but the AXFR's closing copy of the SOA.
    expect(paged.reduce((sum, line) => sum + Number(line.split(" ").pop()), 0)).toBe(records.length - 1);
  });

  it("a commit of chunks that all went straight into blocks is two D1 round trips, whatever the zone's size", async () => {
    for (const [seed, count] of [[21, 300], [22, 6000]] as const) {
      const apex = `commit${seed}.test`;
      const zone = await createZone(apex);
      const records = syntheticZone({ apex, serial: 3, count, seed });
      const version = await beginIngest(budget, zone, OWNER);
      const parts = canonicalChunks(records, 500);
      for (let i = 0; i < parts.length; i++) await appendChunk(budget, zone, version, i, parts[i]!, OWNER);
      const before = budget.counts.batches;
      const result = await commitIngest(budget, zone, version, OWNER, { serial: 3 });
      expect(budget.counts.batches - before, `${count} owners`).toBe(2);
      expect(result.recordCount).toBe(records.length - 1);
      // The ingest's bookkeeping went with the flip.
      expect(await countRows("SELECT COUNT(*) AS n FROM ingest_ranges WHERE zone_id = ?1", zone)).toBe(0);
    }
  });

  it("refuses a transfer without an apex SOA, or with another serial, and leaves the zone as it was", async () => {
    const zone = await createZone("nosoa.test");
    const good = syntheticZone({ apex: "nosoa.test", serial: 1, count: 50 });
    await ingest(budget, zone, good, 30, 1);
    const noSoa = good.filter((r) => r.type !== RRType.SOA);
    await expect(ingest(budget, zone, noSoa, 30)).rejects.toMatchObject({ code: "no-soa" });
    await expect(ingest(budget, zone, syntheticZone({ apex: "nosoa.test", serial: 5, count: 50 }), 30, 6)).rejects.toMatchObject({
      code: "serial-mismatch",
    });
    const store = new D1ZoneStore(env.DB);
    const info = (await store.findZone(zone.name))!;
    expect(info.serial).toBe(1);
    expect((await store.node(info, zone.name.child("h1")))?.records.length).toBeGreaterThan(0);
  }, 30_000);

  it.each([
    ["owner outside the zone", syntheticZone({ apex: "elsewhere.test", serial: 1, count: 2 }), "bad-records"],
    ["truncated stream", [], "bad-records"],
  ])("refuses a chunk with %s (typed error, nothing stored)", async (_label, records, code) => {
    const zone = await createZone(`bad${code}${records.length}.test`);
    const version = await beginIngest(budget, zone, OWNER);
    const body = records.length > 0 ? encodeRecordStream(records) : Uint8Array.of(3, 0x61, 0x62);
    await expect(appendChunk(budget, zone, version, 0, body, OWNER)).rejects.toMatchObject({ code });
  });

  it("refuses a chunk whose one owner holds more than a node may (too-large, nothing stored)", async () => {
    const zone = await createZone("toolarge.test");
    const version = await beginIngest(budget, zone, OWNER);
    // 400 distinct TXT strings of 255 octets at one owner: ~102 KB, over NODE_MAX_BYTES (96 KiB).
    const owner = zone.name.child("big");
    const records: OwnedRecord[] = Array.from({ length: 400 }, (_, i) => {
      const rdata = new Uint8Array(256).fill(0x61);
      rdata[0] = 255;
      rdata[1] = 0x30 + (i % 10);
      rdata[2] = 0x30 + Math.floor(i / 10) % 10;
      rdata[3] = 0x30 + Math.floor(i / 100);
      return { name: owner, type: RRType.TXT, class: 1, ttl: 300, rdata };
    });
    await expect(appendChunk(budget, zone, version, 0, encodeRecordStream(records), OWNER)).rejects.toMatchObject({ code: "too-large" });
  });

  it("refuses appends and commits from an instance without the lease", async () => {
    const zone = await createZone("lease.test");
    const version = await beginIngest(budget, zone, OWNER);
    const body = encodeRecordStream(syntheticZone({ apex: "lease.test", serial: 1, count: 3 }));
    await expect(appendChunk(budget, zone, version, 0, body, "instance-b")).rejects.toMatchObject({ code: "lease" });
    await expect(beginIngest(budget, zone, "instance-b")).rejects.toMatchObject({ code: "lease" });
    await expect(commitIngest(budget, zone, version, "instance-b")).rejects.toMatchObject({ code: "lease" });
  });

  it("a chunk that overlaps direct ones is staged and merged with them; a retried chunk is a no-op", async () => {
    const apex = "mixed.test";
    const zone = await createZone(apex);
    const records = syntheticZone({ apex, serial: 3, count: 1200, nsec3: 200, seed: 11 });
    const parts = canonicalChunks(records, 150);
    const version = await beginIngest(budget, zone, OWNER);
    // Chunks arrive out of order (pipelined), one twice; none overlaps another: all direct.
    const order = [...parts.keys()].reverse();
    for (const i of order) await appendChunk(budget, zone, version, i, parts[i]!, OWNER);
    await appendChunk(budget, zone, version, 2, parts[2]!, OWNER);
    expect(await countRows("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1", zone)).toBe(0);
    // A late chunk overlapping the others (a primary out of order, an owner split) is staged.
    const late = syntheticZone({ apex, serial: 3, count: 1200, nsec3: 200, seed: 11 }).filter((_, i) => i % 97 === 5);
    late.push({ ...records[10]!, ttl: 1234, rdata: Uint8Array.of(192, 0, 2, 99) });
    await appendChunk(budget, zone, version, parts.length, encodeRecordStream(late), OWNER);
    expect(await countRows("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1", zone)).toBeGreaterThan(0);
    const result = await commitIngest(budget, zone, version, OWNER, { serial: 3 });
    const reference = [...records, late[late.length - 1]!];
    expect(result.recordCount).toBe(reference.length - 1);
    expect(await countRows("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND tree > 1", zone)).toBe(0);

    const d1 = new D1ZoneStore(env.DB);
    const info = (await d1.findZone(zone.name))!;
    const memory = new MemoryZoneStore([{ info, records: reference }]);
    for (const name of namesToProbe(apex, 1200)) {
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        const [a, b] = [await d1.locate(info, tree, name), await memory.locate(info, tree, name)];
        expect([text(a.match), text(a.before), text(a.after)], `${name} tree ${tree}`).toEqual([text(b.match), text(b.before), text(b.after)]);
        expect(a.match?.records).toEqual(b.match?.records);
      }
    }
  }, 60_000);

  it("an abandoned or aborted ingest leaves nothing visible, and its rows are deleted", async () => {
    const zone = await createZone("abandon.test");
    const v1 = syntheticZone({ apex: "abandon.test", serial: 1, count: 200, tag: "one" });
    await ingest(budget, zone, v1, 100, 1);
    const count = async (sql: string) => (await env.DB.prepare(sql).bind(zone.id).first<{ n: number }>())!.n;
    const blocksBefore = await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1");

    // Abandoned half-way (the service died): appended runs, half-written blocks of the new version.
    const v2 = syntheticZone({ apex: "abandon.test", serial: 2, count: 300, tag: "two" });
    const abandoned = await beginIngest(budget, zone, OWNER);
    const parts = chunks(v2, 90);
    for (let i = 0; i < parts.length; i++) await appendChunk(budget, zone, abandoned, i, parts[i]!, OWNER);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const info = (await store.findZone(zone.name))!;
    expect(info.serial).toBe(1);
    expect(await store.node(info, zone.name.child("h250"))).toBeNull();

    // The next transfer begins: the abandoned version's rows go.
    const next = await beginIngest(budget, zone, OWNER);
    expect(next).toBe(abandoned + 1);
    expect(await count("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1")).toBe(blocksBefore);
    // Chunks written straight into blocks are abandoned the same way.
    const direct = canonicalChunks(v2, 60);
    for (let i = 0; i < direct.length; i++) await appendChunk(budget, zone, next, i, direct[i]!, OWNER);
    expect(await count("SELECT COUNT(*) AS n FROM ingest_ranges WHERE zone_id = ?1")).toBeGreaterThan(0);
    expect(await store.node((await store.findZone(zone.name))!, zone.name.child("h250"))).toBeNull();
    await abortIngest(budget, zone, next, OWNER);
    expect(await count("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM ingest_ranges WHERE zone_id = ?1")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM zone_versions WHERE zone_id = ?1 AND state = 'abandoned'")).toBe(2);
    await expect(commitIngest(budget, zone, next, OWNER)).rejects.toMatchObject({ code: "state" });
    const after = (await store.findZone(zone.name))!;
    expect([after.version, after.serial]).toEqual([info.version, 1]);
  }, 30_000);

  it("the flip is atomic: concurrent readers see all of one version or all of the next, never a mix", async () => {
    const apex = "flip.test";
    const zone = await createZone(apex);
    const count = 3000;
    await ingest(budget, zone, syntheticZone({ apex, serial: 1, count, tag: "one" }), 500, 1);
    const random = prng(42);
    const seen = new Map<number, number>();
    let rounds = 0;
    // Readers stop once they have seen the new version a few times (bounded in any case). Timers are not
    // used: workerd does not fire them while the readers keep its I/O queue busy.
    const reader = async () => {
      while ((seen.get(2) ?? 0) < 6 && rounds++ < 5000) {
        // A fresh store each round: a cold isolate, with the pointer read from D1.
        const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
        const info = (await store.findZone(Name.parseAbsolute(apex)))!;
        const tags = new Set<string>();
        for (let k = 0; k < 12; k++) {
          const i = 3 * Math.floor((random() * count) / 3);
          const owner = i % 10 === 3 ? zone.name.child(`sub${i}`).child(`h${i}`) : zone.name.child(`h${i}`);
          const node = await store.node(info, owner);
          const txt = node?.records.find((r) => r.type === RRType.TXT);
          tags.add(txt ? new TextDecoder().decode(txt.rdata.subarray(1)).split(" ")[0]! : "missing");
        }
        expect([...tags], `version ${info.version}`).toEqual([info.serial === 1 ? "one" : "two"]);
        seen.set(info.serial!, (seen.get(info.serial!) ?? 0) + 1);
      }
    };
    const readers = [reader(), reader(), reader()];
    await ingest(new Budget(env.DB), zone, syntheticZone({ apex, serial: 2, count, tag: "two", seed: 9 }), 500, 2);
    await Promise.all(readers);
    expect(seen.get(1)).toBeGreaterThan(0);
    expect(seen.get(2)).toBeGreaterThan(0);
  }, 120_000);

  it.each(["canonical", "shuffled"] as const)("a 100k-record zone in %s order is chunked within D1's limits (counted) and the ingest rate is measured", async (order) => {
    const apex = `big-${order}.test`;
    const zone = await createZone(apex);
    const records = syntheticZone({ apex, serial: 100, count: 69_000, seed: 5 });
    expect(records.length).toBeGreaterThanOrEqual(100_000);
    const wire = order === "canonical" ? canonicalChunks(records, 20_000) : chunks(records, 5000);
    const started = Date.now();
    const version = await beginIngest(budget, zone, OWNER);
    for (let i = 0; i < wire.length; i++) await appendChunk(budget, zone, version, i, wire[i]!, OWNER);
    const appended = Date.now();
    const result = await commitIngest(budget, zone, version, OWNER, { serial: 100 });
    const ms = Date.now() - started;
    expect(result.recordCount).toBe(records.length - 1);
    expect(budget.counts.maxParams).toBeLessThanOrEqual(MAX_BOUND_PARAMETERS);
    expect(budget.counts.maxBytes).toBeLessThanOrEqual(MAX_STATEMENT_BYTES);
    const blocks = await env.DB.prepare("SELECT COUNT(*) AS n, MAX(LENGTH(data)) AS biggest FROM blocks WHERE zone_id = ?1")
      .bind(zone.id)
      .first<{ n: number; biggest: number }>();
    expect(blocks!.n).toBe(result.blocks);
    expect(blocks!.biggest).toBeLessThan(MAX_STATEMENT_BYTES - 4096);
    console.log(
      `ingest (${order}): ${result.recordCount} records in ${wire.length} chunks, ${ms} ms (appends ${appended - started} ms, commit ${Date.now() - appended} ms) = ${Math.round((result.recordCount / ms) * 1000)} records/s; ` +
        `${result.blocks} blocks; ${budget.counts.statements} statements in ${budget.counts.batches} batches; ` +
        `max ${budget.counts.maxParams} params, max ${budget.counts.maxBytes} bytes per statement`,
    );
  }, 300_000);
});
