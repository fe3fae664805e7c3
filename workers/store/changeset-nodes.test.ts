/**
 * @module An IXFR with the changed nodes the service computed from its replica (issue 28, session 10), against
 * real local D1: stored without a block read (every statement the apply prepares is recorded), to the same
 * content as the block path; each check of `changeset-nodes.ts` refusing nodes that do not fit (400
 * `bad-nodes`, the served zone exactly as it was); nodes for a version no longer served set aside; and the
 * route's binary body.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";
import { CHANGESET_NODES_TYPE, ChangesetResult, encodeChangesetNodesBody, ErrorBody } from "../../contract/internal-v1.ts";
import { CompactZone } from "../../answer/store/compact-zone.ts";
import { decodeChangedNodes, encodeChangedNodes, ixfrNodes } from "../../answer/store/changed-nodes.ts";
import type { ChangedNode } from "../../answer/store/changed-nodes.ts";
import { makeNode, TREE_MAIN } from "../../answer/store/stored-node.ts";
import type { Tree } from "../../answer/store/stored-node.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import { applyChangesets } from "./changeset-apply.ts";
import type { ChangesetInput } from "./changeset-apply.ts";
import type { NodesInput } from "./changeset-nodes.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { soaRdata } from "./synthetic-zone.ts";
import { streamVersion } from "./version-stream.ts";
import { signatureOver, storedZone } from "./testing/stored-zone.ts";
import { INTERNAL } from "../internal/test-client.ts";

const OWNER = "nodes-test";
const IN = RRClass.IN;

/** The SOA's names are another zone's, the same for every zone of the test (so contents compare). */
const soa = (apex: Name, serial: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata: soaRdata(Name.parse("elsewhere.test."), serial) });
const a = (name: Name, last: number, ttl = 300): OwnedRecord => ({ name, type: RRType.A, class: IN, ttl, rdata: Uint8Array.of(10, 0, 0, last) });
const txt = (name: Name, text: string): OwnedRecord => ({ name, type: RRType.TXT, class: IN, ttl: 300, rdata: Uint8Array.of(text.length, ...new TextEncoder().encode(text)) });

/** An RRSIG over `covered` expiring `days` from now. One signer name for every zone of the test, so that two zones' contents compare owner for owner. */
const SIGNER = Name.parse("signer.test.");
const rrsig = (name: Name, _apex: Name, covered: number, days: number): OwnedRecord => signatureOver(name, SIGNER, covered, days);

/** An NSEC-signed zone of 300 owners (o0 signed to expire first), and an NSEC3 record or two. */
function baseRecords(apex: Name): OwnedRecord[] {
  const records: OwnedRecord[] = [soa(apex, 1), { name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: Name.parse("ns.elsewhere.test.").toWire() }];
  for (let i = 0; i < 300; i++) {
    const name = apex.child(`o${i}`);
    records.push(a(name, i & 255), rrsig(name, apex, RRType.A, i === 0 ? 2 : 10 + (i % 17)));
  }
  const hashed = apex.child("0".repeat(32));
  records.push({ name: hashed, type: RRType.NSEC3, class: IN, ttl: 300, rdata: Uint8Array.of(1, 0, 0, 0, 0, 20, ...new Array<number>(20).fill(3), 0, 1, 0x40) });
  return records;
}

/**
 * A changeset of every kind: a record deleted, a whole owner gone, an owner new (and one that comes and goes),
 * a TTL changed, a record deleted and added again, the earliest-expiring signature replaced, the NSEC3 chain.
 */
function changeset(apex: Name, base: readonly OwnedRecord[]): ChangesetInput {
  const o = (i: number) => apex.child(`o${i}`);
  const of = (name: Name, type: number) => base.filter((r) => r.name.equals(name) && r.type === type);
  const hashed = apex.child("0".repeat(32));
  const deletions = [soa(apex, 1), ...of(o(1), RRType.A), ...of(o(2), RRType.A), ...of(o(2), RRType.RRSIG), ...of(o(3), RRType.A), ...of(o(0), RRType.RRSIG), ...of(o(5), RRType.A), ...of(hashed, RRType.NSEC3)];
  const additions = [
    soa(apex, 2),
    txt(o(1), "new"),
    a(o(3), 3, 60), // the TTL changed
    ...of(o(5), RRType.A), // deleted and added again: unchanged
    rrsig(o(0), apex, RRType.A, 30),
    a(apex.child("fresh").child("leaf"), 7),
    { name: apex.child("1".repeat(32)), type: RRType.NSEC3, class: IN, ttl: 300, rdata: Uint8Array.of(1, 0, 0, 0, 0, 20, ...new Array<number>(20).fill(4), 0, 1, 0x40) },
  ];
  return { fromSerial: 1, toSerial: 2, deletions: encodeRecordStream(deletions), additions: encodeRecordStream(additions) };
}

