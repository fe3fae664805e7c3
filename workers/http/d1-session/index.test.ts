/**
 * @module D1 sessions and bookmarks on `/api/v1` and `/internal/v1`, in workerd with real local D1 (which
 * implements the Sessions API with a single primary): every response carries a bookmark, a client that sends
 * the bookmark of its write back reads that write and gets a bookmark no older, the service's commit answer
 * carries the bookmark its next calls send, and a malformed bookmark is a 400 naming the header.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CommitResult, IngestBegun, ZoneConfigList } from "../../../contract/internal-v1.ts";
import { encodeRecordStream } from "../../store/record-stream.ts";
import { syntheticZone } from "../../store/synthetic-zone.ts";
import { BOOKMARK_HEADER } from "./index.ts";

const ADMIN = "test-admin-token";
const INTERNAL = "test-internal-token";
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

async function call(method: string, path: string, options: { token?: string; bookmark?: string; body?: unknown } = {}): Promise<Response> {
  const binary = options.body instanceof Uint8Array;
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? (path.startsWith("/internal/") ? INTERNAL : ADMIN)}` };
  if (options.bookmark !== undefined) headers[BOOKMARK_HEADER] = options.bookmark;
  if (options.body !== undefined) headers["content-type"] = binary ? "application/octet-stream" : "application/json";
  return exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : binary ? (options.body as Uint8Array) : JSON.stringify(options.body),
  });
}

function bookmarkOf(res: Response): string {
  const b = res.headers.get(BOOKMARK_HEADER);
  expect(b, `${BOOKMARK_HEADER} on ${res.url}`).toMatch(BOOKMARK);
  return b!;
}

describe("D1 sessions (x-d1-bookmark)", () => {
  it.each([
    ["GET", "/api/v1/zones"],
    ["GET", "/api/v1/tsig-keys"],
    ["GET", "/internal/v1/zones"],
    ["GET", "/internal/v1/signals"],
  ])("%s %s answers with a bookmark", async (method, path) => {
    const res = await call(method, path);
    expect(res.status).toBe(200);
    bookmarkOf(res);
  });

  it.each([
    ["not a bookmark", "latest"],
    ["too short", "00000000-00000001-00000000"],
    ["a tail one digit long", "00000000-00000001-00000000-000000000000000000000000000000000"],
    ["not hex", "0000000g-00000001-00000000-00000000000000000000000000000000"],
    ["a constraint, not a bookmark", "first-primary"],
    // Two headers of one name arrive joined by ", " (RFC 9110 §5.3).
    ["two bookmarks", "00000000-00000001-00000000-00000000000000000000000000000000, 00000000-00000002-00000000-00000000000000000000000000000000"],
  ])("refuses %s with a 400 naming the header, on both APIs", async (_what, bookmark) => {
    for (const path of ["/api/v1/zones", "/internal/v1/zones"]) {
      const res = await call("GET", path, { bookmark });
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid", field: BOOKMARK_HEADER } });
    }
  });

  it("a client that sends back its write's bookmark reads the write, and the bookmark never goes backwards", async () => {
    const created = await call("POST", "/api/v1/zones", { body: { name: "session.test", primaries: [{ address: "192.0.2.1" }] } });
    expect(created.status).toBe(201);
    const written = bookmarkOf(created);

    const read = await call("GET", "/api/v1/zones/session.test", { bookmark: written });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ name: "session.test", status: "pending" });
    expect(bookmarkOf(read) >= written).toBe(true);

    // An error answer still carries the session's bookmark.
    const missing = await call("GET", "/api/v1/zones/absent.test", { bookmark: written });
    expect(missing.status).toBe(404);
    expect(bookmarkOf(missing) >= written).toBe(true);
  });

  it("the service's commit answers with a bookmark, and a read that sends it sees the committed version", async () => {
    expect((await call("POST", "/api/v1/zones", { body: { name: "commit.test", primaries: [{ address: "192.0.2.1" }] } })).status).toBe(201);
    let bookmark = bookmarkOf(await call("POST", "/internal/v1/zones/commit.test/lease", { body: { owner: "svc", ttlMs: 60_000 } }));
    const begun = await call("POST", "/internal/v1/zones/commit.test/ingest", { body: { owner: "svc" }, bookmark });
    const { version } = IngestBegun.parse(await begun.json());
    bookmark = bookmarkOf(begun);
    const records = syntheticZone({ apex: "commit.test", serial: 7, count: 50 });
    const chunk = await call("PUT", `/internal/v1/zones/commit.test/ingest/${version}/chunks/0?owner=svc`, { body: encodeRecordStream(records), bookmark });
    expect(chunk.status).toBe(200);
    bookmark = bookmarkOf(chunk);
    const commit = await call("POST", `/internal/v1/zones/commit.test/ingest/${version}/commit`, { body: { owner: "svc", serial: 7 }, bookmark });
    expect(CommitResult.parse(await commit.json()).serial).toBe(7);
    const committed = bookmarkOf(commit);
    expect(committed > bookmark).toBe(true);

    const after = await call("GET", "/internal/v1/zones/commit.test", { bookmark: committed });
    const zone = ZoneConfigList.parse(await after.json()).zones[0]!;
    expect([zone.currentVersion, zone.serial]).toEqual([version, 7]);
    expect(bookmarkOf(after) >= committed).toBe(true);
  });
});

describe("D1 rows read by the sessions (issue 19: idle cost), in /internal/v1/answer-stats", () => {
  const stats = async () => (await (await call("GET", "/internal/v1/answer-stats")).json()) as { sessions: Record<"internal" | "api", { statements: number; rowsRead: number; unmetered: number }> };

  it("counts the rows the service's feed poll read, under internal and not api, and the feed reads more rows when more zones changed", async () => {
    const before = await stats();
    expect((await call("GET", "/internal/v1/zones?since=0&limit=10")).status).toBe(200);
    const once = await stats();
    // The feed is one batch of three statements (zones, deletions, bounds): each counted, rows from D1's meta.
    expect(once.sessions.internal.statements - before.sessions.internal.statements).toBe(3);
    const emptyRows = once.sessions.internal.rowsRead - before.sessions.internal.rowsRead;
    expect(once.sessions.api).toEqual(before.sessions.api);

    for (let i = 0; i < 5; i++) expect((await call("POST", "/api/v1/zones", { body: { name: `metered${i}.test`, primaries: [{ address: "192.0.2.1" }] } })).status).toBe(201);
    const afterCreates = await stats();
    expect(afterCreates.sessions.api.statements).toBeGreaterThan(once.sessions.api.statements);
    expect((await call("GET", "/internal/v1/zones?since=0&limit=10")).status).toBe(200);
    const twice = await stats();
    expect(twice.sessions.internal.rowsRead - afterCreates.sessions.internal.rowsRead).toBeGreaterThan(emptyRows);
  });
});
