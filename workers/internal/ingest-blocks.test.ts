/**
 * @module `PUT /internal/v1/zones/:zone/ingest/:version/blocks/:seq` in workerd with real D1 (issue 28): a
 * full transfer sent as the blocks the service cut is served like one sent as record streams; a chunk of
 * malformed, out-of-order or oversize blocks is refused with 400 `bad-records` naming the block, and
 * stores nothing; a transfer that fails half-way leaves the served version as it was.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, ok, request } from "./test-client.ts";
import { Name } from "../../dns/name.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { encodeRecordStream, parseRecordStream } from "../store/record-stream.ts";
import type { OwnedRecord } from "../store/record-stream.ts";
import { syntheticZone } from "../store/synthetic-zone.ts";
import { cutBlocks, encodeBlockChunk } from "../../answer/store/block-chunk.ts";
import type { CutBlock } from "../../answer/store/block-chunk.ts";
import { ChunkAccepted, CommitResult, IngestBegun, Lease, Ok, SERIAL_HEADER } from "../../contract/internal-v1.ts";

const ZONE = "blocks.test";
const APEX = Name.parseAbsolute(ZONE);
const path = `/internal/v1/zones/${ZONE}`;

/** A zone's records in canonical order, cut between owners into `parts` record streams, then into blocks as the service does. */
function blockChunks(records: OwnedRecord[], parts: number): { blocks: CutBlock[]; body: Uint8Array }[] {
  const sorted = [...records].sort((a, b) => compareBytes(a.name.sortKey(), b.name.sortKey()));
  const size = Math.ceil(sorted.length / parts);
  const out = [];
  let from = 0;
  while (from < sorted.length) {
    let to = Math.min(sorted.length, from + size);
    while (to < sorted.length && sorted[to]!.name.equals(sorted[to - 1]!.name)) to++;
    const { blocks } = cutBlocks(encodeRecordStream(sorted.slice(from, to)), APEX.toWire(), APEX.sortKey());
    out.push({ blocks, body: encodeBlockChunk(blocks) });
    from = to;
  }
  return out;
}

async function served(): Promise<{ serial: string | null; lines: string[] }> {
  const res = await request("GET", `${path}/versions/current/records`);
  expect(res.status).toBe(200);
  const records = parseRecordStream(new Uint8Array(await res.arrayBuffer()));
  return { serial: res.headers.get(SERIAL_HEADER), lines: records.map((r) => `${r.name} ${r.type} ${[...r.rdata].join(".")}`).sort() };
}

const count = async (sql: string, ...params: number[]) => (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n;

describe("a full transfer as chunks of blocks (issue 28)", () => {
  it("is served like the records it was cut from; bad chunks get 400 naming the block and store nothing; a failure half-way leaves the served version", async () => {
    expect((await request("POST", "/api/v1/zones", { name: ZONE, primaries: [{ address: "192.0.2.1" }] }, ADMIN)).status).toBe(201);
    await ok(request("POST", `${path}/lease`, { owner: "svc-a", ttlMs: 60_000 }), Lease);
    const zoneId = (await env.DB.prepare("SELECT id FROM zones WHERE name = ?1").bind(ZONE).first<{ id: number }>())!.id;

    // Version 1, three chunks of blocks.
    const one = syntheticZone({ apex: ZONE, serial: 5, count: 400, nsec3: 100, seed: 2, tag: "one" });
    const { version: v1 } = await ok(request("POST", `${path}/ingest`, { owner: "svc-a" }), IngestBegun);
    let sent = 0;
    const chunks1 = blockChunks(one, 3);
    for (const [seq, c] of chunks1.entries()) sent += (await ok(request("PUT", `${path}/ingest/${v1}/blocks/${seq}?owner=svc-a`, c.body), ChunkAccepted)).records;
    // The AXFR's closing SOA is stored once.
    expect(sent).toBe(one.length - 1);
    const committed = await ok(request("POST", `${path}/ingest/${v1}/commit`, { owner: "svc-a", serial: 5 }), CommitResult);
    expect([committed.serial, committed.recordCount]).toEqual([5, one.length - 1]);
    const before = await served();
    expect(before.serial).toBe("5");
    const expected = [...new Set(one.map((r) => `${r.name} ${r.type} ${[...r.rdata].join(".")}`))].sort();
    expect(before.lines).toEqual(expected);

    // Version 2: the first chunk is stored, then every kind of bad chunk is refused.
    const two = syntheticZone({ apex: ZONE, serial: 6, count: 400, nsec3: 100, seed: 3, tag: "two" });
    const { version: v2 } = await ok(request("POST", `${path}/ingest`, { owner: "svc-a" }), IngestBegun);
    const [first, second] = blockChunks(two, 2);
    await ok(request("PUT", `${path}/ingest/${v2}/blocks/0?owner=svc-a`, first!.body), ChunkAccepted);
    const stored = await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND added_version = ?2", zoneId, v2);
    expect(stored).toBe(first!.blocks.length);

    const b = second!.blocks;
    const flipped = second!.body.slice();
    flipped[6] = 9; // the first block's format octet (chunk format 1, tree 1, length 4)
    const joined = new Uint8Array(b[0]!.data.length + b[1]!.data.length - 3);
    joined.set(b[0]!.data);
    joined.set(b[1]!.data.subarray(3), b[0]!.data.length);
    new DataView(joined.buffer).setUint16(1, new DataView(b[0]!.data.buffer, b[0]!.data.byteOffset).getUint16(1) + new DataView(b[1]!.data.buffer, b[1]!.data.byteOffset).getUint16(1));
    const bad: [string, Uint8Array, RegExp][] = [
      ["blocks out of order", encodeBlockChunk([b[1]!, b[0]!, ...b.slice(2)]), /chunk 1: block 1: does not start after the end of the block before it/],
      ["an oversize block", encodeBlockChunk([{ tree: b[0]!.tree, data: joined }, ...b.slice(2)]), /chunk 1: block 0: \d+ octets in \d+ nodes/],
      ["a bad format octet", flipped, /chunk 1: block 0: not a block/],
      ["a chunk cut short", second!.body.subarray(0, second!.body.length - 10), /chunk 1: block \d+: \d+ octets announced/],
      ["a record stream sent as blocks", encodeRecordStream(two.slice(0, 10)), /chunk 1: not a chunk of blocks/],
    ];
    for (const [label, body, message] of bad) {
      const res = await request("PUT", `${path}/ingest/${v2}/blocks/1?owner=svc-a`, body);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, label).toBe(400);
      expect(json.error.code, label).toBe("bad-records");
      expect(json.error.message, label).toMatch(message);
      expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND added_version = ?2", zoneId, v2), label).toBe(stored);
      expect(await count("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1", zoneId), label).toBe(0);
    }

    // Half-way through version 2, readers see version 1 whole; after the service's abort, v2 leaves nothing.
    expect(await served()).toEqual(before);
    await ok(request("POST", `${path}/ingest/${v2}/abort`, { owner: "svc-a" }), Ok);
    expect(await served()).toEqual(before);
    expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND added_version = ?2", zoneId, v2)).toBe(0);
    expect(await count("SELECT current_version AS n FROM zones WHERE id = ?1", zoneId)).toBe(v1);
  });
});
