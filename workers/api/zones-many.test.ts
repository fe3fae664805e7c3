/**
 * @module `/api/v1/zones` at many zones (issue 19), through the Worker's own fetch with real D1: pages with
 * an opaque cursor and totals over the whole filter, every zone exactly once while zones are added and
 * removed between pages, filters that agree with the status the zone view shows, and bulk create / delete
 * (all or nothing, each item validated as `POST /api/v1/zones` validates it, a bad one named by index).
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ZONE_STATUSES } from "../../contract/vocabulary.ts";
import { drizzleOf } from "../db/d1-queryable.ts";
import { shownStatusSql } from "../db/queries/zones.ts";
import { zones } from "../db/schema.ts";
import { shownStatus, type StatusFacts } from "../db/zone-status.ts";

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: "Bearer test-admin-token", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface Page {
  zones: { name: string; status: string; model: string; nextRefresh: string | null }[];
  nextCursor: string | null;
  totals: Record<string, number>;
}

async function page(query: string): Promise<Page> {
  const res = await call("GET", `/api/v1/zones${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

/** Every zone name, following the cursor. */
async function walk(params: string, between?: (pageIndex: number) => Promise<void>): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; ; i++) {
    const p = await page(`?${params}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    names.push(...p.zones.map((z) => z.name));
    cursor = p.nextCursor;
    if (cursor === null) return names;
    await between?.(i);
  }
}

const item = (name: string, extra: Record<string, unknown> = {}) => ({ name, primaries: [{ address: "192.0.2.1" }], ...extra });

async function bulkCreate(names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 1000) {
    const res = await call("POST", "/api/v1/zones/bulk", { create: names.slice(i, i + 1000).map((n) => item(n)) });
    expect(res.status, await res.clone().text()).toBe(201);
  }
}

const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM zones").first<{ n: number }>())!.n;
const range = <T,>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

describe("GET /api/v1/zones", () => {
  it("without parameters: the first 100 zones by name, a cursor, and totals of all", async () => {
    await bulkCreate(range(250, (i) => `p${String(i).padStart(3, "0")}.page.test`));
    const first = await page("");
    expect(first.zones.map((z) => z.name)).toEqual(range(100, (i) => `p${String(i).padStart(3, "0")}.page.test`));
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.totals.total).toBe(250);
    expect(first.totals.pending).toBe(250);
    for (const s of ZONE_STATUSES) expect(first.totals[s]).toEqual(expect.any(Number));
    expect(await walk("limit=1000")).toHaveLength(250);
    const last = await page("?limit=50&prefix=p24");
    expect(last.zones.map((z) => z.name)).toEqual(range(10, (i) => `p24${i}.page.test`));
    expect(last.nextCursor).toBeNull();
    expect(last.totals.total).toBe(10);
  });

  it("every zone exactly once while zones are added and removed between pages", async () => {
    const stable = range(300, (i) => `s${String(i * 10).padStart(5, "0")}.walk.test`);
    await bulkCreate(stable);
    const doomed = range(300, (i) => `s${String(i * 10 + 5).padStart(5, "0")}.walk.test`);
    await bulkCreate(doomed);
    let added = 0;
    const seen = await walk("limit=37&prefix=s", async (i) => {
      // Between pages: names before, inside and after the walk's position come and go.
      const fresh = [`s${String(i * 97 + 3).padStart(5, "0")}.walk.test`, `s${String(2999 - i * 13).padStart(5, "0")}.walk.test`];
      await bulkCreate(fresh.filter((n) => !stable.includes(n) && !doomed.includes(n)));
      added++;
      const gone = doomed.splice(0, 10).concat(doomed.splice(-10, 10));
      const res = await call("POST", "/api/v1/zones/bulk", { delete: gone });
      expect(res.status).toBe(200);
    });
    expect(added).toBeGreaterThan(5);
    expect(new Set(seen).size).toBe(seen.length); // no zone twice
    for (const name of stable) expect(seen).toContain(name); // every zone there throughout, once
    expect([...seen].sort()).toEqual(seen); // in name order
  });

  it("sort=next-refresh pages by the next refresh, then the name, and covers every zone", async () => {
    const names = range(60, (i) => `n${i}.refresh.test`);
    await bulkCreate(names);
    // Some zones planned (20 share one instant), the rest never planned (null: first).
    for (let i = 0; i < 40; i++) {
      await env.DB.prepare("UPDATE zones SET next_refresh_at = ?1 WHERE name = ?2").bind(i < 20 ? 5_000 : 1_000 + i, names[i]!).run();
    }
    const seen: Page["zones"] = [];
    let cursor: string | null = null;
    do {
      const p: Page = await page(`?sort=next-refresh&limit=7&prefix=n${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      seen.push(...p.zones);
      cursor = p.nextCursor;
    } while (cursor !== null);
    expect(seen.map((z) => z.name).sort()).toEqual([...names].sort());
    const keys = seen.map((z) => [z.nextRefresh === null ? -1 : Date.parse(z.nextRefresh), z.name] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
    expect(keys).toEqual(sorted);
  });

  it("filters by model and by the shown status, and the totals agree with the zone view", async () => {
    const now = Date.now();
    await bulkCreate(range(12, (i) => `f${i}.filter.test`));
    await call("POST", "/api/v1/zones/bulk", { create: [item("hidden1.filter.test", { model: "hidden" })] });
    // Stored 'active' but past expiry: shown (and filtered, and counted) as expired.
    await env.DB.prepare("UPDATE zones SET status = 'active', serial = 1, expires_at = ?1 WHERE name IN ('f0.filter.test', 'f1.filter.test')").bind(now - 60_000).run();
    await env.DB.prepare("UPDATE zones SET status = 'active', serial = 1, expires_at = ?1 WHERE name = 'f2.filter.test'").bind(now + 3_600_000).run();
    // 'refreshing' without a live lease: shown as failing.
    await env.DB.prepare("UPDATE zones SET status = 'refreshing', serial = 1, lease_until = ?1 WHERE name = 'f3.filter.test'").bind(now - 1).run();
    const all = await page("?prefix=f&limit=1000");
    expect(all.totals).toMatchObject({ total: 12, expired: 2, active: 1, failing: 1, pending: 8, refreshing: 0, "serial-regressed": 0 });
    for (const status of ["expired", "active", "failing", "pending"]) {
      const filtered = await page(`?prefix=f&status=${status}`);
      expect(filtered.zones.map((z) => z.status)).toEqual(filtered.zones.map(() => status));
      expect(filtered.zones).toHaveLength(all.totals[status]!);
      expect(filtered.totals.total).toBe(all.totals[status]);
    }
    const hidden = await page("?model=hidden&prefix=hidden");
    expect(hidden.zones.map((z) => z.name)).toEqual(["hidden1.filter.test"]);
  });

  it("each zone of a page shows its own last transfer", async () => {
    await bulkCreate(range(3, (i) => `t${i}.last.test`));
    const ids = await env.DB.prepare("SELECT id, name FROM zones WHERE name LIKE '%.last.test' ORDER BY name").all<{ id: number; name: string }>();
    const log = (zoneId: number, kind: string, result: string) =>
      env.DB.prepare("INSERT INTO transfer_log (zone_id, kind, result) VALUES (?1, ?2, ?3)").bind(zoneId, kind, result).run();
    for (const { id } of ids.results) await log(id, "soa", "ok");
    await log(ids.results[0]!.id, "axfr", "failed");
    await log(ids.results[2]!.id, "ixfr", "ok");
    const shown = (await page("?prefix=t&limit=1000")).zones as unknown as { name: string; lastTransfer: { kind: string; result: string } | null }[];
    expect(shown.map((z) => [z.name, z.lastTransfer?.kind, z.lastTransfer?.result])).toEqual([
      ["t0.last.test", "axfr", "failed"],
      ["t1.last.test", "soa", "ok"],
      ["t2.last.test", "ixfr", "ok"],
    ]);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=ten", "limit"],
    ["status=sleeping", "status"],
    ["model=tertiary", "model"],
    ["sort=size", "sort"],
    ["prefix=a%2Fb", "prefix"],
    ["cursor=not-a-cursor", "cursor"],
    ["colour=blue", "colour"],
  ])("?%s is a 400 naming %s", async (query, field) => {
    const res = await call("GET", `/api/v1/zones?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
  });

  it("a cursor is bound to its sort", async () => {
    await bulkCreate(range(3, (i) => `c${i}.cursor.test`));
    const first = await page("?limit=1&prefix=c");
    const res = await call("GET", `/api/v1/zones?limit=1&prefix=c&sort=next-refresh&cursor=${first.nextCursor}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("cursor");
  });
});

