/**
 * @module The cron sweep in real D1: old versions' blocks and journal rows go once they are out of the
 * retention window, the served version stays whole, and stale open ingests are abandoned and deleted.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import { applyChangesets } from "./changeset-apply.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { appendChunk, beginIngest, commitIngest } from "./full-ingest.ts";
import { acquireLease } from "./lease.ts";
import { encodeRecordStream } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { soaRdata, syntheticZone } from "./synthetic-zone.ts";
import { sweepVersions } from "./version-sweep.ts";

const OWNER = "svc";

describe("version sweep", () => {
  it("prunes versions outside retention, keeps the served one whole, and clears stale open ingests", async () => {
    const apexText = "sweep.test";
    const apex = Name.parseAbsolute(apexText);
    const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id").bind(apexText).first<{ id: number }>();
    const zone = { id: row!.id, name: apex };
    const budget = new Budget(env.DB);
    await acquireLease(budget, zone.id, OWNER, 600_000);
    const records = syntheticZone({ apex: apexText, serial: 1, count: 2000 });
    const v1 = await beginIngest(budget, zone, OWNER);
    await appendChunk(budget, zone, v1, 0, encodeRecordStream(records), OWNER);
    await commitIngest(budget, zone, v1, OWNER);
    const soa = (s: number): OwnedRecord => ({ name: apex, type: RRType.SOA, class: RRClass.IN, ttl: 3600, rdata: soaRdata(apex, s) });
    for (let s = 1; s <= 3; s++) {
      const add: OwnedRecord = { name: apex.child(`new${s}`), type: RRType.A, class: RRClass.IN, ttl: 60, rdata: Uint8Array.of(10, 9, 9, s) };
      await applyChangesets(budget, zone, OWNER, [
        { fromSerial: s, toSerial: s + 1, deletions: encodeRecordStream([soa(s)]), additions: encodeRecordStream([soa(s + 1), add]) },
      ]);
    }
    // A transfer that died long ago.
    const stale = await beginIngest(budget, zone, OWNER);
    await appendChunk(budget, zone, stale, 0, encodeRecordStream(records.slice(0, 50)), OWNER);

    const count = async (sql: string) => (await env.DB.prepare(sql).bind(zone.id).first<{ n: number }>())!.n;
    const blocksBefore = await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1");
    // Within retention nothing committed goes.
    const early = await sweepVersions(env.DB, { keepVersions: 1, keepMs: 3_600_000 });
    expect(early.abandoned).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1")).toBe(blocksBefore);

    // Four hours later: only the newest version is kept, and the stale ingest is abandoned.
    const later = Date.now() + 4 * 3_600_000;
    const result = await sweepVersions(env.DB, { keepVersions: 1, keepMs: 60_000, now: later });
    expect(result.abandoned).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM ingest_runs WHERE zone_id = ?1")).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1 AND removed_version IS NOT NULL")).toBe(0);
    // Rows shadowed by the IXFRs' copies (same first key, newer version) are gone too: one row per key.
    expect(blocksBefore).toBeGreaterThan(await count("SELECT COUNT(DISTINCT tree || ':' || hex(first_key)) AS n FROM blocks WHERE zone_id = ?1"));
    expect(await count("SELECT COUNT(*) AS n FROM blocks WHERE zone_id = ?1")).toBe(
      await count("SELECT COUNT(DISTINCT tree || ':' || hex(first_key)) AS n FROM blocks WHERE zone_id = ?1"),
    );
    expect(await count("SELECT COUNT(*) AS n FROM changesets WHERE zone_id = ?1")).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM zone_versions WHERE zone_id = ?1")).toBe(1);

    // The served version is intact.
    const store = new D1ZoneStore(env.DB);
    const info = (await store.findZone(apex))!;
    expect(info.serial).toBe(4);
    for (const name of ["new1", "new2", "new3", "h0", "h1999"]) {
      expect((await store.node(info, apex.child(name)))?.records.length, name).toBeGreaterThan(0);
    }
  }, 120_000);
});