/** The changed nodes of `cs` over `base` for the zone's served version, as the service computes them. */
async function nodesFor(zone: ZoneRef, base: readonly OwnedRecord[], cs: ChangesetInput): Promise<NodesInput & { list: ChangedNode[] }> {
  const row = (await env.DB.prepare("SELECT current_version AS v, serial FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number; serial: number }>())!;
  const parse = (stream: Uint8Array) => parseRecordStream(stream, zone.name);
  const c = ixfrNodes(CompactZone.fromRecords(base).nodeSource(), [{ deletions: parse(cs.deletions), additions: parse(cs.additions) }]);
  return { zoneId: zone.id, version: row.v, serial: row.serial, recordDelta: c.recordDelta, replacedExpiry: c.replacedExpiry, earliestAfter: c.earliestAfter, nodes: encodeChangedNodes(c.nodes), list: c.nodes };
}

/** The served version's records, owners relative to the apex, sorted; with the zone row's figures. */
async function contents(zone: ZoneRef): Promise<{ records: string[]; serial: number; count: number; earliest: number | null; version: number; overlay: number }> {
  const row = (await env.DB.prepare("SELECT current_version AS v, serial, record_count AS n, rrsig_expires_at AS at FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number; serial: number; n: number; at: number | null }>())!;
  const stream = (await streamVersion(env.DB, zone.id, row.v))!;
  const bytes = new Uint8Array(await new Response(stream.body).arrayBuffer());
  const suffix = zone.name.toString();
  const records = parseRecordStream(bytes)
    .map((r) => `${r.name.toString().slice(0, -suffix.length) || "@"} ${r.type} ${r.ttl} ${Array.from(r.rdata).join(".")}`)
    .sort();
  const overlay = (await env.DB.prepare("SELECT COUNT(*) AS n FROM node_overlay WHERE zone_id = ?1").bind(zone.id).first<{ n: number }>())!.n;
  return { records, serial: row.serial, count: row.n, earliest: row.at, version: row.v, overlay };
}

/** A D1 that records every statement prepared through it. */
function recording(): { db: D1Database; sql: string[] } {
  const sql: string[] = [];
  const db = {
    prepare: (query: string) => {
      sql.push(query);
      return env.DB.prepare(query);
    },
    batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
  } as unknown as D1Database;
  return { db, sql };
}

describe("an IXFR with the service's changed nodes, against real local D1", () => {
  it("is stored without reading a block, to the same content, record count and earliest RRSIG expiration as the block path", async () => {
    const viaBlocks = Name.parse("blocks.nodes.test.");
    const viaNodes = Name.parse("nodes.nodes.test.");
    const zoneB = await storedZone(env.DB, viaBlocks, baseRecords(viaBlocks), { owner: OWNER });
    const zoneN = await storedZone(env.DB, viaNodes, baseRecords(viaNodes), { owner: OWNER });
    const csB = changeset(viaBlocks, baseRecords(viaBlocks));
    const csN = changeset(viaNodes, baseRecords(viaNodes));
    const nodes = await nodesFor(zoneN, baseRecords(viaNodes), csN);
    // The earliest signature (o0's) is replaced: the service's figure over the whole version comes with the nodes.
    expect(nodes.earliestAfter).not.toBeUndefined();
    // o5's address deleted and added again: sent as unchanged, not written.
    expect(nodes.list.filter((n) => n.unchanged).map((n) => n.node.name.toString())).toEqual([`o5.${viaNodes}`]);

    const blocks = recording();
    const byBlocks = await applyChangesets(new Budget(blocks.db), zoneB, OWNER, [csB]);
    const withNodes = recording();
    const byNodes = await applyChangesets(new Budget(withNodes.db), zoneN, OWNER, [csN], { nodes });
    expect(byNodes.nodes).toBe("stored");
    expect(byBlocks.nodes).toBeUndefined();
    const readsBlocks = (sql: string[]) => sql.filter((q) => /\b(FROM|JOIN)\s+blocks\b/i.test(q));
    // The block path reads the touched owners' blocks (and, here, the earliest-expiring ones); with nodes: none.
    expect(readsBlocks(blocks.sql).length).toBeGreaterThan(0);
    expect(readsBlocks(withNodes.sql)).toEqual([]);
    expect(byNodes.rowsRead).toBeLessThan(byBlocks.rowsRead);
    expect([byNodes.serial, byNodes.recordCount, byNodes.overlayOwners]).toEqual([byBlocks.serial, byBlocks.recordCount, byBlocks.overlayOwners]);

    const [b, n] = [await contents(zoneB), await contents(zoneN)];
    expect(n.records).toEqual(b.records);
    expect([n.serial, n.count, n.overlay]).toEqual([b.serial, b.count, b.overlay]);
    expect(n.earliest).toBe(b.earliest);
    // And that is the exact earliest over the new content (o0's new signature expires later than o9's).
    const expiry = new EarliestExpiry();
    for (const r of parseRecordStream(new Uint8Array(await new Response((await streamVersion(env.DB, zoneN.id, n.version))!.body).arrayBuffer()))) expiry.record(r.type, r.rdata);
    expect(n.earliest).toBe(expiry.ms);
  }, 60_000);

  it("refuses nodes that do not fit the changesets (400 bad-nodes, naming the check), the served zone exactly as it was", async () => {
    const apex = Name.parse("refused.nodes.test.");
    const zone = await storedZone(env.DB, apex, baseRecords(apex), { owner: OWNER });
    const cs = changeset(apex, baseRecords(apex));
    const good = await nodesFor(zone, baseRecords(apex), cs);
    const before = await contents(zone);
    const list = good.list;
    const at = (name: string) => list.findIndex((x) => x.node.name.toString() === `${name}.${apex}`);
    const replace = (i: number, records: ChangedNode["node"]["records"]): ChangedNode[] => list.map((x, k) => (k === i ? { ...x, node: { ...x.node, records } } : x));
    const o1 = list[at("o1")]!;
    const deletedA = parseRecordStream(cs.deletions, apex).find((r) => r.name.toString() === `o1.${apex}` && r.type === RRType.A)!;
    const apexIndex = list.findIndex((x) => x.tree === TREE_MAIN && x.node.name.equals(apex));
    const cases: [string, Partial<NodesInput> & { list?: ChangedNode[] }, RegExp][] = [
      ["a framing that is not one", { nodes: Uint8Array.of(9, 1, 2) }, /not a changed-nodes framing/],
      ["a framing cut short", { nodes: good.nodes.subarray(0, good.nodes.length - 3) }, /cut short/],
      ["an owner outside the zone", { list: [...list.slice(0, 1), { tree: TREE_MAIN, unchanged: false, node: makeNode(Name.parse("zzz.elsewhere.test."), []) }, ...list.slice(1)] }, /outside/],
      ["owners out of order", { list: [list[1]!, list[0]!, ...list.slice(2)] }, /out of order or repeated/],
      ["an owner twice", { list: [...list.slice(0, 2), list[1]!, ...list.slice(2)] }, /out of order or repeated/],
      ["an owner the changesets do not touch", { list: [...list.slice(0, at("o2")), { tree: TREE_MAIN as Tree, unchanged: false, node: makeNode(apex.child("o20x"), []) }, ...list.slice(at("o2"))].sort((x, y) => x.tree - y.tree || compareBytes(x.node.key, y.node.key)) }, /not one the changesets touch/],
      ["an owner left out", { list: list.filter((_, k) => k !== at("o2")) }, /missing/],
      ["an addition missing", { list: replace(at("o1"), o1.node.records.filter((r) => r.type !== RRType.TXT)) }, /lacks the added type 16/],
      ["a deletion still there", { list: replace(at("o1"), [...o1.node.records, deletedA].sort((x, y) => x.type - y.type)) }, /still holds the deleted type 1/],
      ["an addition with another TTL", { list: replace(at("o3"), list[at("o3")]!.node.records.map((r) => ({ ...r, ttl: 300 }))) }, /lacks the added type 1 record with TTL 60/],
      ["a record in the other tree", { list: replace(at("o2"), [{ type: RRType.NSEC3, class: IN, ttl: 300, rdata: Uint8Array.of(1, 0, 0, 0, 0, 1, 9, 0) }]) }, /other tree/],
      ["two SOA records at the apex", { list: replace(apexIndex, [...list[apexIndex]!.node.records, soa(apex, 7)].sort((x, y) => x.type - y.type || compareBytes(x.rdata, y.rdata))) }, /2 SOA records/],
      ["a record count change the changesets cannot make", { recordDelta: 40 }, /record count change of 40/],
    ];
    for (const [what, change, message] of cases) {
      const input: NodesInput = { ...good, ...change, nodes: change.list ? encodeChangedNodes(change.list) : (change.nodes ?? good.nodes) };
      const attempt = applyChangesets(new Budget(env.DB), zone, OWNER, [cs], { nodes: input });
      await expect(attempt, what).rejects.toMatchObject({ code: "bad-nodes", status: 400, message });
      expect(await contents(zone), `${what}: the served zone`).toEqual(before);
    }
    // The same request with the good nodes is stored.
    const ok = await applyChangesets(new Budget(env.DB), zone, OWNER, [cs], { nodes: good });
    expect(ok.nodes).toBe("stored");
  }, 60_000);

  it("sets the nodes aside when their base is not the served version (same serial, another version or zone), with the same result", async () => {
    const apex = Name.parse("aside.nodes.test.");
    const zone = await storedZone(env.DB, apex, baseRecords(apex), { owner: OWNER });
    const cs = changeset(apex, baseRecords(apex));
    const good = await nodesFor(zone, baseRecords(apex), cs);
    // A replica of an older version with the same serial (version - 1), or of another zone row: never used.
    for (const stale of [{ version: good.version - 1 }, { version: good.version + 5 }, { zoneId: good.zoneId + 1000 }]) {
      const budget = recording();
      await expect(applyChangesets(new Budget(budget.db), zone, OWNER, [cs], { nodes: { ...good, ...stale } }).then((r) => r.nodes)).resolves.toBe("ignored");
      // Applied from the blocks instead; undone for the next case (the test's own reset, not the Worker's).
      expect(budget.sql.some((q) => /\bFROM\s+blocks\b/i.test(q))).toBe(true);
      const row = (await env.DB.prepare("SELECT current_version AS v FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number }>())!;
      const after = await contents(zone);
      expect(after.serial).toBe(2);
      await env.DB.batch([
        env.DB.prepare("UPDATE zones SET current_version = ?2, serial = 1, overlay_from = NULL, record_count = ?3 WHERE id = ?1").bind(zone.id, good.version, baseRecords(apex).length),
        env.DB.prepare("DELETE FROM node_overlay WHERE zone_id = ?1").bind(zone.id),
        env.DB.prepare("DELETE FROM changesets WHERE zone_id = ?1").bind(zone.id),
        env.DB.prepare("DELETE FROM zone_versions WHERE zone_id = ?1 AND version = ?2").bind(zone.id, row.v),
      ]);
    }
  }, 60_000);

  it("the route takes the binary body with nodes; a malformed one is a 400 naming the field", async () => {
    const apex = Name.parse("route.nodes.test.");
    const zone = await storedZone(env.DB, apex, baseRecords(apex), { owner: OWNER });
    const cs = changeset(apex, baseRecords(apex));
    const n = await nodesFor(zone, baseRecords(apex), cs);
    const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
    const header = {
      owner: OWNER,
      changesets: [{ fromSerial: 1, toSerial: 2, deletions: b64(cs.deletions), additions: b64(cs.additions) }],
      base: { zoneId: n.zoneId, version: n.version, serial: n.serial, recordDelta: n.recordDelta, replacedExpiry: n.replacedExpiry, earliestAfter: n.earliestAfter },
    };
    // The test client sends octets as application/octet-stream: a request with the nodes' content type instead.
    const send = async (body: Uint8Array) => {
      return exports.default.fetch("http://backstop.test/internal/v1/zones/route.nodes.test/changesets", {
        method: "POST",
        headers: { authorization: `Bearer ${INTERNAL}`, "content-type": CHANGESET_NODES_TYPE },
        body,
      });
    };
    const bad = await send(encodeChangesetNodesBody({ ...header, base: { ...header.base, serial: -1 } } as never, n.nodes));
    expect(bad.status).toBe(400);
    expect(ErrorBody.parse(await bad.json()).error.message).toMatch(/base\.serial/);
    const cut = await send(Uint8Array.of(0, 0, 1, 0, 123));
    expect(cut.status).toBe(400);
    expect(decodeChangedNodes(n.nodes).length).toBe(n.list.length);
    const res = await send(encodeChangesetNodesBody(header, n.nodes));
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const result = ChangesetResult.parse(JSON.parse(text));
    expect(result.nodes).toBe("stored");
    expect(result.serial).toBe(2);
  }, 60_000);
});
