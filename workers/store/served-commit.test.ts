/**
 * @module Read-your-writes after an IXFR (issue 28, session 11), against real local D1: the isolate whose
 * changesets request committed a version through the overlay hands its answer path the new pointer and the
 * new version's overlay (`D1ZoneStore.committed`), so the next query there reads nothing from D1 (before: a
 * poll of the change log, the zone row and the overlay rows, one after another, on the path from the commit
 * to the first answer). What it serves is what a store reading everything back from D1 serves. When the
 * store does not hold the zone at the version the commit replaced, it drops its pointers as after any commit.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { storedZone } from "./testing/stored-zone.ts";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { applyChangesets } from "./changeset-apply.ts";
import type { ChangesetInput } from "./changeset-apply.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { soaRdata } from "./synthetic-zone.ts";

const OWNER = "served-commit-test";
const IN = RRClass.IN;
const soa = (apex: Name, serial: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata: soaRdata(apex, serial) });
const a = (name: Name, last: number): OwnedRecord => ({ name, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(192, 0, 2, last) });

/** A zone of `owners` A records at h0…, serial 1. */
async function zoneOf(apex: Name, owners: number) {
  const records = [soa(apex, 1), ...Array.from({ length: owners }, (_, i) => a(apex.child(`h${i}`), i & 255))];
  return storedZone(env.DB, apex, records, { owner: OWNER });
}

/** Serial `from` → `from + 1`: a second address at each of `add`, and `drop` removed. */
function changeset(apex: Name, from: number, add: number[], drop: number[]): ChangesetInput {
  return {
    fromSerial: from,
    toSerial: from + 1,
    deletions: encodeRecordStream([soa(apex, from), ...drop.map((i) => a(apex.child(`h${i}`), i & 255))]),
    additions: encodeRecordStream([soa(apex, from + 1), ...add.map((i) => ({ ...a(apex.child(`h${i}`), 200), rdata: Uint8Array.of(198, 18, from, i & 255) }))]),
  };
}

const show = (records: readonly { type: number; rdata: Uint8Array }[] | undefined) => (records ?? []).map((r) => `${r.type}:${[...r.rdata].join(".")}`).sort();

describe("an IXFR's version served by the isolate that committed it (issue 28, session 11)", () => {
  it("answers from the next query on with no D1 read, equal to a store that reads it back, IXFR after IXFR", async () => {
    const apex = Name.parse("ryw.served.test.");
    const zone = await zoneOf(apex, 300);
    const store = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
    expect((await store.findZone(apex))!.version).not.toBeNull();
    for (let round = 1; round <= 3; round++) {
      const add = Array.from({ length: 40 }, (_, k) => (k * 7 + round) % 300);
      const drop = [round * 50 + 3];
      const result = await applyChangesets(new Budget(env.DB), zone, OWNER, [changeset(apex, round, add, drop)]);
      expect(result.served, `round ${round}`).toMatchObject({ version: result.version, serial: round + 1 });
      store.committed(apex, zone.id, result.served!);
      const directoryBefore = store.directory.queries;
      const blocksBefore = store.blockStatements;
      const info = (await store.findZone(apex.child("h1")))!;
      expect(info).toMatchObject({ version: result.version, serial: round + 1 });
      const probes = [...add, ...drop, 1, 2, 299].map((i) => apex.child(`h${i}`));
      const fresh = new D1ZoneStore(env.DB);
      const freshInfo = (await fresh.findZone(apex))!;
      const freshBlocksBefore = fresh.blockStatements;
      for (const name of probes) {
        const mine = await store.node(info, name);
        expect(show(mine?.records), `round ${round}: ${name}`).toEqual(show((await fresh.node(freshInfo, name))?.records));
      }
      expect(show((await store.node(info, apex.child(`h${add[0]!}`)))?.records)).toContain(`${RRType.A}:198.18.${round}.${add[0]! & 255}`);
      expect(show((await store.node(info, apex.child(`h${drop[0]!}`)))?.records)).toEqual([]);
      // From the commit to these answers no directory query (with main's code: the change log and the zone row),
      // and no overlay read: the same block reads as a store reading the version back, less its overlay's.
      expect(store.directory.queries - directoryBefore, `round ${round}`).toBe(0);
      expect(store.blockStatements - blocksBefore, `round ${round}`).toBe(fresh.blockStatements - freshBlocksBefore - 1);
    }
  }, 60_000);

  it("drops its pointers instead when it does not hold the zone at the version the commit replaced", async () => {
    const apex = Name.parse("stale.served.test.");
    const zone = await zoneOf(apex, 50);
    // A store that never read the zone, and one that read it before a commit it was not told of.
    const unseen = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
    await unseen.findZone(Name.parse("other.served.test."));
    const behind = new D1ZoneStore(env.DB, { pointerTtlMs: 60_000 });
    await behind.findZone(apex);
    const first = await applyChangesets(new Budget(env.DB), zone, OWNER, [changeset(apex, 1, [3], [])]);
    const second = await applyChangesets(new Budget(env.DB), zone, OWNER, [changeset(apex, 2, [4], [])]);
    expect(first.served && second.served).toBeTruthy();
    for (const store of [unseen, behind]) {
      store.committed(apex, zone.id, second.served!);
      const before = store.queries;
      const info = (await store.findZone(apex))!;
      expect(info).toMatchObject({ version: second.version, serial: 3 });
      expect(show((await store.node(info, apex.child("h4")))?.records)).toContain(`${RRType.A}:198.18.2.4`);
      expect(show((await store.node(info, apex.child("h3")))?.records)).toContain(`${RRType.A}:198.18.1.3`);
      // It read the change log and the zone row again: the pointers were dropped, not moved.
      expect(store.queries - before).toBeGreaterThan(0);
    }
  }, 60_000);
});
