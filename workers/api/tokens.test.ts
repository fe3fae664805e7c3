/**
 * @module Scoped API tokens (issue 24) in workerd with real D1: the scope table (every `/api/v1` route ×
 * admin, read, read+write, zone-limited, expired and revoked tokens), the zone list filtered to a
 * zone-limited token, a revoked token refused by the next request, the token shown once and never listed,
 * and the transfer log naming the token that asked for the refresh.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

const ADMIN = "test-admin-token";
const INTERNAL = "test-internal-token";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: Json; text: string }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await exports.default.fetch(`http://backstop.test${path.startsWith("/internal") ? "" : "/api/v1"}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // empty bodies, zone files
  }
  return { status: res.status, json, text };
}

const primaries = [{ address: "192.0.2.1" }];

async function ensureZone(name: string): Promise<void> {
  const res = await call("PUT", `/zones/${name}`, ADMIN, { primaries });
  expect([200, 201]).toContain(res.status);
}

async function newToken(body: Record<string, unknown>): Promise<string> {
  const res = await call("POST", "/tokens", ADMIN, body);
  expect(res.status, res.text).toBe(201);
  return res.json.token as string;
}

/** The principals of the table; filled in `beforeAll`. */
const tokens: Record<string, string> = { admin: ADMIN };
const PRINCIPALS = ["admin", "read", "readWrite", "zoned", "expired", "revoked"] as const;
type Who = (typeof PRINCIPALS)[number];

/**
 * One route. `pass` is the status the handler answers once auth lets the request through (a body that the
 * handler refuses with 400 keeps the write routes from changing anything); the other columns follow from
 * the rule: `admin` is the only one on admin routes, `read` passes only GET/HEAD, `zoned` (read+write on
 * own.test and del.test) gets 404 for other.test and 403 on routes that name no zone but the list,
 * `expired` and `revoked` are 401 everywhere (but for the webhook's one 403, see `expected`).
 */
interface Row {
  method: string;
  path: string;
  body?: unknown;
  pass: number;
  adminOnly?: boolean;
  /** The zone the path names, if any. */
  zone?: "own.test" | "other.test" | "del.test";
  /** Routes without a zone that a zone-limited token may use (their answer is filtered). */
  zoneFiltered?: boolean;
  /** Run before each call (a DELETE needs its zone back). */
  before?: () => Promise<void>;
}

const ROWS: Row[] = [
  { method: "GET", path: "/zones", pass: 200, zoneFiltered: true },
  { method: "POST", path: "/zones", body: { name: "" }, pass: 400 },
  { method: "POST", path: "/zones/bulk", body: {}, pass: 400 },
  { method: "GET", path: "/zones/own.test", pass: 200, zone: "own.test" },
  { method: "GET", path: "/zones/other.test", pass: 200, zone: "other.test" },
  { method: "PUT", path: "/zones/own.test", body: { model: "bogus" }, pass: 400, zone: "own.test" },
  { method: "PUT", path: "/zones/other.test", body: { model: "bogus" }, pass: 400, zone: "other.test" },
  { method: "PATCH", path: "/zones/own.test", body: { model: "bogus" }, pass: 400, zone: "own.test" },
  { method: "PATCH", path: "/zones/other.test", body: { model: "bogus" }, pass: 400, zone: "other.test" },
  { method: "DELETE", path: "/zones/del.test", pass: 204, zone: "del.test", before: () => ensureZone("del.test") },
  { method: "DELETE", path: "/zones/other.test", body: undefined, pass: 204, zone: "other.test", before: () => ensureZone("other.test") },
  { method: "POST", path: "/zones/own.test/refresh", pass: 202, zone: "own.test" },
  { method: "POST", path: "/zones/other.test/refresh", pass: 202, zone: "other.test", before: () => ensureZone("other.test") },
  { method: "POST", path: "/zones/own.test/notify", pass: 202, zone: "own.test" },
  { method: "POST", path: "/zones/other.test/notify", pass: 202, zone: "other.test", before: () => ensureZone("other.test") },
  { method: "POST", path: "/zones/own.test/webhook-secret", pass: 200, zone: "own.test" },
  { method: "GET", path: "/zones/own.test/transfers", pass: 200, zone: "own.test" },
  { method: "GET", path: "/zones/other.test/transfers", pass: 200, zone: "other.test", before: () => ensureZone("other.test") },
  { method: "GET", path: "/zones/own.test/export", pass: 409, zone: "own.test" },
  { method: "GET", path: "/zones/own.test/records", pass: 200, zone: "own.test" },
  { method: "GET", path: "/tsig-keys", pass: 200, adminOnly: true },
  { method: "POST", path: "/tsig-keys", body: {}, pass: 400, adminOnly: true },
  { method: "DELETE", path: "/tsig-keys/no-such-key", pass: 404, adminOnly: true },
  { method: "GET", path: "/tokens", pass: 200, adminOnly: true },
  { method: "POST", path: "/tokens", body: {}, pass: 400, adminOnly: true },
  { method: "GET", path: "/tokens/no-such-token", pass: 404, adminOnly: true },
  { method: "DELETE", path: "/tokens/no-such-token", pass: 404, adminOnly: true },
];