describe("the status filter's SQL is shownStatus", () => {
  const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
  const rows: Partial<StatusFacts>[] = [];
  for (const status of ZONE_STATUSES) {
    for (const serial of [null, 5]) {
      for (const expiresAt of [null, NOW - 1, NOW, NOW + 1]) {
        for (const leaseUntil of [null, NOW - 1, NOW, NOW + 1]) rows.push({ status, serial, expiresAt, leaseUntil });
      }
    }
  }
  it(`agrees on ${rows.length} rows, instants at the edges included`, async () => {
    const db = drizzleOf(env.DB);
    const values = rows.map((r, i) => ({
      name: `row${i}.status-sql.test`,
      status: r.status!,
      serial: r.serial ?? null,
      expiresAt: r.expiresAt ?? null,
      leaseUntil: r.leaseUntil ?? null,
      webhookSecretHash: "x",
    }));
    // 14 parameters a row: 5 rows a statement stay under D1's 100.
    for (let i = 0; i < values.length; i += 5) await db.insert(zones).values(values.slice(i, i + 5));
    const got = await db.select({ name: zones.name, shown: shownStatusSql(NOW) }).from(zones);
    const byName = new Map(got.map((g) => [g.name, g.shown]));
    for (const [i, r] of rows.entries()) {
      const facts: StatusFacts = { status: r.status!, statusDetail: "", serial: r.serial ?? null, expiresAt: r.expiresAt ?? null, leaseUntil: r.leaseUntil ?? null };
      expect([i, byName.get(values[i]!.name)]).toEqual([i, shownStatus(facts, NOW).status]);
    }
  });
});

