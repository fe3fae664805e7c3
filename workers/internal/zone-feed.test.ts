/**
 * @module The zone change feed (`GET /internal/v1/zones?since=`, issue 19) in workerd with real D1 and the
 * real triggers: the service's poll sees every write of a zone row once it happened, every deletion, a
 * deletion followed by a re-creation in the right order, every zone exactly once when paging, and a
 * `resync` when the deletion log no longer reaches back to its cursor.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ZoneConfigChanges } from "../../contract/internal-v1.ts";

const INTERNAL = "test-internal-token";
const ADMIN = "test-admin-token";

async function call(method: string, path: string, body?: unknown, token = INTERNAL): Promise<Response> {
  return exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function feed(since: number, deletes?: number, limit?: number): Promise<ZoneConfigChanges> {
  const q = new URLSearchParams({ since: String(since) });
  if (deletes !== undefined) q.set("deletes", String(deletes));
  if (limit !== undefined) q.set("limit", String(limit));
  const res = await call("GET", `/internal/v1/zones?${q}`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return ZoneConfigChanges.parse(JSON.parse(text));
}

/** Reads the feed to its end from `cursor`, as the service does; returns what it saw, in order. */
async function drain(cursor: { since: number; deletes: number }, limit?: number): Promise<{ events: string[]; cursor: { since: number; deletes: number } }> {
  const events: string[] = [];
  for (let pages = 0; pages < 1000; pages++) {
    const page = await feed(cursor.since, cursor.deletes, limit);
    expect(page.resync).toBe(false);
    for (const name of page.deleted) events.push(`-${name}`);
    for (const z of page.zones) events.push(`+${z.name}`);
    cursor = page.cursor;
    if (!page.more) return { events, cursor };
  }
  throw new Error("the feed did not end");
}

async function create(name: string): Promise<void> {
  const res = await call("POST", "/api/v1/zones", { name, primaries: [{ address: "127.0.0.1", port: 5300 }] }, ADMIN);
  expect(res.status, await res.text()).toBe(201);
}

async function remove(name: string): Promise<void> {
  const res = await call("DELETE", `/api/v1/zones/${name}`, undefined, ADMIN);
  expect(res.status, await res.text()).toBeLessThan(300);
}

/** The end of the feed now: a first read's cursors, after draining its zones. */
async function end(): Promise<{ since: number; deletes: number }> {
  const first = await feed(0);
  return (await drain(first.cursor)).cursor;
}

describe("the zone change feed", () => {
  it("reports a created zone, a settings change, a refresh request and a deletion, each once; not a lease", async () => {
    let cursor = await end();
    await create("feed-a.test");
    let seen = await drain(cursor);
    expect(seen.events).toEqual(["+feed-a.test"]);
    cursor = seen.cursor;
    expect((await drain(cursor)).events, "nothing new: nothing reported").toEqual([]);

    const patched = await call("PATCH", "/api/v1/zones/feed-a.test", { notifyAllow: ["127.0.0.2/32"] }, ADMIN);
    expect(patched.status, await patched.text()).toBe(200);
    seen = await drain(cursor);
    expect(seen.events).toEqual(["+feed-a.test"]);
    cursor = seen.cursor;

    // The refresh lease is not in the feed (each refresh takes and gives it back: 4 rows written each time
    // for nothing another instance needs); a refresh request is (the service must act on it).
    const lease = await call("POST", "/internal/v1/zones/feed-a.test/lease", { owner: "svc-a", ttlMs: 60_000 });
    expect(lease.status, await lease.text()).toBe(200);
    expect((await drain(cursor)).events).toEqual([]);
    const refresh = await call("POST", "/api/v1/zones/feed-a.test/refresh", {}, ADMIN);
    expect(refresh.status, await refresh.text()).toBeLessThan(300);
    seen = await drain(cursor);
    expect(seen.events).toEqual(["+feed-a.test"]);
    cursor = seen.cursor;

    await remove("feed-a.test");
    seen = await drain(cursor);
    expect(seen.events).toEqual(["-feed-a.test"]);
  });

  it("reports a zone deleted and created again as a deletion before the zone", async () => {
    const cursor = await end();
    await create("feed-b.test");
    await remove("feed-b.test");
    await create("feed-b.test");
    expect((await drain(cursor)).events).toEqual(["-feed-b.test", "+feed-b.test"]);
  });

  it("never hands out a number twice, even when the zone holding the newest one is deleted", async () => {
    let cursor = await end();
    await create("feed-c.test");
    cursor = (await drain(cursor)).cursor;
    await remove("feed-c.test"); // held the highest change_seq
    await create("feed-d.test");
    expect((await drain(cursor)).events).toEqual(["-feed-c.test", "+feed-d.test"]);
  });

  it("pages: every zone exactly once, while zones are added and removed between pages", async () => {
    const cursor = await end();
    const names = Array.from({ length: 12 }, (_, i) => `feed-page-${i}.test`);
    for (const n of names) await create(n);
    const events: string[] = [];
    let c = cursor;
    for (let pages = 0; pages < 100; pages++) {
      const page = await feed(c.since, c.deletes, 5);
      for (const name of page.deleted) events.push(`-${name}`);
      for (const z of page.zones) events.push(`+${z.name}`);
      c = page.cursor;
      if (pages === 0) {
        await remove("feed-page-11.test"); // not yet read
        await create("feed-page-late.test");
      }
      if (!page.more) break;
    }
    const created = events.filter((e) => e.startsWith("+"));
    expect(new Set(created).size, "no zone twice").toBe(created.length);
    expect(created).toEqual([...names.slice(0, 11).map((n) => `+${n}`), "+feed-page-late.test"]);
    expect(events).toContain("-feed-page-11.test");
  });

  it("asks for a resync when the deletion log no longer reaches back to the cursor", async () => {
    const cursor = await end();
    await create("feed-e.test");
    await remove("feed-e.test");
    // The pruning trigger keeps the newest 65,536 rows; drop the older ones here as it would.
    await env.DB.prepare("DELETE FROM zone_changes WHERE seq <= ?1").bind(cursor.deletes + 1).run();
    const page = await feed(cursor.since, cursor.deletes);
    expect(page).toMatchObject({ resync: true, more: true, zones: [], deleted: [] });
  });

  it("carries each zone's answerAllow, and reports a change of it (issue 27: the front's replica answers by it)", async () => {
    const start = await end();
    await create("feed-allow.test");
    const patched = await call("PATCH", "/api/v1/zones/feed-allow.test", { answerAllow: ["192.0.2.0/24"] }, ADMIN);
    expect(patched.status, await patched.text()).toBe(200);
    const page = await feed(start.since, start.deletes);
    const zone = page.zones.find((z) => z.name === "feed-allow.test");
    expect(zone?.answerAllow).toEqual(["192.0.2.0/24"]);
  });

  it("gives a catalog zone the answerAllow no client is in, so the front's replica never answers it publicly", async () => {
    const start = await end();
    const res = await call("POST", "/api/v1/zones", { name: "feed-cat.test", primaries: [{ address: "127.0.0.1", port: 5300 }], catalog: true }, ADMIN);
    expect(res.status, await res.text()).toBe(201);
    await create("feed-plain.test");
    const page = await feed(start.since, start.deletes);
    expect(page.zones.find((z) => z.name === "feed-cat.test")?.answerAllow).toEqual(["0.0.0.0/32", "::/128"]);
    expect(page.zones.find((z) => z.name === "feed-plain.test")?.answerAllow).toEqual([]);
  });

  it("refuses a cursor that is not a number, naming it", async () => {
    const res = await call("GET", "/internal/v1/zones?since=x");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("since");
    const big = await call("GET", "/internal/v1/zones?since=0&limit=5000");
    expect(big.status).toBe(400);
  });
});

