/**
 * The compact store (`compact-zone.ts`) against the reference memory store: the ZoneStore contract, every
 * neighbour lookup over a generated zone, and the whole engine's answers to the differential corpus (the same
 * octets from both stores, DO=0 and DO=1, UDP and TCP).
 */
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { answerQuery, type QueryContext } from "../engine.ts";
import { storeOf, zoneRecords } from "../testing/load-zone.ts";
import { CONTRACT_CASES, CONTRACT_ZONES, runContractCase } from "../testing/store-contract.ts";
import type { ZoneInfo } from "../zone-store.ts";
import { encodeRecordStream, RecordStreamError } from "../../contract/record-stream.ts";
import { generateQuestions } from "../../test/answer/queries.ts";
import { CHILD_APEX, CHILD_ZONE, PARENT_APEX, PARENT_ZONE } from "../../test/answer/zones.ts";
import { ChangesetMismatch, CompactTree, CompactZone, CompactZoneBuilder, CompactZoneStore } from "./compact-zone.ts";
import { MemoryZoneStore } from "./memory-zone-store.ts";
import { TREE_MAIN, TREE_NSEC3, type OwnedRecord } from "./stored-node.ts";
import { RRType } from "../../dns/constants.ts";

/** A compact store holding the same zones as a memory store, which it asks which zone a name is in. */
class TestCompactStore extends CompactZoneStore {
  private readonly zones = new Map<string, CompactZone>();

  constructor(
    private readonly memory: MemoryZoneStore,
    zones: ReadonlyArray<{ apex: string; text: string }>,
  ) {
    super();
    for (const z of zones) this.zones.set(Name.parse(z.apex).key, CompactZone.fromRecords(zoneRecords(z.text, Name.parse(z.apex))));
  }

  findZone(name: Name): ZoneInfo | null {
    return this.memory.findZone(name);
  }

  protected zoneData(zone: ZoneInfo): CompactZone {
    return this.zones.get(zone.name.key)!;
  }
}

const contractStore = new TestCompactStore(storeOf(...CONTRACT_ZONES), CONTRACT_ZONES);

describe("CompactZoneStore meets the ZoneStore contract", () => {
  it.each(CONTRACT_CASES)("$op: $why", async (c) => {
    expect(await runContractCase(contractStore, c)).toEqual(c.expect);
  });
});

