/**
 * @module The IXFR overlay of changed nodes (issue 28), against real local D1: the merge alone (pure), then
 * random changesets on signed zones (NSEC and NSEC3) applied through the overlay and across folds, after each
 * of which the D1 store's `locate` and `lastNode`, the version stream and the records as a reader walks them
 * equal a memory store of the same content; the store contract on an overlaid version; rows written per IXFR;
 * the sweep; an apply that fails after reading the overlay.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signatureOver, storedZone } from "./testing/stored-zone.ts";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { prng } from "../../dns/testing/prng.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";
import { MemoryZoneStore } from "../../answer/store/memory-zone-store.ts";
import { compareRecords, makeNode, treeOf, TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, StoredRecord, Tree } from "../../answer/store/stored-node.ts";
import type { Neighbourhood } from "../../answer/store/locating-zone-store.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import { CONTRACT_CASES, CONTRACT_ZONES, runContractCase } from "../../answer/testing/store-contract.ts";
import { encodeBlock } from "./block-codec.ts";
import { applyChangesets } from "./changeset-apply.ts";
import type { ChangesetInput, OverlayLimits } from "./changeset-apply.ts";
import type { NodesInput } from "./changeset-nodes.ts";
import { CompactZone } from "../../answer/store/compact-zone.ts";
import { encodeChangedNodes, ixfrNodes } from "../../answer/store/changed-nodes.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { appendChunk, beginIngest, commitIngest } from "./full-ingest.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { mergedLastNode, mergedNeighbourhood, Overlay, OverlayBlockMerger } from "./overlay.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { soaRdata } from "./synthetic-zone.ts";
import { streamVersion, versionNodes, versionNodesFrom } from "./version-stream.ts";
import { sweepVersions } from "./version-sweep.ts";
import { earliestSignature } from "../alerts/evaluate.ts";
import { decodeBlock } from "./block-codec.ts";

const OWNER = "overlay-test";
const IN = RRClass.IN;

// ---- the merge alone ---------------------------------------------------------------------------------

const nodeOf = (name: Name, records: StoredRecord[]): StoredNode => makeNode(name, records);
const aRecord = (last: number): StoredRecord => ({ type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, 0, last) });

/** `locate` over a sorted node list, the obvious way. */
function locateIn(nodes: readonly StoredNode[], key: Uint8Array): Neighbourhood {
  let i = 0;
  while (i < nodes.length && compareBytes(nodes[i]!.key, key) < 0) i++;
  const match = i < nodes.length && compareBytes(nodes[i]!.key, key) === 0 ? nodes[i]! : null;
  return { match, before: nodes[i - 1] ?? null, after: nodes[match ? i + 1 : i] ?? null };
}

describe("the overlay merge (pure)", () => {
  it("locate, the last node and the block merger over blocks with an overlay equal the merged content, for random sets", async () => {
    const apex = Name.parse("m.test.");
    const pool = Array.from({ length: 40 }, (_, i) => (i % 5 === 2 ? apex.child(`s${i}`).child(`x${i}`) : apex.child(`n${i}`))).sort((x, y) =>
      compareBytes(x.sortKey(), y.sortKey()),
    );
    for (let seed = 1; seed <= 60; seed++) {
      const random = prng(seed);
      const blocks = pool.filter(() => random() < 0.5).map((n, i) => nodeOf(n, [aRecord(i)]));
      // Two parts (two versions): the second overrides the first where both name an owner.
      const parts = [0, 1].map((v) => {
        const chosen = pool.filter(() => random() < 0.3).map((n) => nodeOf(n, random() < 0.4 ? [] : [aRecord(100 + v)]));
        return { tree: TREE_MAIN as Tree, data: encodeBlock(chosen), chosen };
      });
      const overlay = Overlay.fromParts(parts);
      const merged = new Map<string, StoredNode>(blocks.map((n) => [n.name.key, n]));
      for (const p of parts) {
        for (const n of p.chosen) {
          if (n.records.length === 0) merged.delete(n.name.key);
          else merged.set(n.name.key, n);
        }
      }
      const expected = [...merged.values()].sort((x, y) => compareBytes(x.key, y.key));
      const block = async (key: Uint8Array, wantBefore: boolean, wantAfter: boolean) => {
        const hood = locateIn(blocks, key);
        return { match: hood.match, before: wantBefore ? hood.before : null, after: wantAfter ? hood.after : null };
      };
      const show = (n: StoredNode | null) => (n ? `${n.name} ${n.records.map((r) => r.rdata[3]).join(",")}` : null);
      for (const name of [...pool, apex.child("zzz"), apex.child("a")]) {
        const key = name.sortKey();
        const got = await mergedNeighbourhood(overlay, TREE_MAIN, key, true, true, block);
        const want = locateIn(expected, key);
        expect([show(got.match), show(got.before), show(got.after)], `seed ${seed} ${name}`).toEqual([show(want.match), show(want.before), show(want.after)]);
        const only = await mergedNeighbourhood(overlay, TREE_MAIN, key, false, false, block);
        expect(show(only.match)).toBe(show(want.match));
      }
      expect(show(await mergedLastNode(overlay, TREE_MAIN, async () => blocks.at(-1) ?? null, block))).toBe(show(expected.at(-1) ?? null));
      // The block merger over the blocks cut at random places.
      const merger = new OverlayBlockMerger(overlay, TREE_MAIN);
      const out: StoredNode[] = [];
      for (let i = 0; i < blocks.length; ) {
        const n = 1 + Math.floor(random() * 6);
        const some = blocks.slice(i, i + n);
        for (const data of merger.block(encodeBlock(some), some.at(-1)!.key)) out.push(...decodeBlock(data));
        i += n;
      }
      for (const data of merger.rest()) out.push(...decodeBlock(data));
      expect(out.map(show), `seed ${seed}`).toEqual(expected.map(show));
    }
  });
});