describe("POST /api/v1/zones/bulk", () => {
  it("creates 1,000 zones in one call, and deletes them in another", async () => {
    const before = await count();
    const names = range(1000, (i) => `z${i}.bulk-many.test`);
    const res = await call("POST", "/api/v1/zones/bulk", { create: names.map((n) => item(n, { answerAllow: ["192.0.2.0/24"], minRefresh: 120 })) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ created: 1000 });
    expect(await count()).toBe(before + 1000);
    const one = (await (await call("GET", "/api/v1/zones/z7.bulk-many.test")).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ name: "z7.bulk-many.test", model: "secondary", status: "pending", answerAllow: ["192.0.2.0/24"], primaries: [{ address: "192.0.2.1", port: 53 }] });
    expect(one["timers"]).toMatchObject({ minRefresh: 120, maxRefresh: 86_400 });
    const del = await call("POST", "/api/v1/zones/bulk", { delete: [...names.slice(1), "never-was.bulk-many.test"] });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ deleted: 999 }); // a name that is no zone is not counted
    expect(await (await call("POST", "/api/v1/zones/bulk", { delete: [names[0]] })).json()).toEqual({ deleted: 1 });
    expect(await count()).toBe(before);
  });

  const good = (i: number) => item(`ok${i}.bulk-table.test`);
  it.each<[string, unknown, number, string, number | undefined, string | undefined]>([
    ["a malformed name", { name: "bad name!", primaries: [{ address: "192.0.2.1" }] }, 400, "invalid", 2, "name"],
    ["a metadata address", item("meta.bulk-table.test", { primaries: [{ address: "169.254.169.254" }] }), 400, "invalid", 2, "primaries.0.address"],
    ["a secondary without primaries", { name: "none.bulk-table.test" }, 400, "invalid", 2, "primaries"],
    ["an unknown key", item("unknown.bulk-table.test", { colour: "blue" }), 400, "invalid", 2, "colour"],
    ["min above max", item("clamp.bulk-table.test", { minRefresh: 5000, maxRefresh: 100 }), 400, "invalid", 2, "minRefresh"],
    ["a TSIG key that does not exist", item("key.bulk-table.test", { tsigKey: "no-such-key" }), 400, "unknown-key", 2, "tsigKey"],
    ["the name of item 0 again", good(0), 400, "duplicate", 2, "name"],
    ["a zone that exists", item("exists.bulk-table.test"), 409, "exists", 2, "name"],
    ["not an object", "example.com", 400, "invalid", 2, undefined],
  ])("%s: the item is named, nothing created", async (_what, bad, status, code, index, field) => {
    expect((await call("POST", "/api/v1/zones", item("exists.bulk-table.test"))).status).toBeOneOf([201, 409]);
    const before = await count();
    const res = await call("POST", "/api/v1/zones/bulk", { create: [good(0), good(1), bad, good(3)] });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string; field?: string; index: number } };
    expect(body.error.code).toBe(code);
    expect(body.error.index).toBe(index);
    expect(body.error.field).toBe(field);
    expect(body.error.message).toMatch(/^item 2/);
    expect(await count()).toBe(before);
  });

  it.each<[string, string | undefined, unknown]>([
    ["1,001 items", "create", { create: range(1001, (i) => item(`x${i}.bulk-limit.test`)) }],
    ["an empty list", "create", { create: [] }],
    ["both create and delete", "create", { create: [item("a.bulk-limit.test")], delete: ["b.bulk-limit.test"] }],
    ["neither", "create", {}],
    ["another key", "update", { update: [] }],
  ])("%s is a 400 naming %s", async (_what, field, body) => {
    const res = await call("POST", "/api/v1/zones/bulk", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field?: string } }).error.field).toBe(field);
  });

  it("a bad name to delete is named by index, and nothing is deleted", async () => {
    await bulkCreate(["keep.bulk-del.test"]);
    const res = await call("POST", "/api/v1/zones/bulk", { delete: ["keep.bulk-del.test", "bad name"] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ index: 1, field: "name" });
    expect((await call("GET", "/api/v1/zones/keep.bulk-del.test")).status).toBe(200);
  });

  it("a body not sent as JSON is a 415", async () => {
    const res = await exports.default.fetch("http://backstop.test/api/v1/zones/bulk", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
      body: JSON.stringify({ create: [item("a.bulk-415.test")] }),
    });
    expect(res.status).toBe(415);
  });
});