describe("CompactZone", () => {
  const apex = Name.parse("gen.test.");
  let text = "@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\nMiXeD.Case A 192.0.2.2\na\\000b\\001.esc TXT \"escaped octets\"\n";
  for (let i = 0; i < 500; i++) text += `h${(i * 7919) % 1000}.s${i % 13} A 10.0.${i >> 8}.${i & 255}\nh${i}.s${i % 13} TXT "t${i}"\n`;
  for (let i = 0; i < 40; i++) text += `${(i * 104729).toString(32).padStart(32, "0").slice(0, 32)} NSEC3 1 0 0 - ${"0".repeat(32)} A\n`;
  const records = zoneRecords(text, apex);
  const memory = new MemoryZoneStore([{ info: { id: 1, name: apex, model: "secondary", version: 1, expiresAt: null, answerAllow: [] }, records }]);
  const compact = CompactZone.fromRecords(records);

  it("holds every record, once", () => {
    expect(compact.records).toBe(new Set(records.map((r) => `${r.name.key} ${r.type} ${Buffer.from(r.rdata).toString("hex")}`)).size);
  });

  it("gives the memory store's neighbours for every owner and for names between them", async () => {
    const zone = (await memory.findZone(apex))!;
    const names = new Set<string>();
    for (const r of records) {
      names.add(r.name.toString());
      names.add(`x.${r.name}`);
      names.add(`${r.name.labels[0]!.length > 0 ? "zz" : ""}${r.name}`);
    }
    const show = (n: { name: Name; records: readonly { type: number; rdata: Uint8Array }[] } | null) => (n ? `${n.name} ${n.records.map((r) => `${r.type}:${Buffer.from(r.rdata).toString("hex")}`).join(",")}` : null);
    for (const text of names) {
      const name = Name.parse(text);
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        const want = await memory.locate(zone, tree, name);
        const got = compact.trees[tree].locate(name.sortKey());
        expect([show(got.match), show(got.before), show(got.after)], `${text} in tree ${tree}`).toEqual([show(want.match), show(want.before), show(want.after)]);
      }
    }
  });

  it("packs a record stream in any order, duplicates and spellings included, to the same octets as from records", () => {
    // Shuffled, with a duplicate of different TTL after its first copy and an owner first spelled in capitals.
    const shuffled = [...records].sort((a, b) => (a.rdata[a.rdata.length - 1]! * 31 + a.name.labelCount) % 7 - (b.rdata[b.rdata.length - 1]! * 31 + b.name.labelCount) % 7);
    const dup = { ...shuffled[5]!, ttl: 1 };
    const shouting = { ...shuffled[9]!, name: Name.parse(shuffled[9]!.name.toString().toUpperCase()), type: 99, rdata: new Uint8Array([1, 0x41]) };
    const input = [shouting, ...shuffled.slice(0, 6), dup, ...shuffled.slice(6)];
    const fromStream = CompactZone.fromStream(encodeRecordStream(input), apex);
    const fromRecords = CompactZone.fromRecords(input);
    for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
      expect(Buffer.from(fromStream.trees[tree].data).equals(Buffer.from(fromRecords.trees[tree].data)), `tree ${tree}`).toBe(true);
      expect([...fromStream.trees[tree].offsets]).toEqual([...fromRecords.trees[tree].offsets]);
    }
    expect(fromStream.records).toBe(fromRecords.records);
  });

  it("packs a stream piece by piece (CompactZoneBuilder) to the octets of packing it whole, in any order and any cut", () => {
    const sameZone = (a: CompactZone, b: CompactZone, what: string) => {
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        expect(Buffer.from(a.trees[tree].data).equals(Buffer.from(b.trees[tree].data)), `${what}: tree ${tree}`).toBe(true);
        expect([...a.trees[tree].offsets], `${what}: tree ${tree}`).toEqual([...b.trees[tree].offsets]);
        expect(a.trees[tree].records).toBe(b.trees[tree].records);
      }
    };
    // Canonical-ish order (a primary's), and a shuffle where owners recur in many pieces; a duplicate of
    // other TTL in a later piece, and an owner spelled in capitals first in an early piece, then lower case.
    const shuffled = [...records].sort((a, b) => (a.rdata[a.rdata.length - 1]! * 31 + a.name.labelCount) % 7 - (b.rdata[b.rdata.length - 1]! * 31 + b.name.labelCount) % 7);
    const shouting = { ...shuffled[9]!, name: Name.parse(shuffled[9]!.name.toString().toUpperCase()), type: 99, rdata: new Uint8Array([1, 0x41]) };
    for (const [what, order] of [
      ["in order", records],
      ["shuffled", [shouting, ...shuffled.slice(0, 700), { ...shuffled[5]!, ttl: 1 }, ...shuffled.slice(700)]],
    ] as const) {
      const whole = CompactZone.fromStream(encodeRecordStream(order), apex);
      for (const cut of [1, 7, 64, 1000, order.length]) {
        // Appended while the pieces come in order, into buffers that grow; merged at the end when they do not.
        const builder = new CompactZoneBuilder(apex);
        for (let i = 0; i < order.length; i += cut) builder.addRecords(order.slice(i, i + cut));
        sameZone(builder.finish(), whole, `${what}, pieces of ${cut}`);
      }
      // In canonical order with the SOA alone first (as a transfer's tap keeps it): every piece appended.
      const canonical = [...whole.trees[TREE_MAIN].nodes()].flatMap((n) => n.records.map((r) => ({ ...r, name: n.name })));
      const soa = canonical.find((r) => r.type === 6)!;
      const appended = new CompactZoneBuilder(apex);
      appended.addRecords([soa]);
      for (let i = 0; i < canonical.length; i += 50) appended.addRecords(canonical.slice(i, i + 50));
      sameZone(appended.finish(), CompactZone.fromStream(encodeRecordStream([soa, ...canonical]), apex), `${what}, canonical order appended`);
      // The snapshot file's form reads back to the same version.
      const parts = whole.toParts();
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
      sameZone(CompactZone.fromBytes(bytes), whole, `${what}, snapshot`);
      // As a file reads back in Node: a Buffer at an offset of a larger pool, whose own `slice` is a view.
      const pooled = Buffer.concat([Buffer.alloc(3), bytes]).subarray(3);
      sameZone(CompactZone.fromBytes(pooled), whole, `${what}, snapshot in a Buffer`);
      expect(() => CompactZone.fromBytes(bytes.subarray(0, bytes.length - 8))).toThrow(RangeError);
    }
    const builder = new CompactZoneBuilder(apex, 100);
    expect(() => {
      for (let i = 0; i < records.length; i += 30) builder.addRecords(records.slice(i, i + 30));
    }).toThrow(RecordStreamError);
  });

  it("packs a primary's canonical stream as it comes, straight onto the end of the trees, to the octets of packing it whole", () => {
    const sameZone = (a: CompactZone, b: CompactZone, what: string) => {
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        expect(Buffer.from(a.trees[tree].data).equals(Buffer.from(b.trees[tree].data)), `${what}: tree ${tree}`).toBe(true);
        expect([...a.trees[tree].offsets], `${what}: tree ${tree}`).toEqual([...b.trees[tree].offsets]);
        expect(a.trees[tree].records, `${what}: tree ${tree}`).toBe(b.trees[tree].records);
      }
    };
    // Canonical order of owners over both trees (NSEC3 owners among the others, as a primary sends them), an
    // owner's records in no particular order: its NSEC3 and RRSIGs (of its NSEC3 and of its TXT) between its
    // TXT records, a repeated record with another TTL, a second spelling of the owner right after the first.
    const whole = CompactZone.fromRecords(records);
    const nodes = [...whole.trees[TREE_MAIN].nodes(), ...whole.trees[TREE_NSEC3].nodes()].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const rrsig = (covered: number) => new Uint8Array([covered >> 8, covered & 0xff, 8, 3, 0, 0, 0, 60, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, 0, ...new Uint8Array(8)]);
    const canonical: OwnedRecord[] = nodes.flatMap((n, i) => {
      const rs: OwnedRecord[] = n.records.map((r) => ({ ...r, name: n.name })).reverse();
      if (i % 17 === 3) rs.splice(1, 0, { ...rs[0]!, ttl: 1 }, { name: n.name, type: RRType.RRSIG, class: 1, ttl: 60, rdata: rrsig(rs[0]!.type) });
      if (i % 29 === 5) rs.push({ name: Name.parse(n.name.toString().toUpperCase()), type: 99, class: 1, ttl: 60, rdata: new Uint8Array([1, 0x41]) });
      if (i % 31 === 7 && rs[0]!.type !== RRType.NSEC3) rs.splice(1, 0, { name: n.name, type: RRType.NSEC3, class: 1, ttl: 60, rdata: new Uint8Array([1, 0, 0, 0, 0, 20, ...new Uint8Array(20), 0]) }, { name: n.name, type: RRType.RRSIG, class: 1, ttl: 60, rdata: rrsig(RRType.NSEC3) });
      return rs;
    });
    const expected = CompactZone.fromStream(encodeRecordStream(canonical), apex);
    // Cut between owners only (as the transfer cuts its stream): every piece goes on the canonical path.
    const cuts: number[] = [0];
    for (let i = 1; i < canonical.length; i++) if (!canonical[i]!.name.equals(canonical[i - 1]!.name) && i - cuts.at(-1)! >= 40) cuts.push(i);
    cuts.push(canonical.length);
    const builder = new CompactZoneBuilder(apex);
    for (let c = 1; c < cuts.length; c++) builder.addStream(encodeRecordStream(canonical.slice(cuts[c - 1], cuts[c])));
    expect(builder.pieces).toEqual({ canonical: cuts.length - 1, general: 0 });
    expect(builder.records).toBe(expected.records);
    const built = builder.finish();
    sameZone(built, expected, "cut between owners");
    // Grown in a resizable buffer, handed out in a plain one (lookups over a resizable one ran ~20% slower).
    for (const tree of [TREE_MAIN, TREE_NSEC3] as const) expect((built.trees[tree].data.buffer as { resizable?: boolean }).resizable ?? false).toBe(false);
    // Pieces in resizable buffers (a transfer's chunks), given back at once after each is packed: the same.
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const fromResizable = new CompactZoneBuilder(apex);
    for (let c = 1; c < cuts.length; c++) {
      const stream = encodeRecordStream(canonical.slice(cuts[c - 1], cuts[c]));
      const buffer = new Resizable(stream.length, { maxByteLength: stream.length });
      new Uint8Array(buffer).set(stream);
      fromResizable.addStream(new Uint8Array(buffer, 0, stream.length));
      buffer.resize(0);
    }
    sameZone(fromResizable.finish(), expected, "pieces in resizable buffers, released once packed");
    // Cut anywhere: a piece that starts with the last owner's other records merges on the general path.
    const anywhere = new CompactZoneBuilder(apex);
    for (let i = 0; i < canonical.length; i += 37) anywhere.addStream(encodeRecordStream(canonical.slice(i, i + 37)));
    expect(anywhere.pieces.canonical).toBeGreaterThan(anywhere.pieces.general);
    sameZone(anywhere.finish(), expected, "cut anywhere");
    // An owner out of order inside a piece undoes that piece's nodes; the piece is packed the general way.
    const late = canonical.findIndex((r, i) => i > canonical.length / 2 && r.type === RRType.A);
    const disordered = [...canonical.slice(0, late), ...canonical.slice(late + 1, late + 50), canonical[late]!, ...canonical.slice(late + 50)];
    const mixed = new CompactZoneBuilder(apex);
    for (let i = 0; i < disordered.length; i += 200) mixed.addStream(encodeRecordStream(disordered.slice(i, i + 200)));
    expect(mixed.pieces.general).toBe(1);
    sameZone(mixed.finish(), CompactZone.fromStream(encodeRecordStream(disordered), apex), "one owner out of order");
    // The refusals are `fromStream`'s, whichever path a piece takes.
    const outside = { name: Name.parse("www.example.net."), type: 1, class: 1, ttl: 60, rdata: new Uint8Array(4) };
    expect(() => new CompactZoneBuilder(apex).addStream(encodeRecordStream([...canonical.slice(0, 30), outside]))).toThrow(RecordStreamError);
    expect(() => new CompactZoneBuilder(apex, 29).addStream(encodeRecordStream(canonical.slice(0, 30)))).toThrow(RecordStreamError);
    const bounded = new CompactZoneBuilder(apex, 45);
    bounded.addStream(encodeRecordStream(canonical.slice(0, 30)));
    expect(() => bounded.addStream(encodeRecordStream(canonical.slice(30, 60)))).toThrow(RecordStreamError);
  });

  it("refuses a stream with an owner outside the zone, or more records than allowed", () => {
    const outside = encodeRecordStream([{ name: Name.parse("www.example.net."), type: 1, class: 1, ttl: 60, rdata: new Uint8Array(4) }]);
    expect(() => CompactZone.fromStream(outside, apex)).toThrow(RecordStreamError);
    expect(() => CompactZone.fromStream(encodeRecordStream(records), apex, 10)).toThrow(RecordStreamError);
  });

  it("applies IXFR changesets copy-on-write: the same octets as packing the changed zone, the old version untouched", () => {
    const before = CompactZone.fromRecords(records);
    const beforeData = [TREE_MAIN, TREE_NSEC3].map((t) => Buffer.from(before.trees[t as 0 | 1].data).toString("hex"));
    const soa = (serial: number) => zoneRecords(`@ SOA ns hostmaster ${serial} 7200 3600 1209600 300`, apex)[0]!;
    const txt = records.filter((r) => r.type === 16).slice(0, 30);
    const nsec3 = records.filter((r) => r.type === 50).slice(0, 3);
    const added = zoneRecords(`new.s1 A 192.0.2.200\nNew.Spelled.s2 TXT "x"\n${"1".repeat(32)} NSEC3 1 0 0 - ${"0".repeat(32)} A`, apex);
    const retimed = { ...records.find((r) => r.type === 1 && r.name.labelCount > 3)!, ttl: 7 };
    const changesets = [
      { deletions: [soa(1), ...txt.slice(0, 20), ...nsec3], additions: [soa(2), ...added] },
      // Every record of some owners deleted (their nodes go), one re-added; a TTL change; a deletion of an addition.
      { deletions: [soa(2), ...txt.slice(20), added[0]!], additions: [soa(3), txt[25]!, retimed] },
    ];
    const after = before.withChanges(changesets);
    // The same changes on the record list, then packed from scratch.
    const key = (r: { name: Name; type: number; class: number; rdata: Uint8Array }) => `${r.name.key} ${r.type} ${r.class} ${Buffer.from(r.rdata).toString("hex")}`;
    const list = new Map(records.map((r) => [key(r), r]));
    for (const c of changesets) {
      for (const r of c.deletions) expect(list.delete(key(r)), key(r)).toBe(true);
      for (const r of c.additions) {
        const old = list.get(key(r));
        list.set(key(r), old ? { ...old, ttl: r.ttl } : r);
      }
    }
    const reload = CompactZone.fromRecords([...list.values()]);
    for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
      expect(Buffer.from(after.trees[tree].data).toString("hex"), `tree ${tree}`).toBe(Buffer.from(reload.trees[tree].data).toString("hex"));
      expect([...after.trees[tree].offsets]).toEqual([...reload.trees[tree].offsets]);
    }
    expect(after.records).toBe(reload.records);
    expect(after.serial(apex)).toBe(3);
    expect(before.serial(apex)).toBe(1);
    expect([TREE_MAIN, TREE_NSEC3].map((t) => Buffer.from(before.trees[t as 0 | 1].data).toString("hex"))).toEqual(beforeData);
  });

  it("applies random changesets (first and last owners, runs of adjacent additions, whole owners removed) as packing the changed zone does", () => {
    // withNodes places each changed node by a binary search and copies the nodes between as runs: the edges
    // (before the first node, after the last, several additions in one gap, a removal next to an addition)
    // are where a run's bounds go wrong.
    let seed = 7;
    const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const key = (r: OwnedRecord) => `${r.name.key} ${r.type} ${r.class} ${Buffer.from(r.rdata).toString("hex")}`;
    const sorted = [...records].sort((a, b) => Buffer.compare(Buffer.from(a.name.sortKey()), Buffer.from(b.name.sortKey())));
    for (let round = 0; round < 25; round++) {
      const list = new Map(records.map((r) => [key(r), r]));
      const deletions: OwnedRecord[] = [];
      const pick = (r: OwnedRecord) => {
        if (r.type !== RRType.SOA && list.delete(key(r))) deletions.push(r);
      };
      // The first and last owners of each tree, and a few at random, some with every record of their owner.
      for (const r of [sorted[1]!, sorted[sorted.length - 1]!, ...records.filter((x) => x.type === RRType.NSEC3).slice(0, 1)]) if (random(2) === 0) pick(r);
      for (let i = 0; i < 1 + random(20); i++) {
        const r = records[random(records.length)]!;
        for (const same of random(3) === 0 ? records.filter((x) => x.name.key === r.name.key) : [r]) pick(same);
      }
      // Additions: new owners in one gap (adjacent in canonical order), before the first and after the last.
      const gap = random(13);
      const added = zoneRecords(
        [
          ...Array.from({ length: 1 + random(4) }, (_, i) => `h0${i}x.s${gap} A 192.0.2.${i + 1}`),
          random(2) === 0 ? `${"0".repeat(32)} NSEC3 1 0 0 - ${"1".repeat(32)} A` : "",
          random(2) === 0 ? `${"v".repeat(32)} NSEC3 1 0 0 - ${"1".repeat(32)} A` : "",
          random(2) === 0 ? `zzz.s${gap} A 192.0.2.99` : "",
        ].join("\n"),
        apex,
      );
      for (const r of added) list.set(key(r), r);
      const after = CompactZone.fromRecords(records).withChanges([{ deletions, additions: added }]);
      const reload = CompactZone.fromRecords([...list.values()]);
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) {
        expect(Buffer.from(after.trees[tree].data).equals(Buffer.from(reload.trees[tree].data)), `round ${round}, tree ${tree}`).toBe(true);
        expect([...after.trees[tree].offsets], `round ${round}, tree ${tree}`).toEqual([...reload.trees[tree].offsets]);
      }
      expect(after.records).toBe(reload.records);
    }
  });

  it("refuses a changeset that deletes a record the version does not have", () => {
    const missing = zoneRecords("nothere A 192.0.2.1", apex);
    expect(() => CompactZone.fromRecords(records).withChanges([{ deletions: missing, additions: [] }])).toThrow(ChangesetMismatch);
  });

  it("reads a node's owner alone (nameAt) as the decoded node has it, and decodes the apex once per version", () => {
    const tree = compact.trees[TREE_MAIN];
    for (let i = 0; i < tree.count; i++) {
      const name = tree.nameAt(i)!;
      expect(Buffer.from(name.toWire()).toString("hex"), `node ${i}`).toBe(Buffer.from(tree.node(i)!.name.toWire()).toString("hex"));
    }
    expect(tree.nameAt(-1)).toBeUndefined();
    expect(tree.nameAt(tree.count)).toBeUndefined();
    expect(tree.node(0)!.name.equals(apex)).toBe(true);
    expect(tree.node(0)).toBe(tree.node(0));
  });

  it("finds every node by its key through the node index, as the binary search does, and no node for a key it lacks", () => {
    const tree = compact.trees[TREE_MAIN];
    const hex = (n: { name: Name; key: Uint8Array; records: readonly { rdata: Uint8Array }[] } | null) =>
      n === null ? null : `${n.name} ${Buffer.from(n.key).toString("hex")} ${n.records.map((r) => Buffer.from(r.rdata).toString("hex")).join(",")}`;
    for (let i = 0; i < tree.count; i++) {
      const key = tree.node(i)!.key.slice();
      // The slot holds the node's offset: the node that starts there is node i, decoded the same.
      expect(tree.findOffset(key), `node ${i}`).toBe(tree.offsets[tree.search(key).index]);
      expect(hex(tree.nodeAt(tree.findOffset(key))), `node ${i}`).toBe(hex(tree.node(i)));
    }
    for (const absent of ["nothere.gen.test.", "h1.s0.gen.test.x.", "s99.gen.test.", "gen.test.", "a.mixed.case.gen.test."]) {
      const key = Name.parse(absent).sortKey();
      const { index, found } = tree.search(key);
      expect(tree.findOffset(key), absent).toBe(found ? tree.offsets[index] : -1);
    }
    expect(tree.findOffset(Name.parse("nothere.gen.test.").sortKey())).toBe(-1);
    expect(tree.nodeAt(-1)).toBeNull();
    // The apex, decoded once per version, whichever way it is reached.
    expect(tree.nodeAt(tree.findOffset(apex.sortKey()))).toBe(tree.node(0));
    expect(CompactTree.empty.findOffset(apex.sortKey())).toBe(-1);
  });

  it("costs less than the records' wire form and a few octets per node", () => {
    let wire = 0;
    for (const r of records) wire += r.name.wireLength + 10 + r.rdata.length;
    expect(compact.bytes).toBeLessThan(wire * 1.6 + 512);
  });
});