// ---- against D1 ----------------------------------------------------------------------------------------

const zoneWith = (apex: Name, records: OwnedRecord[]): Promise<ZoneRef> => storedZone(env.DB, apex, records, { owner: OWNER });

const soa = (apex: Name, serial: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata: soaRdata(apex, serial) });

/** An RRSIG over `covered` whose expiration is `days` from now (so each owner's differs), signed by the apex. */
const rrsig = (name: Name, apex: Name, covered: number, days: number): OwnedRecord => signatureOver(name, apex, covered, days);

const nsecRdata = (apex: Name, i: number) => Uint8Array.of(...apex.child(`next${i}`).toWire(), 0, 1, 0x40);
const nsec3Rdata = (i: number) => Uint8Array.of(1, 0, 0, 0, 0, 20, ...new Array<number>(20).fill(i & 255), 0, 1, 0x40);
/** base32hex labels of 32 characters, in order of `i`. */
const hashed = (apex: Name, i: number) => apex.child(`${i.toString(32).padStart(4, "0")}${"0".repeat(28)}`);

/** What a zone holds, the obvious way: records keyed by owner, type and rdata. */
class Reference {
  readonly records = new Map<string, OwnedRecord>();
  private static id(r: OwnedRecord): string {
    return `${r.name.key}|${r.type}|${Array.from(r.rdata).join(",")}`;
  }
  has(r: OwnedRecord): boolean {
    return this.records.has(Reference.id(r));
  }
  add(r: OwnedRecord): void {
    this.records.set(Reference.id(r), r);
  }
  delete(r: OwnedRecord): void {
    this.records.delete(Reference.id(r));
  }
  list(): OwnedRecord[] {
    return [...this.records.values()];
  }
}

/** A signed zone: NSEC at every owner, or an NSEC3 chain; every RRSIG expires at its own time. */
function signedZone(apex: Name, kind: "nsec" | "nsec3", owners: number, random: () => number): Reference {
  const ref = new Reference();
  ref.add(soa(apex, 1));
  ref.add({ name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns").toWire() });
  for (let i = 0; i < owners; i++) {
    const name = i % 6 === 1 ? apex.child(`e${i}`).child(`w${i}`) : apex.child(`o${i}`);
    ref.add({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, i >> 8, i & 255) });
    if (kind === "nsec") {
      ref.add({ name, type: RRType.NSEC, class: IN, ttl: 300, rdata: nsecRdata(apex, i) });
      ref.add(rrsig(name, apex, RRType.NSEC, 10 + random() * 20));
    } else {
      ref.add({ name: hashed(apex, i * 2), type: RRType.NSEC3, class: IN, ttl: 300, rdata: nsec3Rdata(i) });
      ref.add(rrsig(hashed(apex, i * 2), apex, RRType.NSEC3, 10 + random() * 20));
    }
  }
  return ref;
}

/** A random changeset on `ref` (applied to it too): records and whole owners deleted (the first and last among them), owners and ENTs added. */
function randomChangeset(ref: Reference, apex: Name, kind: "nsec" | "nsec3", serial: number, random: () => number, size: number): ChangesetInput {
  const dels: OwnedRecord[] = [];
  const adds: OwnedRecord[] = [];
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  // A changeset's deletions apply before its additions (RFC 1995 §4): a record added here is not deleted here.
  const added = new Reference();
  const del = (r: OwnedRecord) => {
    if (r.type === RRType.SOA || (r.name.equals(apex) && r.type === RRType.NS) || !ref.has(r) || added.has(r)) return;
    ref.delete(r);
    dels.push(r);
  };
  const add = (r: OwnedRecord) => {
    if (ref.has(r)) return;
    ref.add(r);
    added.add(r);
    adds.push(r);
  };
  for (let k = 0; k < size; k++) {
    const all = ref.list();
    const owners = [...new Map(all.filter((r) => !r.name.equals(apex)).map((r) => [`${treeOf(r.type, r.rdata)}:${r.name.key}`, r])).values()].sort(
      (x, y) => treeOf(x.type, x.rdata) - treeOf(y.type, y.rdata) || compareBytes(x.name.sortKey(), y.name.sortKey()),
    );
    const roll = random();
    const n = Math.floor(random() * 4000);
    if (roll < 0.25 && all.length > 4) del(pick(all));
    else if (roll < 0.4 && owners.length > 0) {
      // A whole owner goes: sometimes the first or the last of its tree.
      const target = random() < 0.3 ? (random() < 0.5 ? owners[0]! : owners[owners.length - 1]!) : pick(owners);
      for (const r of all) if (r.name.equals(target.name) && treeOf(r.type, r.rdata) === treeOf(target.type, target.rdata)) del(r);
    } else if (roll < 0.55) {
      // A new owner below a new label: an empty non-terminal appears (and goes again when the owner does).
      const name = apex.child(`ent${n}`).child(`leaf${n}`);
      add({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 1, n >> 8, n & 255) });
      if (kind === "nsec") add(rrsig(name, apex, RRType.A, 5 + random() * 40));
    } else if (roll < 0.7 && kind === "nsec3") {
      // An NSEC3 owner (before the first, after the last, or in between).
      const name = hashed(apex, random() < 0.2 ? 0 : random() < 0.25 ? 1_000_000 : n * 2 + 1);
      add({ name, type: RRType.NSEC3, class: IN, ttl: 300, rdata: nsec3Rdata(n) });
      add(rrsig(name, apex, RRType.NSEC3, 5 + random() * 40));
    } else if (owners.length > 0) {
      // Another record at an owner of the main tree, or a new owner before the first or after the last.
      const at = random() < 0.15 ? apex.child(random() < 0.5 ? "0000first" : "zzzzlast") : pick(owners.filter((o) => treeOf(o.type, o.rdata) === TREE_MAIN) ?? owners).name;
      add({ name: at, type: RRType.TXT, class: IN, ttl: 300, rdata: Uint8Array.of(5, ...new TextEncoder().encode(`t${n}`.padEnd(5, "x").slice(0, 5))) });
    }
  }
  ref.delete(soa(apex, serial));
  ref.add(soa(apex, serial + 1));
  return {
    fromSerial: serial,
    toSerial: serial + 1,
    deletions: encodeRecordStream([soa(apex, serial), ...dels]),
    additions: encodeRecordStream([soa(apex, serial + 1), ...adds]),
  };
}