function expected(row: Row, who: Who): number {
  // The NOTIFY webhook answers every token that opens nothing with one 403, whether it is a revoked API
  // token, a mistyped webhook secret or a guess (`webhookAuth`); an expired token is still known: 401.
  if (who === "revoked" && row.path.endsWith("/notify")) return 403;
  if (who === "expired" || who === "revoked") return 401;
  if (who === "admin") return row.pass;
  if (row.adminOnly) return 403;
  if (who === "zoned") {
    if (row.zone === "other.test") return 404;
    if (row.zone === undefined && !row.zoneFiltered) return 403;
  }
  const write = row.method !== "GET" && row.method !== "HEAD";
  if (write && who === "read") return 403;
  return row.pass;
}

beforeAll(async () => {
  for (const zone of ["own.test", "other.test", "del.test"]) await ensureZone(zone);
  tokens.read = await newToken({ name: "table-read", scopes: ["read"] });
  tokens.readWrite = await newToken({ name: "table-rw", scopes: ["read", "write"] });
  tokens.zoned = await newToken({ name: "table-zoned", scopes: ["read", "write"], zones: ["own.test", "Del.Test."] });
  tokens.expired = await newToken({ name: "table-expired", scopes: ["read", "write"], expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  // Its expiry passes: the row as a token an hour old would have it.
  await env.DB.prepare("UPDATE api_tokens SET expires_at = ?1 WHERE name = 'table-expired'").bind(Date.now() - 1).run();
  tokens.revoked = await newToken({ name: "table-revoked", scopes: ["read", "write"] });
  expect((await call("DELETE", "/tokens/table-revoked", ADMIN)).status).toBe(204);
});

describe("the scope table: every route × admin, read, read+write, zone-limited, expired, revoked", () => {
  for (const row of ROWS) {
    it(`${row.method} ${row.path}`, async () => {
      const got: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const who of PRINCIPALS) {
        await row.before?.();
        const res = await call(row.method, row.path, tokens[who]!, row.body);
        got[who] = res.status;
        want[who] = expected(row, who);
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          expect(res.json.error.code, `${who}: ${res.text}`).toBeTypeOf("string");
        }
      }
      expect(got).toEqual(want);
    });
  }
});