describe("the feed's cost when nothing changed (issue 19: idle cost)", () => {
  const rowsRead = async () => ((await (await call("GET", "/internal/v1/answer-stats")).json()) as { sessions: { internal: { rowsRead: number } } }).sessions.internal.rowsRead;
  /** D1 rows one poll at the feed's end reads (the service's and each replica's steady poll). */
  const idlePoll = async (cursor: { since: number; deletes: number }) => {
    const before = await rowsRead();
    const page = await feed(cursor.since, cursor.deletes);
    expect(page.zones).toEqual([]);
    return (await rowsRead()) - before;
  };

  it("reads the same rows with 400 more zones (and their change-log rows) as before them", async () => {
    const few = await idlePoll(await end());
    for (let i = 0; i < 400; i += 100) {
      const create = Array.from({ length: 100 }, (_, k) => ({ name: `idle${i + k}.feed.test`, primaries: [{ address: "127.0.0.1", port: 5300 }] }));
      const res = await call("POST", "/api/v1/zones/bulk", { create }, ADMIN);
      expect(res.status, await res.text()).toBe(201);
    }
    const many = await idlePoll(await end());
    // A poll that scanned the change log (one row per create) would read 400 more.
    expect(many).toBeLessThanOrEqual(few + 2);
    expect(many).toBeLessThan(20);
  });
});

describe("a zone deleted and created again under its name is another zone", () => {
  it("refuses its lease to an attempt planned for the old one (zoneId), and gives it to the new one", async () => {
    const cursor = await end();
    await create("again.test");
    const first = (await drain(cursor)).cursor;
    const oldId = (await feed(cursor.since, cursor.deletes)).zones.find((z) => z.name === "again.test")!.id!;
    await remove("again.test");
    await create("again.test");
    const page = await feed(first.since, first.deletes);
    const newId = page.zones.find((z) => z.name === "again.test")!.id!;
    expect(page.deleted).toContain("again.test");
    expect(newId).not.toBe(oldId);
    const stale = await call("POST", "/internal/v1/zones/again.test/lease", { owner: "svc-a", ttlMs: 60_000, zoneId: oldId });
    expect(stale.status).toBe(404);
    expect(await stale.text()).toMatch(/deleted and created again/);
    const fresh = await call("POST", "/internal/v1/zones/again.test/lease", { owner: "svc-a", ttlMs: 60_000, zoneId: newId });
    expect(fresh.status, await fresh.text()).toBe(200);
  });
});