const recordsText = (records: readonly StoredRecord[] | undefined) =>
  records ? records.slice().sort((x, y) => compareRecords(x, y) || x.ttl - y.ttl).map((r) => `${r.type}/${r.ttl}/${Array.from(r.rdata).join(".")}`) : null;

/** Every lookup of the D1 store at its served version equals the memory store's, and so do the readers. */
async function expectSame(d1: D1ZoneStore, apex: Name, ref: Reference, probes: readonly Name[], zoneId: number, label: string): Promise<void> {
  const info = (await d1.findZone(apex))!;
  const memory = new MemoryZoneStore([{ info, records: ref.list() }]);
  const show = (h: Neighbourhood) => [recordsText(h.match?.records), h.before?.name.toString() ?? null, h.after?.name.toString() ?? null];
  for (const tree of [TREE_MAIN, TREE_NSEC3] as Tree[]) {
    for (const name of probes) {
      expect(show(await d1.locate(info, tree, name)), `${label}: locate ${tree} ${name}`).toEqual(show(await memory.locate(info, tree, name)));
    }
    expect((await d1.lastNode(info, tree))?.name.toString(), `${label}: last of ${tree}`).toBe((await memory.lastNode(info, tree))?.name.toString());
  }
  for (const name of probes.slice(0, 40)) {
    const [x, y] = [await d1.closestEncloser(info, name), await memory.closestEncloser(info, name)];
    expect([x.name.toString(), recordsText(x.node?.records)], `${label}: closest encloser of ${name}`).toEqual([y.name.toString(), recordsText(y.node?.records)]);
  }
  // Readers of a stored version: the nodes, the record stream (AXFR out, the replica's read-back), the records API's walk.
  const want = [...ref.list()].map((r) => `${r.name.toString().toLowerCase()} ${recordsText([r])![0]}`).sort();
  const nodes: string[] = [];
  for await (const node of versionNodes(env.DB, zoneId, info.version!, 3)) for (const r of node.records) nodes.push(`${node.name.toString().toLowerCase()} ${recordsText([r])![0]}`);
  expect(nodes.sort(), `${label}: versionNodes`).toEqual(want);
  const stream = (await streamVersion(env.DB, zoneId, info.version!))!;
  const bytes = new Uint8Array(await new Response(stream.body).arrayBuffer());
  const streamed = parseRecordStream(bytes).map((r) => `${r.name.toString().toLowerCase()} ${recordsText([r])![0]}`);
  expect(streamed[0], `${label}: the SOA first`).toMatch(/ 6\//);
  expect(streamed.sort(), `${label}: streamVersion`).toEqual(want);
  const from = probes[Math.floor(probes.length / 2)]!.sortKey();
  const walked: string[] = [];
  for await (const node of versionNodesFrom(env.DB, zoneId, info.version!, TREE_MAIN, from, 2)) walked.push(node.name.toString().toLowerCase());
  const mainOwners = [...new Set(ref.list().filter((r) => treeOf(r.type, r.rdata) === TREE_MAIN && compareBytes(r.name.sortKey(), from) >= 0).map((r) => r.name))]
    .sort((x, y) => compareBytes(x.sortKey(), y.sortKey()))
    .map((n) => n.toString().toLowerCase());
  expect([...new Set(walked)], `${label}: versionNodesFrom`).toEqual([...new Set(mainOwners)]);
}

async function overlayRows(zoneId: number, version?: number): Promise<number> {
  const row = version === undefined
    ? await env.DB.prepare("SELECT COUNT(*) AS n FROM node_overlay WHERE zone_id = ?1").bind(zoneId).first<{ n: number }>()
    : await env.DB.prepare("SELECT COUNT(*) AS n FROM node_overlay WHERE zone_id = ?1 AND added_version <= ?2 AND (removed_version IS NULL OR removed_version > ?2)")
        .bind(zoneId, version)
        .first<{ n: number }>();
  return row!.n;
}

/**
 * The changed nodes the transfer-service would send with `cs` (issue 28, session 10): computed as its replica
 * does, from a compact zone of the base content, for the zone's served version.
 */
async function nodesFor(zone: ZoneRef, base: readonly OwnedRecord[], cs: ChangesetInput): Promise<NodesInput> {
  const row = (await env.DB.prepare("SELECT current_version AS v, serial FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number; serial: number }>())!;
  const parse = (stream: Uint8Array) => parseRecordStream(stream, zone.name);
  const computed = ixfrNodes(CompactZone.fromRecords(base).nodeSource(), [{ deletions: parse(cs.deletions), additions: parse(cs.additions) }]);
  return {
    zoneId: zone.id,
    version: row.v,
    serial: row.serial,
    recordDelta: computed.recordDelta,
    replacedExpiry: computed.replacedExpiry,
    earliestAfter: computed.earliestAfter,
    nodes: encodeChangedNodes(computed.nodes),
  };
}

describe("IXFR through the overlay, against real local D1", () => {
  it.each([
    ["nsec", "blocks"],
    ["nsec3", "blocks"],
    ["nsec", "nodes"],
    ["nsec3", "nodes"],
  ] as const)(
    "random changesets on a %s-signed zone, through the overlay and across folds, the base read from %s: every lookup and reader equals a memory store",
    async (kind, from) => {
      // From "nodes": the changed nodes come with the changesets (the service's replica held the base), and the
      // same changesets (same seed) must leave the zone exactly as the block reads do, after every round.
      const apex = Name.parse(`random-${kind}-${from}.overlay.test.`);
      const random = prng(kind === "nsec" ? 11 : 29);
      const ref = signedZone(apex, kind, 600, random);
      const zone = await zoneWith(apex, [...ref.list(), soa(apex, 1)]);
      // Small bounds, so that the sequence folds (twice or more) as well as growing the overlay.
      const limits: OverlayLimits = { owners: 90, bytes: 64 * 1024 };
      // One long-lived store (its caches across versions) and the readers.
      const d1 = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
      let serial = 1, overlaid = 0, folds = 0;
      for (let round = 0; round < 10; round++) {
        const before = ref.list();
        const cs = randomChangeset(ref, apex, kind, serial, random, 5 + Math.floor(random() * 25));
        const nodes = from === "nodes" ? await nodesFor(zone, before, cs) : undefined;
        const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [cs], { overlayLimits: limits, nodes });
        if (from === "nodes") expect(result.nodes, `round ${round}: the nodes stored unless the overlay folds`).toBe(result.folded || result.overlayOwners === 0 ? "ignored" : "stored");
        else expect(result.nodes).toBeUndefined();
        serial++;
        expect(result.serial).toBe(serial);
        expect(result.recordCount).toBe(ref.records.size);
        if (result.overlayOwners > 0) overlaid++;
        // The zone's earliest RRSIG expiration is exact, through the overlay or a fold.
        const expiry = new EarliestExpiry();
        for (const r of ref.list()) expiry.record(r.type, r.rdata);
        const stored = await env.DB.prepare("SELECT rrsig_expires_at AS at FROM zones WHERE id = ?1").bind(zone.id).first<{ at: number | null }>();
        expect(stored!.at, `round ${round}: the earliest RRSIG expiration`).toBe(expiry.ms);
        if (result.folded) {
          folds++;
          expect(await overlayRows(zone.id, result.version), "a fold leaves no overlay row seen").toBe(0);
        }
        const names = new Set<string>();
        const probes: Name[] = [];
        const probe = (n: Name) => {
          if (names.has(n.key)) return;
          probes.push(n);
          names.add(n.key);
        };
        for (const r of ref.list()) probe(r.name);
        for (const r of ref.list()) if (r.name.labelCount > apex.labelCount + 1) probe(r.name.stripLeft(1));
        for (let i = 0; i < 30; i++) probe(apex.child(`q${Math.floor(random() * 5000)}`));
        for (let i = 0; i < 15; i++) probe(hashed(apex, Math.floor(random() * 1300)));
        probe(apex.child("0"));
        probe(apex.child("zzzzzzzz"));
        await expectSame(d1, apex, ref, probes, zone.id, `${kind} round ${round} (${result.overlayOwners} overlaid, folded ${result.folded})`);
        // A store new to the version (no cached blocks or overlay) answers the same.
        if (round % 3 === 2) await expectSame(new D1ZoneStore(env.DB), apex, ref, probes.slice(0, 200), zone.id, `${kind} round ${round}, fresh store`);
      }
      expect(overlaid, "applies that went through the overlay").toBeGreaterThanOrEqual(3);
      expect(folds, "folds").toBeGreaterThanOrEqual(1);
    },
    240_000,
  );

  it("the store contract holds on a version whose differences from its blocks are all in the overlay", async () => {
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    for (const z of CONTRACT_ZONES) {
      const apex = Name.parse(z.apex);
      const target = zoneRecords(z.text, apex);
      // The blocks hold another zone: some of the target's records missing (an ENT's only owner, an NSEC3
      // owner, the last owner), others that the target does not have (an owner where the target has an ENT).
      const owner = (r: OwnedRecord) => r.name.toString().toLowerCase();
      const gone = target.filter(
        (r) => r.type !== RRType.SOA && (owner(r) === `a.b.c.${z.apex}` || owner(r) === `z.${z.apex}` || (r.type === RRType.NSEC3 && owner(r).startsWith("2"))),
      );
      const extra: OwnedRecord[] = [
        { name: Name.parse(`b.c.${z.apex}`), type: RRType.TXT, class: IN, ttl: 300, rdata: Uint8Array.of(1, 0x41) },
        { name: Name.parse(`m.${z.apex}`), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(192, 0, 2, 9) },
      ];
      const base = target.filter((r) => r.type !== RRType.SOA && !gone.includes(r));
      const zone = await zoneWith(apex, [soa(apex, 0), ...base, ...extra, soa(apex, 0)]);
      const cs: ChangesetInput = {
        fromSerial: 0,
        toSerial: 1,
        deletions: encodeRecordStream([soa(apex, 0), ...extra]),
        additions: encodeRecordStream([target.find((r) => r.type === RRType.SOA)!, ...gone]),
      };
      const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [cs]);
      expect(result.folded).toBe(false);
      expect(result.overlayOwners).toBeGreaterThan(0);
      expect(result.blocksWritten).toBe(0);
    }
    for (const c of CONTRACT_CASES) expect(await runContractCase(store, c), `${c.op}: ${c.why}`).toEqual(c.expect);
  }, 60_000);

  it("a 1,000-change IXFR writes a handful of rows, not thousands; the sweep prunes the rows a fold retired", async () => {
    const apex = Name.parse("rows.overlay.test.");
    const records: OwnedRecord[] = [soa(apex, 1), { name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns").toWire() }];
    for (let i = 0; i < 20_000; i++) records.push({ name: apex.child(`h${i}`), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, i >> 8, i & 255) });
    const zone = await zoneWith(apex, [...records, soa(apex, 1)]);
    const blocks = (await env.DB.prepare("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1").bind(zone.id).first<{ n: number }>())!.n;
    const adds = Array.from({ length: 1000 }, (_, k): OwnedRecord => ({ name: apex.child(`h${k * 20}`), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 9, 9, k & 255) }));
    const cs = (from: number, list: OwnedRecord[]): ChangesetInput => ({
      fromSerial: from,
      toSerial: from + 1,
      deletions: encodeRecordStream([soa(apex, from)]),
      additions: encodeRecordStream([soa(apex, from + 1), ...list]),
    });
    const first = await applyChangesets(new Budget(env.DB), zone, OWNER, [cs(1, adds)]);
    const rows = await overlayRows(zone.id, first.version);
    console.log(`1,000-change IXFR on 20k records (${blocks} blocks): ${first.rowsWritten} rows written, ${first.rowsRead} read, ${rows} overlay rows, ${first.blocksWritten} blocks written`);
    expect(first.overlayOwners).toBe(1001);
    expect(first.blocksWritten).toBe(0);
    expect(rows).toBeLessThanOrEqual(2);
    // The version row, the pointer, the journal, the overlay rows (each with its key), the feeds' rows.
    expect(first.rowsWritten).toBeLessThanOrEqual(30);

    // A fold (bounds crossed): today's block rewrite for the overlay's owners and the changeset's.
    const more = adds.map((r, k) => ({ ...r, rdata: Uint8Array.of(10, 8, 8, k & 255) }));
    const second = await applyChangesets(new Budget(env.DB), zone, OWNER, [cs(2, more)], { overlayLimits: { owners: 1500, bytes: 1 << 20 } });
    expect(second.folded).toBe(true);
    expect(second.blocksWritten).toBeGreaterThan(0);
    expect(await overlayRows(zone.id, second.version)).toBe(0);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const info = (await store.findZone(apex))!;
    expect((await store.node(info, apex.child("h20")))!.records.map((r) => r.rdata.join("."))).toEqual(["10.0.0.20", "10.8.8.1", "10.9.9.1"]);
    // The first version still sees its overlay (a reader on the old pointer), until the sweep prunes it.
    const old = { ...info, version: first.version };
    expect((await store.node(old, apex.child("h20")))!.records).toHaveLength(2);
    expect(await overlayRows(zone.id)).toBe(rows);
    const swept = await sweepVersions(env.DB, { keepVersions: 1, keepMs: 60_000, now: Date.now() + 7_200_000 });
    expect(swept.overlayRowsDeleted).toBeGreaterThanOrEqual(rows);
    expect(await overlayRows(zone.id)).toBe(0);
    expect((await new D1ZoneStore(env.DB).node(info, apex.child("h20")))!.records).toHaveLength(3);
  }, 120_000);

  it("an apply that fails after reading the overlay leaves the served zone exactly as it was", async () => {
    const apex = Name.parse("fails.overlay.test.");
    const ref = signedZone(apex, "nsec3", 50, prng(3));
    const zone = await zoneWith(apex, [...ref.list(), soa(apex, 1)]);
    const a = (name: string, last: number): OwnedRecord => ({ name: apex.child(name), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, 0, last) });
    const o2 = ref.list().find((r) => r.name.equals(apex.child("o2")) && r.type === RRType.A)!;
    // Version 2: o2's address goes (in the overlay), a new owner comes.
    const first = await applyChangesets(new Budget(env.DB), zone, OWNER, [
      { fromSerial: 1, toSerial: 2, deletions: encodeRecordStream([soa(apex, 1), o2]), additions: encodeRecordStream([soa(apex, 2), a("new", 1)]) },
    ]);
    expect(first.overlayOwners).toBeGreaterThan(0);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const snapshot = async () => {
      const info = (await store.findZone(apex))!;
      const rows = await env.DB.prepare("SELECT added_version, tree, part, removed_version, data FROM node_overlay WHERE zone_id = ?1 ORDER BY 1, 2, 3").bind(zone.id).all();
      return { serial: info.serial, version: info.version, o2: await store.node(info, apex.child("o2")), next: (await store.locate(info, TREE_MAIN, apex.child("new"))).match?.records, rows: rows.results };
    };
    const before = await snapshot();
    expect(before.o2).toBeNull();
    // Deleting o2's address again: the blocks still hold it, the overlay says it is gone, so the changeset does
    // not fit the zone (RFC 1995's consistency check, on the node as the overlay has it).
    await expect(
      applyChangesets(new Budget(env.DB), zone, OWNER, [
        { fromSerial: 2, toSerial: 3, deletions: encodeRecordStream([soa(apex, 2), o2]), additions: encodeRecordStream([soa(apex, 3), a("other", 2)]) },
      ]),
    ).rejects.toMatchObject({ code: "inconsistent" });
    // And one that fails at the commit: the lease lost after the overlay was read (another instance took it).
    await env.DB.prepare("UPDATE zones SET lease_owner = 'someone-else' WHERE id = ?1").bind(zone.id).run();
    await expect(
      applyChangesets(new Budget(env.DB), zone, OWNER, [
        { fromSerial: 2, toSerial: 3, deletions: encodeRecordStream([soa(apex, 2)]), additions: encodeRecordStream([soa(apex, 3), a("other", 2)]) },
      ]),
    ).rejects.toMatchObject({ code: "lease" });
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it("the alerts find the zone's earliest signature in an owner the overlay holds", async () => {
    const apex = Name.parse("alerts.overlay.test.");
    const ref = signedZone(apex, "nsec", 40, prng(8));
    const zone = await zoneWith(apex, [...ref.list(), soa(apex, 1)]);
    // A new owner signed to expire before every other signature: through the overlay, no fold.
    const soon = apex.child("expiring-soon");
    const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [
      {
        fromSerial: 1,
        toSerial: 2,
        deletions: encodeRecordStream([soa(apex, 1)]),
        additions: encodeRecordStream([soa(apex, 2), { name: soon, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 9, 9, 9) }, rrsig(soon, apex, RRType.A, 2)]),
      },
    ]);
    expect([result.folded, result.blocksWritten]).toEqual([false, 0]);
    const row = (await env.DB.prepare("SELECT current_version AS v, rrsig_expires_at AS at FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number; at: number }>())!;
    expect(row.at).toBeLessThan(Date.now() + 3 * 86_400_000);
    expect(await earliestSignature(env.DB, zone.id, row.v, Date.now())).toBe(`${soon} RRSIG A`);
  }, 60_000);

  it("replacing the earliest-expiring signature goes through the overlay, the zone's earliest read again exactly", async () => {
    const apex = Name.parse("resign.overlay.test.");
    const records: OwnedRecord[] = [soa(apex, 1), { name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns").toWire() }];
    // Ten signed owners; o0 and o1 expire first (2 and 3 days), the rest all at 20 days, as a signer without jitter does.
    const sigs = Array.from({ length: 10 }, (_, i) => rrsig(apex.child(`o${i}`), apex, RRType.A, i === 0 ? 2 : i === 1 ? 3 : 20));
    for (let i = 0; i < 10; i++) records.push({ name: apex.child(`o${i}`), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, 0, i) }, sigs[i]!);
    const zone = await zoneWith(apex, [...records, soa(apex, 1)]);
    const earliest = async () => (await env.DB.prepare("SELECT rrsig_expires_at AS at FROM zones WHERE id = ?1").bind(zone.id).first<{ at: number }>())!.at;
    const expiresAt = (r: OwnedRecord) => {
      const e = new EarliestExpiry();
      e.record(r.type, r.rdata);
      return e.ms;
    };
    expect(await earliest()).toBe(expiresAt(sigs[0]!));
    const resign = async (from: number, i: number, days: number) => {
      const fresh = rrsig(apex.child(`o${i}`), apex, RRType.A, days);
      const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [
        { fromSerial: from, toSerial: from + 1, deletions: encodeRecordStream([soa(apex, from), sigs[i]!]), additions: encodeRecordStream([soa(apex, from + 1), fresh]) },
      ]);
      sigs[i] = fresh;
      return result;
    };
    // o0 re-signed: the earliest rises to o1's, though o0's old signature is still in its block.
    const first = await resign(1, 0, 30);
    expect([first.folded, first.blocksWritten, first.overlayOwners]).toEqual([false, 0, 2]);
    expect(await earliest()).toBe(expiresAt(sigs[1]!));
    // The alerts name it: o1's, in a block whose own figure is still o0's replaced signature.
    expect(await earliestSignature(env.DB, zone.id, first.version, Date.now())).toBe(`o1.${apex} RRSIG A`);
    // o1 too: now the eight at 20 days hold it; one of them re-signed leaves it where it is.
    await resign(2, 1, 30);
    expect(await earliest()).toBe(expiresAt(sigs[2]!));
    const third = await resign(3, 5, 30);
    expect([third.folded, third.blocksWritten]).toEqual([false, 0]);
    expect(await earliest()).toBe(expiresAt(sigs[2]!));
    expect(await earliestSignature(env.DB, zone.id, third.version, Date.now())).toMatch(/^o[2-46-9]\.resign\.overlay\.test\. RRSIG A$/);
  }, 60_000);

  it("a zone without an overlay costs no overlay query; one with an overlay costs one per version, not per miss", async () => {
    const apex = Name.parse("queries.overlay.test.");
    const ref = signedZone(apex, "nsec3", 200, prng(5));
    const zone = await zoneWith(apex, [...ref.list(), soa(apex, 1)]);
    const misses = async () => {
      const store = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
      const info = (await store.findZone(apex))!;
      const before = store.blockStatements;
      for (let i = 0; i < 20; i++) await store.locate(info, TREE_MAIN, apex.child(`o${i * 9}`));
      return store.blockStatements - before;
    };
    const plain = await misses();
    await applyChangesets(new Budget(env.DB), zone, OWNER, [
      {
        fromSerial: 1,
        toSerial: 2,
        deletions: encodeRecordStream([soa(apex, 1)]),
        additions: encodeRecordStream([soa(apex, 2), { name: apex.child("added"), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(1, 2, 3, 4) }]),
      },
    ]);
    const overlaid = await misses();
    expect(overlaid).toBe(plain + 1);
  }, 60_000);
});

describe("an overlaid version read back against the same content ingested whole (red team, issue 28)", () => {
  it("streams byte for byte as the block path would, and stays readable after a full transfer and a sweep that keeps it", async () => {
    const apex = Name.parse("axfr-same.overlay.test.");
    const a = (name: Name, last: number): OwnedRecord => ({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(192, 0, 2, last) });
    const ns = (name: Name, host: Name): OwnedRecord => ({ name, type: RRType.NS, class: IN, ttl: 3600, rdata: host.toWire() });
    const base: OwnedRecord[] = [ns(apex, apex.child("ns"))];
    for (let i = 10; i < 400; i++) base.push(a(apex.child(`m${i}`), i & 255));
    const zone = await zoneWith(apex, [soa(apex, 1), ...base, soa(apex, 1)]);
    // Owners before the first and after the last, the first and last owners tombstoned, a delegation with
    // glue added, an empty non-terminal made, a wildcard, and one owner's RRset replaced.
    const removed = [a(apex.child("m10"), 10), a(apex.child("m399"), 399 & 255), a(apex.child("m200"), 200)];
    const added = [
      a(apex.child("0"), 1),
      a(apex.child("zzzz"), 2),
      ns(apex.child("sub"), apex.child("sub").child("ns1")),
      a(apex.child("sub").child("ns1"), 3),
      a(apex.child("x").child("y").child("deep"), 4),
      a(apex.child("*"), 5),
      a(apex.child("m200"), 77),
    ];
    const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [
      { fromSerial: 1, toSerial: 2, deletions: encodeRecordStream([soa(apex, 1), ...removed]), additions: encodeRecordStream([soa(apex, 2), ...added]) },
    ]);
    expect(result.folded).toBe(false);
    expect(result.overlayOwners).toBeGreaterThan(0);
    const read = async (version: number) => new Uint8Array(await new Response((await streamVersion(env.DB, zone.id, version))!.body).arrayBuffer());
    const overlaid = await read(result.version);
    // The same content as a full transfer: its blocks alone, no overlay.
    const content = [...base.filter((r) => !removed.some((x) => x.name.key === r.name.key && compareBytes(x.rdata, r.rdata) === 0)), ...added];
    const budget = new Budget(env.DB);
    const full = await beginIngest(budget, zone, OWNER);
    await appendChunk(budget, zone, full, 0, encodeRecordStream([soa(apex, 2), ...content, soa(apex, 2)]), OWNER);
    await commitIngest(budget, zone, full, OWNER);
    const row = await env.DB.prepare("SELECT current_version AS v, overlay_from AS f, record_count AS n FROM zones WHERE id = ?1").bind(zone.id).first<{ v: number; f: number | null; n: number }>();
    expect(row).toEqual({ v: full, f: null, n: content.length + 1 });
    expect(await overlayRows(zone.id, full)).toBe(0);
    const whole = await read(full);
    expect(parseRecordStream(overlaid).length).toBe(content.length + 1);
    expect(compareBytes(overlaid, whole) === 0, "the overlaid version's stream equals the block path's").toBe(true);
    // The overlaid version, older now, still reads the same; a sweep keeping both versions keeps its rows.
    expect(compareBytes(await read(result.version), whole) === 0).toBe(true);
    await sweepVersions(env.DB, { keepVersions: 2, keepMs: 60_000, now: Date.now() + 7_200_000 });
    expect(compareBytes(await read(result.version), whole) === 0, "after a sweep keeping it").toBe(true);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const info = (await store.findZone(apex))!;
    const old = { ...info, version: result.version };
    expect((await store.node(old, apex.child("m10")))).toBeNull();
    expect((await store.node(old, apex.child("m200")))!.records.map((r) => r.rdata.join("."))).toEqual(["192.0.2.77"]);
  }, 60_000);
});

describe("the answer path's overlay cache across a full transfer (red team, issue 28)", () => {
  it("one long-lived store reads right through IXFR, full transfer, IXFR, IXFR, the old versions too", async () => {
    const apex = Name.parse("cache-full.overlay.test.");
    const a = (label: string, last: number): OwnedRecord => ({ name: apex.child(label), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(192, 0, 2, last) });
    const base: OwnedRecord[] = [{ name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns").toWire() }];
    for (let i = 0; i < 50; i++) base.push(a(`h${i}`, i));
    const zone = await zoneWith(apex, [soa(apex, 1), ...base, soa(apex, 1)]);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 0 });
    const ixfr = (from: number, del: OwnedRecord[], add: OwnedRecord[]) =>
      applyChangesets(new Budget(env.DB), zone, OWNER, [
        { fromSerial: from, toSerial: from + 1, deletions: encodeRecordStream([soa(apex, from), ...del]), additions: encodeRecordStream([soa(apex, from + 1), ...add]) },
      ]);
    const seen = async (label: string, version?: number) => {
      const info = (await store.findZone(apex))!;
      const node = await store.node(version === undefined ? info : { ...info, version }, apex.child(label));
      return node ? node.records.map((r) => r.rdata[3]) : null;
    };
    const v2 = (await ixfr(1, [], [a("h1", 101)])).version;
    expect(await seen("h1")).toEqual([1, 101]);
    // A full transfer: h1 back to one address, h2 gone.
    const budget = new Budget(env.DB);
    const full = await beginIngest(budget, zone, OWNER);
    await appendChunk(budget, zone, full, 0, encodeRecordStream([soa(apex, 3), ...base.filter((r) => r.name.key !== apex.child("h2").key), soa(apex, 3)]), OWNER);
    await commitIngest(budget, zone, full, OWNER);
    expect(await seen("h1")).toEqual([1]);
    expect(await seen("h2")).toBeNull();
    await ixfr(3, [], [a("h3", 103)]);
    expect(await seen("h1")).toEqual([1]);
    expect(await seen("h3")).toEqual([3, 103]);
    await ixfr(4, [a("h4", 4)], [a("h2", 102)]);
    expect([await seen("h1"), await seen("h2"), await seen("h3"), await seen("h4")]).toEqual([[1], [102], [3, 103], null]);
    // The version before the full transfer, read by the same store, still sees its overlay.
    expect([await seen("h1", v2), await seen("h2", v2)]).toEqual([[1, 101], [2]]);
  }, 60_000);
});