describe("scoped tokens", () => {
  it("a zone-limited token lists only its zones, and a zone outside them answers as one that does not exist", async () => {
    await ensureZone("del.test");
    const res = await call("GET", "/zones", tokens.zoned!);
    expect(res.status).toBe(200);
    expect(res.json.zones.map((z: Json) => z.name).sort()).toEqual(["del.test", "own.test"]);
    expect(res.json.totals.total).toBe(2);
    const outside = await call("GET", "/zones/other.test", tokens.zoned!);
    const missing = await call("GET", "/zones/nowhere.test", tokens.zoned!);
    expect([outside.status, missing.status]).toEqual([404, 404]);
    expect(outside.json.error.message.replace("other.test", "X")).toBe(missing.json.error.message.replace("nowhere.test", "X"));
    // Creating a zone of its own list through PUT is allowed; another is not.
    expect((await call("PUT", "/zones/nowhere.test", tokens.zoned!, { primaries })).status).toBe(404);
  });

  it("a revoked token answers 401 at once, and an expired one 401 saying so", async () => {
    const token = await newToken({ name: "short-lived", scopes: ["read"] });
    expect((await call("GET", "/zones", token)).status).toBe(200);
    expect((await call("DELETE", "/tokens/short-lived", ADMIN)).status).toBe(204);
    const after = await call("GET", "/zones", token);
    expect([after.status, after.json.error.code]).toEqual([401, "invalid-token"]);
    const expired = await call("GET", "/zones", tokens.expired!);
    expect([expired.status, expired.json.error.message]).toEqual([401, expect.stringMatching(/table-expired expired at/)]);
    expect((await call("DELETE", "/tokens/short-lived", ADMIN)).status).toBe(404);
  });

  it("shows the token once, stores only its hash, never lists it", async () => {
    const created = await call("POST", "/tokens", ADMIN, { name: "shown-once", scopes: ["read", "write"], zones: ["own.test"] });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    expect(token).toMatch(/^bst_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({ name: "shown-once", scopes: ["read", "write"], zones: ["own.test"], expiresAt: null });
    const stored = await env.DB.prepare("SELECT * FROM api_tokens WHERE name = 'shown-once'").first<Record<string, unknown>>();
    expect(JSON.stringify(stored)).not.toContain(token.slice(4));
    const listed = await call("GET", "/tokens", ADMIN);
    const one = await call("GET", "/tokens/shown-once", ADMIN);
    for (const text of [listed.text, one.text]) {
      expect(text).not.toContain(token.slice(4));
      expect(text).not.toContain(stored!.token_hash as string);
    }
    expect(one.json).toEqual({ ...created.json, token: undefined });
    expect((await call("POST", "/tokens", ADMIN, { name: "shown-once", scopes: ["read"] })).status).toBe(409);
  });

  it.each([
    [{ name: "x", scopes: ["write"] }, "scopes"],
    [{ name: "x", scopes: [] }, "scopes"],
    [{ name: "x", scopes: ["read", "read"] }, "scopes"],
    [{ name: "admin", scopes: ["read"] }, "name"],
    [{ name: "has space", scopes: ["read"] }, "name"],
    [{ name: "x", scopes: ["read"], zones: ["bad..name"] }, "zones.0"],
    [{ name: "x", scopes: ["read"], expiresAt: "2000-01-01T00:00:00Z" }, "expiresAt"],
    [{ name: "x", scopes: ["read"], expiresAt: "tomorrow" }, "expiresAt"],
    [{ name: "x", scopes: ["read"], admin: true }, "admin"],
  ])("refuses a bad token body %j with a 400 naming %s", async (body, field) => {
    const res = await call("POST", "/tokens", ADMIN, body);
    expect([res.status, res.json.error.field]).toEqual([400, field]);
  });

  it("pages the token list by name", async () => {
    for (const n of ["page-a", "page-b", "page-c"]) await newToken({ name: n, scopes: ["read"] });
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { json: Json } = await call("GET", `/tokens?limit=2${cursor ? `&cursor=${cursor}` : ""}`, ADMIN);
      names.push(...res.json.tokens.map((t: Json) => t.name));
      cursor = res.json.nextCursor;
    } while (cursor);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c"]));
  });

  it("the transfer log names the token that asked for the refresh, and `service` otherwise", async () => {
    const token = await newToken({ name: "ci-refresher", scopes: ["read", "write"], zones: ["own.test"] });
    const log = (entry: Record<string, unknown>) => call("POST", "/internal/v1/zones/own.test/transfers", INTERNAL, entry);
    // Nothing pending: the service's own timers.
    await env.DB.prepare("UPDATE zones SET refresh_requested_at = NULL, refresh_requested_by = NULL WHERE name = 'own.test'").run();
    expect((await log({ kind: "soa", result: "up-to-date" })).status).toBe(201);
    expect((await call("POST", "/zones/own.test/refresh", token)).status).toBe(202);
    expect((await log({ kind: "axfr", result: "ok", records: 3 })).status).toBe(201);
    // A transfer out names no actor.
    expect((await log({ kind: "axfr", result: "ok", direction: "out", primary: "198.51.100.9" })).status).toBe(201);
    const transfers = (await call("GET", "/zones/own.test/transfers", ADMIN)).json.transfers as Json[];
    expect(transfers.slice(0, 3).map((t) => [t.kind, t.direction, t.actor])).toEqual([
      ["axfr", "out", null],
      ["axfr", "in", "ci-refresher"],
      ["soa", "in", "service"],
    ]);
  });
});
