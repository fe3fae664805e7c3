/**
 * @module The zone directory at many zones (issue 19), against real local D1: a lookup and an idle second
 * cost the same D1 statements (and about the same rows read) at 1 zone and at 10,000; the freshness rule
 * (nothing served from a version older than the newest more than a second after its commit) holds with
 * 10,000 zones loaded, for commits, creates, deletes and answerAllow changes; and a flood of names under no
 * zone does not evict hot entries. Statements are counted by a wrapper around the D1 binding itself.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { appendChunk, beginIngest, commitIngest } from "./full-ingest.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { acquireLease } from "./lease.ts";
import { encodeRecordStream } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { syntheticZone } from "./synthetic-zone.ts";
import { ZoneDirectory } from "./zone-directory.ts";

const OWNER = "directory-test";
const MANY = 10_000;

interface Counts {
  statements: number;
  rowsRead: number;
}

/** The D1 binding, counting every statement it runs and the rows D1 says each read (`meta.rows_read`). */
function counting(db: D1Database): { db: D1Queryable; counts: Counts } {
  const counts: Counts = { statements: 0, rowsRead: 0 };
  const instrument = (statement: D1PreparedStatement): D1PreparedStatement => {
    const bind = statement.bind.bind(statement);
    const all = statement.all.bind(statement);
    statement.bind = (...values: unknown[]) => instrument(bind(...values));
    statement.all = (async () => {
      counts.statements++;
      const result = await all();
      counts.rowsRead += result.meta.rows_read ?? 0;
      return result;
    }) as D1PreparedStatement["all"];
    // `first` gives no meta: read through `all` so the rows are counted too.
    statement.first = (async () => (await statement.all()).results[0] ?? null) as D1PreparedStatement["first"];
    return statement;
  };
  return {
    counts,
    db: {
      getBookmark: () => null,
      prepare: (sql: string) => instrument(db.prepare(sql)),
      batch: async <T = unknown>(statements: D1PreparedStatement[]) => {
        counts.statements += statements.length;
        const results = await db.batch<T>(statements);
        for (const r of results) counts.rowsRead += r.meta.rows_read ?? 0;
        return results;
      },
    },
  };
}

async function insertZone(name: string): Promise<ZoneRef> {
  const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id").bind(name).first<{ id: number }>();
  return { id: row!.id, name: Name.parseAbsolute(name) };
}

