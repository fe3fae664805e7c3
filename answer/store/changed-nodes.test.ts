/**
 * @module The changed nodes of an IXFR (issue 28, session 10) computed from a compact zone of the base version,
 * against the obvious reference: the base's records as a set, the changesets applied record by record, the
 * touched owners' records read back. Random changesets on NSEC- and NSEC3-signed zones (deletions, records
 * added again, TTL changes, owners that appear and disappear, the apex SOA), several changesets at once; the
 * earliest RRSIG bookkeeping; the framing's round trip and its refusals; RFC 1995's deletion check.
 * (That the Worker stores the same content from these nodes as from its own block reads is
 * `workers/store/overlay.test.ts`'s random test, "the base read from nodes".)
 */
import { describe, expect, it } from "vitest";
import { compareBytes } from "../../dns/bytes.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { prng } from "../../dns/testing/prng.ts";
import { ChangedNodesError, ChangesetMismatch, decodeChangedNodes, encodeChangedNodes, ixfrNodes } from "./changed-nodes.ts";
import type { ChangesetRecords } from "./changed-nodes.ts";
import { CompactTree, CompactZone } from "./compact-zone.ts";
import { EarliestExpiry } from "./rrsig-expiry.ts";
import { compareRecords, treeOf, TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { OwnedRecord, StoredRecord, Tree } from "./stored-node.ts";

const IN = RRClass.IN;
const NOW = Date.UTC(2026, 11, 7);

function soa(apex: Name, serial: number): OwnedRecord {
  const names = [...apex.child("ns").toWire(), ...apex.child("admin").toWire()];
  const rdata = new Uint8Array(names.length + 20);
  rdata.set(names);
  new DataView(rdata.buffer).setUint32(names.length, serial);
  return { name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata };
}

function rrsig(name: Name, covered: number, days: number): OwnedRecord {
  const rdata = new Uint8Array(18 + 6 + 4);
  const view = new DataView(rdata.buffer);
  view.setUint16(0, covered);
  rdata[2] = 13;
  view.setUint32(8, Math.floor(NOW / 1000) + Math.round(days * 86_400));
  rdata.set([4, 115, 105, 103, 110, 0], 18);
  return { name, type: RRType.RRSIG, class: IN, ttl: 300, rdata };
}

const hashed = (apex: Name, i: number) => apex.child(`${i.toString(32).padStart(4, "0")}${"0".repeat(28)}`);
const nsec3 = (i: number) => Uint8Array.of(1, 0, 0, 0, 0, 20, ...new Array<number>(20).fill(i & 255), 0, 1, 0x40);

/** Records by owner, type, class and rdata (the TTL is the value's). */
class RecordSet {
  readonly map = new Map<string, OwnedRecord>();
  static id = (r: OwnedRecord) => `${treeOf(r.type, r.rdata)}|${r.name.key}|${r.type}|${r.class}|${Array.from(r.rdata).join(",")}`;
  constructor(records: readonly OwnedRecord[] = []) {
    for (const r of records) this.map.set(RecordSet.id(r), r);
  }
  has = (r: OwnedRecord) => this.map.has(RecordSet.id(r));
  list = () => [...this.map.values()];
  at(tree: Tree, name: Name): StoredRecord[] {
    return this.list()
      .filter((r) => treeOf(r.type, r.rdata) === tree && r.name.key === name.key)
      .map((r) => ({ type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata }))
      .sort(compareRecords);
  }
}

function signedZone(apex: Name, kind: "nsec" | "nsec3", owners: number, random: () => number): OwnedRecord[] {
  const out: OwnedRecord[] = [soa(apex, 1), { name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns").toWire() }];
  for (let i = 0; i < owners; i++) {
    const name = i % 5 === 1 ? apex.child(`e${i}`).child(`W${i}`) : apex.child(`o${i}`);
    out.push({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 0, i >> 8, i & 255) });
    if (kind === "nsec") {
      out.push({ name, type: RRType.NSEC, class: IN, ttl: 300, rdata: Uint8Array.of(...apex.child(`n${i}`).toWire(), 0, 1, 0x40) }, rrsig(name, RRType.NSEC, 5 + random() * 20));
    } else {
      out.push({ name: hashed(apex, i * 2), type: RRType.NSEC3, class: IN, ttl: 300, rdata: nsec3(i) }, rrsig(hashed(apex, i * 2), RRType.NSEC3, 5 + random() * 20));
    }
  }
  return out;
}

/** A random changeset over `set` (applied to it): deletions (whole owners too), records added again, TTL changes, new owners. */
function randomChangeset(set: RecordSet, apex: Name, kind: "nsec" | "nsec3", serial: number, random: () => number): ChangesetRecords {
  const dels: OwnedRecord[] = [soa(apex, serial)];
  const adds: OwnedRecord[] = [soa(apex, serial + 1)];
  set.map.delete(RecordSet.id(soa(apex, serial)));
  const pick = <T>(l: readonly T[]) => l[Math.floor(random() * l.length)]!;
  const deleted: OwnedRecord[] = [];
  for (let k = 0; k < 6 + random() * 20; k++) {
    // A changeset's deletions apply before its additions: what this one adds (or re-adds) is not deleted in it.
    const added = new Set(adds.map(RecordSet.id));
    const all = set.list().filter((r) => r.type !== RRType.SOA && !added.has(RecordSet.id(r)));
    const roll = random();
    const n = Math.floor(random() * 3000);
    if (roll < 0.25) {
      const r = pick(all);
      set.map.delete(RecordSet.id(r));
      dels.push(r);
      deleted.push(r);
    } else if (roll < 0.35) {
      const victim = pick(all);
      for (const r of all) if (r.name.key === victim.name.key && treeOf(r.type, r.rdata) === treeOf(victim.type, victim.rdata) && !(r.name.equals(apex) && r.type === RRType.NS)) {
        set.map.delete(RecordSet.id(r));
        dels.push(r);
      }
    } else if (roll < 0.45 && deleted.length > 0) {
      // Deleted above and added again, sometimes with another TTL.
      const r = { ...pick(deleted), ttl: random() < 0.5 ? 300 : 77 };
      if (!set.has(r) && !adds.some((x) => RecordSet.id(x) === RecordSet.id(r))) {
        set.map.set(RecordSet.id(r), r);
        adds.push(r);
      }
    } else if (roll < 0.6) {
      // A TTL change: the record added again with another TTL (RFC 1995: an addition of a record we have).
      const r = pick(all);
      if (!dels.some((x) => RecordSet.id(x) === RecordSet.id(r)) && !adds.some((x) => RecordSet.id(x) === RecordSet.id(r))) {
        const changed = { ...r, ttl: r.ttl + 1 };
        set.map.set(RecordSet.id(r), changed);
        adds.push(changed);
      }
    } else if (roll < 0.75) {
      const name = apex.child(`new${n}`).child(`Leaf${n}`);
      const r = { name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, 9, n >> 8, n & 255) };
      if (!set.has(r)) {
        set.map.set(RecordSet.id(r), r);
        adds.push(r, ...(kind === "nsec" ? [rrsig(name, RRType.A, 2 + random() * 40)] : []));
        if (kind === "nsec") set.map.set(RecordSet.id(adds.at(-1)!), adds.at(-1)!);
      }
    } else if (kind === "nsec3") {
      const name = hashed(apex, n * 2 + 1);
      const recs = [{ name, type: RRType.NSEC3, class: IN, ttl: 300, rdata: nsec3(n) }, rrsig(name, RRType.NSEC3, 2 + random() * 40)];
      for (const r of recs) if (!set.has(r)) {
        set.map.set(RecordSet.id(r), r);
        adds.push(r);
      }
    } else {
      const at = pick(all).name;
      const r = { name: at, type: RRType.TXT, class: IN, ttl: 300, rdata: Uint8Array.of(3, 116, n & 127, 120) };
      if (!set.has(r)) {
        set.map.set(RecordSet.id(r), r);
        adds.push(r);
      }
    }
  }
  set.map.set(RecordSet.id(soa(apex, serial + 1)), soa(apex, serial + 1));
  return { deletions: dels, additions: adds };
}

const show = (records: readonly StoredRecord[]) => records.map((r) => `${r.type}/${r.class}/${r.ttl}/${Array.from(r.rdata).join(".")}`);

function earliestOf(records: readonly OwnedRecord[]): number | null {
  const e = new EarliestExpiry(NOW);
  for (const r of records) e.record(r.type, r.rdata);
  return e.ms;
}

describe("the changed nodes of an IXFR, from a compact zone of its base", () => {
  it.each(["nsec", "nsec3"] as const)("equal the reference on a %s-signed zone, one changeset or several, with the RRSIG bookkeeping", (kind) => {
    const apex = Name.parse(`${kind}.nodes.test.`);
    const random = prng(kind === "nsec" ? 5 : 6);
    let zone = CompactZone.fromRecords(signedZone(apex, kind, 200, random));
    const set = new RecordSet(signedZone(apex, kind, 200, prng(kind === "nsec" ? 5 : 6)));
    let serial = 1;
    for (let round = 0; round < 25; round++) {
      const base = new RecordSet(set.list());
      const count = 1 + Math.floor(random() * 3);
      const changesets: ChangesetRecords[] = [];
      for (let c = 0; c < count; c++) changesets.push(randomChangeset(set, apex, kind, serial++, random));
      const got = ixfrNodes(zone.nodeSource(), changesets, NOW);
      // Every touched owner once, sorted by tree then key; its records the reference's after the changesets.
      const touched = new Map<string, { tree: Tree; name: Name }>();
      for (const cs of changesets) for (const r of [...cs.deletions, ...cs.additions]) touched.set(`${treeOf(r.type, r.rdata)}:${r.name.key}`, { tree: treeOf(r.type, r.rdata), name: r.name });
      const want = [...touched.values()].sort((x, y) => x.tree - y.tree || compareBytes(x.name.sortKey(), y.name.sortKey()));
      expect(got.nodes.map((n) => `${n.tree}:${n.node.name.key}`), `round ${round}: the owners`).toEqual(want.map((w) => `${w.tree}:${w.name.key}`));
      for (const n of got.nodes) {
        expect(show(n.node.records), `round ${round}: ${n.node.name}`).toEqual(show(set.at(n.tree, n.node.name)));
        expect(n.unchanged, `round ${round}: ${n.node.name} unchanged`).toBe(show(base.at(n.tree, n.node.name)).join() === show(n.node.records).join());
      }
      expect(got.recordDelta).toBe(set.map.size - base.map.size);
      // The apex's SOA is the last changeset's.
      const apexNode = got.nodes.find((n) => n.tree === TREE_MAIN && n.node.name.equals(apex))!;
      expect(apexNode.node.records.filter((r) => r.type === RRType.SOA)).toHaveLength(1);
      // The earliest RRSIG among the replaced owners' old nodes, and the new version's earliest, exactly.
      const replaced = got.nodes.filter((n) => !n.unchanged).flatMap((n) => base.list().filter((r) => treeOf(r.type, r.rdata) === n.tree && r.name.key === n.node.name.key));
      expect(got.replacedExpiry, `round ${round}: replacedExpiry`).toBe(earliestOf(replaced));
      if (got.replacedExpiry !== null) expect(got.earliestAfter, `round ${round}: earliestAfter`).toBe(earliestOf(set.list()));
      else expect(got.earliestAfter).toBeUndefined();
      // The framing carries them as they are.
      const back = decodeChangedNodes(encodeChangedNodes(got.nodes));
      expect(back.map((n) => [n.tree, n.unchanged, n.node.name.toString(), show(n.node.records)])).toEqual(got.nodes.map((n) => [n.tree, n.unchanged, n.node.name.toString(), show(n.node.records)]));
      // The replica's next version is the same computation (`withChanges`), and equals the reference whole.
      zone = zone.withChanges(changesets);
      const reload = CompactZone.fromRecords(set.list());
      for (const tree of [TREE_MAIN, TREE_NSEC3] as const) expect(Buffer.from(zone.trees[tree].data).equals(Buffer.from(reload.trees[tree].data))).toBe(true);
    }
  });

  /** A re-signing primary's IXFR: the `count` RRSIGs expiring first, signed again to expire `days` from NOW. */
  function resign(set: RecordSet, apex: Name, serial: number, count: number, days: number): ChangesetRecords {
    const expiration = (r: OwnedRecord) => new DataView(r.rdata.buffer, r.rdata.byteOffset).getUint32(8);
    const oldest = set.list().filter((r) => r.type === RRType.RRSIG).sort((a, b) => expiration(a) - expiration(b)).slice(0, count);
    const deletions = [soa(apex, serial), ...oldest];
    const additions = [soa(apex, serial + 1), ...oldest.map((r, k) => rrsig(r.name, new DataView(r.rdata.buffer, r.rdata.byteOffset).getUint16(0), days + k / 10))];
    for (const r of deletions) set.map.delete(RecordSet.id(r));
    for (const r of additions) set.map.set(RecordSet.id(r), r);
    return { deletions, additions };
  }

  // Issue 28, session 11: each version keeps its earliest expirations, carried through `withOwners`, so the
  // earliest after an IXFR that replaces a signed node is not a walk over the whole version (20-27 ms on 1M).
  const trees = CompactTree as unknown as { expiryWalks: number; lowListed: number };

  it.each(["nsec", "nsec3"] as const)("re-signing the earliest-expiring owners IXFR after IXFR (%s): the earliest after each exact, the version walked once", (kind) => {
    const apex = Name.parse(`resign-${kind}.nodes.test.`);
    const set = new RecordSet(signedZone(apex, kind, 300, prng(7)));
    let zone = CompactZone.fromRecords(set.list());
    const walks = trees.expiryWalks;
    for (let round = 0; round < 30; round++) {
      const cs = resign(set, apex, round + 1, 7, 30 + round);
      const got = ixfrNodes(zone.nodeSource(), [cs], NOW);
      expect(got.replacedExpiry, `round ${round}`).not.toBeNull();
      expect(got.earliestAfter, `round ${round}: earliestAfter`).toBe(earliestOf(set.list()));
      zone = zone.withOwners(got.nodes.filter((n) => !n.unchanged));
    }
    // One walk per tree (at most two; an NSEC zone's empty NSEC3 tree may have been listed before) at the first
    // IXFR, none after: 7 owners re-signed 30 times are within the 4,096 listed (with main's code: one per IXFR).
    expect(trees.expiryWalks - walks).toBeGreaterThanOrEqual(1);
    expect(trees.expiryWalks - walks).toBeLessThanOrEqual(2);
  });

  it.each(["nsec", "nsec3"] as const)("with few nodes listed (%s): re-signings that replace every listed node walk again, random changesets between, always exact", (kind) => {
    const listed = trees.lowListed;
    trees.lowListed = 8;
    try {
      const apex = Name.parse(`few-${kind}.nodes.test.`);
      const random = prng(kind === "nsec" ? 8 : 9);
      const set = new RecordSet(signedZone(apex, kind, 200, random));
      let zone = CompactZone.fromRecords(set.list());
      let serial = 1;
      const walks = trees.expiryWalks;
      const rounds = 40;
      for (let round = 0; round < rounds; round++) {
        const cs = round % 3 === 2 ? randomChangeset(set, apex, kind, serial, random) : resign(set, apex, serial, 3, 25 + round);
        serial++;
        const got = ixfrNodes(zone.nodeSource(), [cs], NOW);
        if (got.replacedExpiry !== null) expect(got.earliestAfter, `round ${round}: earliestAfter`).toBe(earliestOf(set.list()));
        zone = zone.withOwners(got.nodes.filter((n) => !n.unchanged));
      }
      // The list of 8 drains by 3 a re-signing (their new signatures expire later than the listed ones): a walk
      // every third IXFR or so, not one per IXFR.
      expect(trees.expiryWalks - walks).toBeGreaterThan(2);
      expect(trees.expiryWalks - walks).toBeLessThan(rounds * 0.6);
    } finally {
      trees.lowListed = listed;
    }
  });

  it("reads the wire times again when asked 68 years later (RFC 1982: the same wire time names another instant)", () => {
    const apex = Name.parse("later.nodes.test.");
    const set = new RecordSet(signedZone(apex, "nsec", 50, prng(10)));
    const zone = CompactZone.fromRecords(set.list());
    const cs = resign(set, apex, 1, 2, 40);
    const later = NOW + 2 ** 31 * 1000 - 10 * 86_400_000;
    for (const now of [NOW, later]) {
      const got = ixfrNodes(zone.nodeSource(), [cs], now);
      const want = new EarliestExpiry(now);
      for (const r of set.list()) want.record(r.type, r.rdata);
      expect(got.earliestAfter).toBe(want.ms);
    }
  });

  it("keeps the stored spelling of an owner, and sends an owner that comes and goes within the changesets as an unchanged tombstone", () => {
    const apex = Name.parse("spell.nodes.test.");
    const upper = apex.child("MiXed");
    const zone = CompactZone.fromRecords([soa(apex, 1), { name: upper, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(1, 2, 3, 4) }]);
    const gone = apex.child("brief");
    const r = { name: gone, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(5, 6, 7, 8) };
    const got = ixfrNodes(
      zone.nodeSource(),
      [
        { deletions: [soa(apex, 1)], additions: [soa(apex, 2), { name: apex.child("mixed"), type: RRType.TXT, class: IN, ttl: 60, rdata: Uint8Array.of(1, 120) }, r] },
        { deletions: [soa(apex, 2), r], additions: [soa(apex, 3)] },
      ],
      NOW,
    );
    const byName = new Map(got.nodes.map((n) => [n.node.name.key, n]));
    expect(byName.get(upper.key)!.node.name.toString()).toBe(`MiXed.${apex}`);
    expect(byName.get(gone.key)).toMatchObject({ unchanged: true, node: { records: [] } });
    expect(got.recordDelta).toBe(1);
  });

  it("refuses a deletion of a record the base does not have (RFC 1995: inconsistent), naming the changeset and the record", () => {
    const apex = Name.parse("missing.nodes.test.");
    const zone = CompactZone.fromRecords([soa(apex, 1)]);
    const missing = { name: apex.child("nothere"), type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(1, 1, 1, 1) };
    let err: unknown;
    try {
      ixfrNodes(zone.nodeSource(), [{ deletions: [soa(apex, 1)], additions: [soa(apex, 2)] }, { deletions: [soa(apex, 2), missing], additions: [soa(apex, 3)] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChangesetMismatch);
    expect(err).toMatchObject({ changeset: 1, record: missing });
    expect((err as Error).message).toMatch(/changeset 1 deletes nothere\.missing\.nodes\.test\. type 1/);
  });

  it("refuses a framing that is not one, cut short, or with a bad label, naming the owner", () => {
    const apex = Name.parse("frame.nodes.test.");
    const good = encodeChangedNodes([{ tree: TREE_MAIN, unchanged: false, node: { name: apex, key: apex.sortKey(), records: [soa(apex, 1)] } }]);
    expect(() => decodeChangedNodes(Uint8Array.of(2))).toThrow(ChangedNodesError);
    expect(() => decodeChangedNodes(good.subarray(0, good.length - 1))).toThrow(/owner 0: cut short/);
    expect(() => decodeChangedNodes(Uint8Array.of(1, 0, 0xc0, 12))).toThrow(/owner 0: a label of 192 octets/);
    expect(() => decodeChangedNodes(Uint8Array.of(1, 8, 0, 0, 0))).toThrow(/unknown flags/);
    expect(decodeChangedNodes(Uint8Array.of(1))).toEqual([]);
  });
});