describe("the engine over the compact store answers as over the memory store", () => {
  const zones = [
    { apex: PARENT_APEX, text: PARENT_ZONE },
    { apex: CHILD_APEX, text: CHILD_ZONE },
  ];
  const memory = storeOf(...zones);
  const compact = new TestCompactStore(memory, zones);
  const owners = zones.flatMap((z) => zoneRecords(z.text, Name.parse(z.apex)).map((r) => r.name));
  const questions = generateQuestions(owners, 27);
  const contexts: QueryContext[] = [
    { transport: "udp", udpLimit: 512, client: { address: "192.0.2.7", admin: false }, now: 0 },
    { transport: "tcp", client: { address: "192.0.2.7", admin: false }, now: 0 },
  ];

  it.each([false, true])("every question of the corpus, DO=%s, identical octets", async (dnssecOk) => {
    let compared = 0;
    for (const q of questions) {
      const wire = queryWire(q.name, q.type, { dnssecOk, id: compared & 0xffff });
      for (const ctx of contexts) {
        const a = await answerQuery(memory, wire, ctx);
        const b = await answerQuery(compact, wire, ctx);
        expect(Buffer.from(b.wire).toString("hex"), `${q.name} ${q.type} ${ctx.transport}`).toBe(Buffer.from(a.wire).toString("hex"));
        compared++;
      }
    }
    expect(compared).toBe(questions.length * contexts.length);
  });
});