/** Zones `z1.many.test` … `z<n>.many.test`, in one statement (the triggers log each). */
async function insertMany(from: number, to: number): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT OR IGNORE INTO zones (name, webhook_secret_hash) SELECT 'z' || i || '.many.test', 'x' FROM n`,
  )
    .bind(from, to)
    .run();
}

async function commit(zone: ZoneRef, serial: number): Promise<number> {
  const budget = new Budget(env.DB);
  await acquireLease(budget, zone.id, OWNER, 600_000);
  const version = await beginIngest(budget, zone, OWNER);
  await appendChunk(budget, zone, version, 0, encodeRecordStream(syntheticZone({ apex: zone.name.toString(), serial, count: 5 })), OWNER);
  await commitIngest(budget, zone, version, OWNER);
  return version;
}

/** What one store costs: a cold lookup, the same again, an idle poll a second later. */
async function costs(qname: string): Promise<{ cold: number; warm: number; idle: number; idleRows: number }> {
  let clock = 5_000_000;
  const { db, counts } = counting(env.DB);
  const store = new D1ZoneStore(db, { now: () => clock });
  const name = Name.parse(qname);
  expect(await store.findZone(name)).not.toBeNull();
  const cold = counts.statements;
  expect(await store.findZone(name)).not.toBeNull();
  const warm = counts.statements - cold;
  clock += 1001;
  const before = { ...counts };
  expect(await store.findZone(name)).not.toBeNull();
  return { cold, warm, idle: counts.statements - before.statements, idleRows: counts.rowsRead - before.rowsRead };
}

describe("zone lookups at many zones", () => {
  let hot: ZoneRef;

  beforeAll(async () => {
    hot = await insertZone("hot.test");
    await commit(hot, 1);
  });

  it("a lookup and an idle second cost the same D1 statements at 1 zone and at 10,000", async () => {
    const one = await costs("www.hot.test.");
    await insertMany(1, MANY);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM zones").first<{ n: number }>())!.n).toBeGreaterThan(MANY);
    const many = await costs("www.hot.test.");
    console.log(`findZone at 1 zone: ${JSON.stringify(one)}; at ${MANY + 1} zones: ${JSON.stringify(many)}`);
    // Cold: one poll (the log's end and the deepest zone) and one indexed lookup. Warm: nothing.
    expect(many.cold).toBe(one.cold);
    expect(one.cold).toBe(2);
    expect(many.warm).toBe(0);
    expect(one.warm).toBe(0);
    // Idle: one statement a second, reading a handful of rows, not the zone table.
    expect(many.idle).toBe(one.idle);
    expect(one.idle).toBe(1);
    expect(many.idleRows).toBeLessThanOrEqual(one.idleRows + 2);
    expect(many.idleRows).toBeLessThan(10);
  }, 60_000);

  it("a commit is served within a second, with 10,000 zones loaded; at once after invalidate()", async () => {
    await insertMany(1, MANY); // each test starts from the file's beforeAll state (isolated storage)
    let clock = 6_000_000;
    const store = new D1ZoneStore(env.DB, { now: () => clock });
    const zone = await insertZone("churn.many.test");
    const first = await commit(zone, 1);
    const name = Name.parse("www.churn.many.test.");
    expect((await store.findZone(name))?.version).toBe(first);
    for (let serial = 2; serial <= 4; serial++) {
      const committed = await commit(zone, serial);
      clock += 1000;
      // At most a second behind: still the old version is allowed, never older than the one before.
      expect((await store.findZone(name))?.version).toBe(committed - 1);
      clock += 1;
      const seen = await store.findZone(name);
      expect(seen?.version).toBe(committed);
      expect(seen?.pointerReadAt).toBe(clock);
    }
    // A commit in this isolate (`servedPointersChanged`) is seen by the next query.
    const committed = await commit(zone, 5);
    store.invalidatePointers();
    expect((await store.findZone(name))?.version).toBe(committed);
  }, 60_000);

  it("a zone created, deleted, or restricted is seen within a second", async () => {
    await insertMany(1, MANY);
    let clock = 7_000_000;
    const store = new D1ZoneStore(env.DB, { now: () => clock });
    const tick = async () => {
      clock += 1001;
    };
    const deep = Name.parse("a.b.child.z7.many.test.");
    expect((await store.findZone(deep))?.name.key).toBe("z7.many.test.");
    expect(await store.findZone(Name.parse("www.new-zone.test."))).toBeNull();

    // Created: a child zone deeper than any before (the lookup depth grows), and a zone where none was.
    await insertZone("child.z7.many.test");
    await insertZone("new-zone.test");
    await tick();
    expect((await store.findZone(deep))?.name.key).toBe("child.z7.many.test.");
    expect((await store.findZone(Name.parse("www.new-zone.test.")))?.name.key).toBe("new-zone.test.");

    // answerAllow and model changes (the zone's entry is cached from the lookups above).
    await env.DB.prepare(`UPDATE zones SET answer_allow = '["192.0.2.0/24"]', model = 'hidden' WHERE name = 'z7.many.test'`).run();
    await tick();
    const restricted = await store.findZone(Name.parse("www.z7.many.test."));
    expect(restricted?.answerAllow).toEqual(["192.0.2.0/24"]);
    expect(restricted?.model).toBe("hidden");

    // Deleted: the child's names fall back to the parent; the lone zone's names to nothing.
    await env.DB.prepare("DELETE FROM zones WHERE name IN ('child.z7.many.test', 'new-zone.test')").run();
    await tick();
    expect((await store.findZone(deep))?.name.key).toBe("z7.many.test.");
    expect(await store.findZone(Name.parse("www.new-zone.test."))).toBeNull();
  }, 60_000);

  it("a read in flight across a poll that saw its zone change does not put the old row back", async () => {
    let clock = 9_000_000;
    const zone = await insertZone("race.test");
    await env.DB.prepare("UPDATE zones SET current_version = 1 WHERE id = ?1").bind(zone.id).run();
    // While `hold` is set, a lookup (not a poll) reads its rows, says so (`parked`), then waits for `release`.
    let hold = false;
    let release = () => {};
    let parkedNow = () => {};
    const parked = new Promise<void>((resolve) => (parkedNow = resolve));
    const gated: D1Queryable = {
      getBookmark: () => null,
      batch: <T = unknown>(statements: D1PreparedStatement[]) => env.DB.batch<T>(statements),
      prepare: (sql: string) => {
        const statement = env.DB.prepare(sql);
        if (!sql.includes("WHERE name IN")) return statement;
        const bind = statement.bind.bind(statement);
        statement.bind = (...values: unknown[]) => {
          const bound = bind(...values);
          const all = bound.all.bind(bound);
          bound.all = (async () => {
            const result = await all();
            if (hold) {
              parkedNow();
              await new Promise<void>((resolve) => (release = resolve));
            }
            return result;
          }) as D1PreparedStatement["all"];
          return bound;
        };
        return statement;
      },
    };
    const directory = new ZoneDirectory(new Budget(gated), { now: () => clock });
    expect((await directory.findZone(Name.parse("race.test.")))?.version).toBe(1);
    clock += 1001;
    hold = true;
    const inFlight = directory.findZone(Name.parse("www.race.test.")); // polls, then reads version 1 and waits
    await parked;
    hold = false;
    await env.DB.prepare("UPDATE zones SET current_version = 2 WHERE id = ?1").bind(zone.id).run();
    clock += 1001;
    expect((await directory.findZone(Name.parse("race.test.")))?.version).toBe(2); // this poll drops race.test
    release();
    expect((await inFlight)?.version).toBe(1); // read before the change: its own answer, not cached
    expect((await directory.findZone(Name.parse("www.race.test.")))?.version).toBe(2);
  }, 60_000);

  it("a flood of names under no zone does not evict hot entries, and names under a zone share one entry", async () => {
    await insertMany(1, MANY);
    const clock = 8_000_000;
    const { db, counts } = counting(env.DB);
    const directory = new ZoneDirectory(new Budget(db), { now: () => clock, maxFound: 64, maxAbsent: 64 });
    const hotNames = Array.from({ length: 32 }, (_, i) => Name.parse(`www.z${i + 1}.many.test.`));
    for (const name of hotNames) expect(await directory.findZone(name)).not.toBeNull();
    const warm = counts.statements;
    for (const name of hotNames) await directory.findZone(name);
    expect(counts.statements).toBe(warm);

    // 500 distinct names under no zone: each costs its query, and only the small `absent` cache churns.
    for (let i = 0; i < 500; i++) expect(await directory.findZone(Name.parse(`q${i}.flood${i}.`))).toBeNull();
    expect(counts.statements).toBe(warm + 500);
    expect(directory.sizes.absent).toBeLessThanOrEqual(64);
    const afterFlood = counts.statements;
    for (const name of hotNames) expect(await directory.findZone(name)).not.toBeNull();
    expect(counts.statements).toBe(afterFlood);

    // Random names below the depth of the deepest zone (3 labels) share their suffix's entry: one query.
    for (let i = 0; i < 200; i++) expect(await directory.findZone(Name.parse(`r${i}.x.y.unhosted.example.`))).toBeNull();
    for (let i = 0; i < 200; i++) expect((await directory.findZone(Name.parse(`r${i}.www.z1.many.test.`)))?.name.key).toBe("z1.many.test.");
    expect(counts.statements).toBe(afterFlood + 1);
  }, 60_000);
});
