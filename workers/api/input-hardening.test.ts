/**
 * @module `/api/v1`'s answers to hostile or careless input, in workerd with real D1 (issue 20's smaller
 * gaps): a malformed percent-encoded name in any path is a 400 naming `name` (it was a 500); the NOTIFY
 * webhook answers a wrong token alike for a zone that exists and one that does not; an unknown key is named
 * in `field`; a timer clamp's min may not exceed its max; a JSON body needs `Content-Type: application/json`
 * (415); a primary may not be an unspecified, broadcast, multicast, link-local or cloud metadata address.
 * Nothing here sends a packet: the primaries refused are refused by validation, before any row is written.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

const ADMIN = "test-admin-token";

// Response bodies are checked field by field; a loose type keeps the tables readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Call {
  status: number;
  json: Json;
  text: string;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; contentType?: string | null } = {},
): Promise<Call> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const hasBody = options.body !== undefined;
  const contentType = options.contentType === undefined ? (hasBody ? "application/json" : null) : options.contentType;
  if (contentType !== null) headers["content-type"] = contentType;
  // The path goes to the Worker exactly as written here (no encoding by the test).
  const res = await exports.default.fetch(`http://backstop.test/api/v1${path}`, {
    method,
    headers,
    body: hasBody ? (typeof options.body === "string" ? options.body : JSON.stringify(options.body)) : undefined,
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // empty bodies
  }
  return { status: res.status, json, text, headers: res.headers };
}

const zone = (name: string, extra: Record<string, unknown> = {}) => ({ name, primaries: [{ address: "192.0.2.1" }], ...extra });

describe("a malformed percent-encoded name in the path", () => {
  beforeAll(async () => {
    expect((await call("POST", "/zones", { body: zone("path.example") })).status).toBe(201);
  });

  const BAD = ["%E0%A4%A", "%E0%A4", "%ZZ.example", "path%2Eexample%", "%C3%28.example", "%25"];
  const ROUTES: [string, (name: string) => string, unknown?][] = [
    ["GET", (n) => `/zones/${n}`],
    ["PATCH", (n) => `/zones/${n}`, { notifyAllow: [] }],
    ["DELETE", (n) => `/zones/${n}`],
    ["POST", (n) => `/zones/${n}/refresh`],
    ["POST", (n) => `/zones/${n}/webhook-secret`],
    ["GET", (n) => `/zones/${n}/transfers`],
    ["GET", (n) => `/zones/${n}/export`],
    ["GET", (n) => `/zones/${n}/records`],
    ["DELETE", (n) => `/tsig-keys/${n}`],
  ];

  it.each(ROUTES.flatMap(([method, path, body]) => BAD.map((bad) => [method, path(bad), body] as const)))(
    "%s %s → 400 naming name",
    async (method, path, body) => {
      const res = await call(method, path, { body });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error).toMatchObject({ code: "invalid", field: "name" });
      expect(res.json.error.message).toMatch(/^name: /);
    },
  );

  it.each(BAD)("POST /zones/%s/notify → 400 naming name, with the admin token and with a wrong one", async (bad) => {
    for (const token of [ADMIN, "wrong-token"]) {
      const res = await call("POST", `/zones/${bad}/notify`, { token });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.field).toBe("name");
    }
  });

  it.each([
    ["GET", "/zones/%E0%A4%A", undefined],
    ["POST", "/zones/%E0%A4%A/lease", { owner: "svc", ttlMs: 60_000 }],
    ["PUT", "/zones/%ZZ/timers", { owner: "svc", status: "active", statusDetail: "x" }],
    ["GET", "/zones/%C3%28/versions/current/records", undefined],
  ])("the service's /internal/v1 %s %s → 400 naming zone", async (method, path, body) => {
    const res = await exports.default.fetch(`http://backstop.test/internal/v1${path}`, {
      method,
      headers: { authorization: "Bearer test-internal-token", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json: Json = await res.json();
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(json.error.field).toBe("zone");
  });

  it("a name is decoded once: a well-formed encoding still reaches the zone, an encoded % does not", async () => {
    expect((await call("GET", "/zones/path%2Eexample")).json.name).toBe("path.example");
    expect((await call("GET", "/zones/PATH.Example.")).json.name).toBe("path.example");
    // %2570 decodes once to "%70": decoding it a second time ("p") must not happen.
    expect((await call("GET", "/zones/%2570ath.example")).status).toBe(400);
  });
});

describe("POST /zones/:name/notify with a wrong token", () => {
  let secret = "";
  beforeAll(async () => {
    const created = await call("POST", "/zones", { body: zone("known.example") });
    expect(created.status).toBe(201);
    secret = created.json.webhookSecret;
  });

  it("answers a zone that exists and one that does not alike: same status, same body, same challenge", async () => {
    for (const token of ["guess", "test-internal-token", "A".repeat(43)]) {
      const known = await call("POST", "/zones/known.example/notify", { token });
      const unknown = await call("POST", "/zones/unknown.example/notify", { token });
      expect(known.status).toBe(403);
      expect([unknown.status, unknown.text, unknown.headers.get("www-authenticate")]).toEqual([known.status, known.text, known.headers.get("www-authenticate")]);
      expect(known.json.error.code).toBe("forbidden");
    }
  });

  it("a zone's secret presented for a zone that does not exist gets the same 403", async () => {
    const known = await call("POST", "/zones/known.example/notify", { token: "wrong" });
    const unknown = await call("POST", "/zones/unknown.example/notify", { token: secret });
    expect([unknown.status, unknown.text]).toEqual([known.status, known.text]);
  });

  it("no token: 401 for both; the right secret: 202; the admin token learns that a zone does not exist (404)", async () => {
    expect((await call("POST", "/zones/known.example/notify", { token: null })).status).toBe(401);
    expect((await call("POST", "/zones/unknown.example/notify", { token: null })).status).toBe(401);
    expect((await call("POST", "/zones/known.example/notify", { token: secret })).status).toBe(202);
    expect((await call("POST", "/zones/unknown.example/notify", { token: ADMIN })).status).toBe(404);
  });
});

describe("validation names the field", () => {
  it.each([
    ["POST", "/zones", zone("typo.example", { primaris: [] }), "primaris"],
    ["POST", "/zones", zone("typo.example", { primaries: [{ address: "192.0.2.1", prot: 53 }] }), "primaries.0.prot"],
    ["POST", "/zones", zone("typo.example", { transferAllow: [{ address: "192.0.2.1", key: "k" }] }), "transferAllow.0.key"],
    ["POST", "/tsig-keys", { name: "k", algorithm: "hmac-sha256", secret: "c2VjcmV0", extra: 1 }, "extra"],
    ["POST", "/zones/known.example/refresh", { force: "axfr", forse: true }, "forse"],
  ])("%s %s with an unknown key → 400 naming it", async (method, path, body, field) => {
    if (path.startsWith("/zones/known")) await call("POST", "/zones", { body: zone("known.example") });
    const res = await call(method, path, { body });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field).toBe(field);
    expect(res.json.error.message).toBe(`${field}: unknown field`);
  });

  it("several unknown keys: the first is the field, the message names the others", async () => {
    const res = await call("POST", "/zones", { body: zone("typo.example", { one: 1, two: 2 }) });
    expect([res.status, res.json.error.field]).toEqual([400, "one"]);
    expect(res.json.error.message).toContain("two");
  });

  it.each([
    [{ minRefresh: 7200, maxRefresh: 3600 }, "minRefresh", /7200 is greater than maxRefresh \(3600\)/],
    [{ minRetry: 600, maxRetry: 60 }, "minRetry", /600 is greater than maxRetry \(60\)/],
    [{ minExpire: 2_000_000, maxExpire: 1_000_000 }, "minExpire", /greater than maxExpire/],
    // One side given, the other left at its default (maxRefresh 86400, minExpire 3600).
    [{ minRefresh: 90_000 }, "minRefresh", /90000 is greater than maxRefresh \(86400, the default\)/],
    [{ maxExpire: 1800 }, "maxExpire", /1800 is less than minExpire \(3600, the default\)/],
  ])("POST /zones with clamps %j → 400 naming %s", async (clamps, field, words) => {
    const res = await call("POST", "/zones", { body: zone("clamp.example", clamps) });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field).toBe(field);
    expect(res.json.error.message).toMatch(words);
    expect((await call("GET", "/zones/clamp.example")).status).toBe(404);
  });

  it("min equal to max is accepted; a PATCH is checked against the zone's stored clamps", async () => {
    const created = await call("POST", "/zones", { body: zone("clamp-patch.example", { minRefresh: 600, maxRefresh: 600 }) });
    expect(created.status, created.text).toBe(201);
    const lower = await call("PATCH", "/zones/clamp-patch.example", { body: { maxRefresh: 300 } });
    expect([lower.status, lower.json.error.field]).toEqual([400, "maxRefresh"]);
    expect(lower.json.error.message).toMatch(/300 is less than minRefresh \(600, this zone's current value\)/);
    const higher = await call("PATCH", "/zones/clamp-patch.example", { body: { minRetry: 5000 } });
    expect([higher.status, higher.json.error.field]).toEqual([400, "minRetry"]);
    // Both moved together is fine, and nothing above was stored.
    const both = await call("PATCH", "/zones/clamp-patch.example", { body: { minRefresh: 100, maxRefresh: 300 } });
    expect(both.status, both.text).toBe(200);
    const row = await env.DB.prepare("SELECT min_refresh, max_refresh, min_retry FROM zones WHERE name = 'clamp-patch.example'").first();
    expect(row).toEqual({ min_refresh: 100, max_refresh: 300, min_retry: 10 });
    // A row stored before the check with min > max still takes a PATCH that leaves those clamps alone.
    await env.DB.prepare("UPDATE zones SET min_expire = 9000, max_expire = 4000 WHERE name = 'clamp-patch.example'").run();
    expect((await call("PATCH", "/zones/clamp-patch.example", { body: { notifyAllow: [] } })).status).toBe(200);
    expect((await call("PATCH", "/zones/clamp-patch.example", { body: { maxExpire: 5000 } })).json.error.field).toBe("maxExpire");
  });
});

describe("Content-Type of a JSON body", () => {
  const create = { name: "ctype.example", primaries: [{ address: "192.0.2.1" }] };

  it.each([
    ["none", null],
    ["text/plain", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
    ["application/jsonp", "application/jsonp"],
    ["another charset", "application/json; charset=latin1"],
    ["a parameter JSON has not", "application/json; profile=x"],
  ])("POST /zones with %s → 415 in the error shape", async (_label, contentType) => {
    const res = await call("POST", "/zones", { body: create, contentType });
    expect(res.status, res.text).toBe(415);
    expect(res.json.error.code).toBe("unsupported-media-type");
    expect(res.json.error.message).toMatch(/application\/json/);
    expect((await call("GET", "/zones/ctype.example")).status).toBe(404);
  });

  it("applies to every route that reads a body: PATCH, refresh, TSIG keys", async () => {
    await call("POST", "/zones", { body: zone("ctype-routes.example") });
    expect((await call("PATCH", "/zones/ctype-routes.example", { body: { notifyAllow: [] }, contentType: "text/plain" })).status).toBe(415);
    expect((await call("POST", "/zones/ctype-routes.example/refresh", { body: { force: "axfr" }, contentType: null })).status).toBe(415);
    expect((await call("POST", "/tsig-keys", { body: { name: "k", algorithm: "hmac-sha256", secret: "c2VjcmV0" }, contentType: "text/json" })).status).toBe(415);
  });

  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"'])(
    "accepts %j",
    async (contentType) => {
      const name = `ok-${Math.random().toString(36).slice(2, 10)}.example`;
      const res = await call("POST", "/zones", { body: { ...create, name }, contentType });
      expect(res.status, res.text).toBe(201);
    },
  );

  it("a request without a body needs no Content-Type (refresh, NOTIFY)", async () => {
    await call("POST", "/zones", { body: zone("ctype-empty.example") });
    expect((await call("POST", "/zones/ctype-empty.example/refresh", { contentType: "text/plain" })).status).toBe(202);
    expect((await call("POST", "/zones/ctype-empty.example/notify")).status).toBe(202);
  });
});

describe("a primary's address must be one Backstop may send to", () => {
  it.each([
    ["0.0.0.0", 0, /unspecified/],
    ["::", 0, /unspecified/],
    ["255.255.255.255", 0, /broadcast/],
    ["224.0.0.1", 0, /multicast/],
    ["ff02::1", 0, /multicast/],
    ["169.254.1.1", 0, /link-local/],
    ["fe80::1", 0, /link-local/],
    ["169.254.169.254", 0, /cloud metadata/],
    ["fd00:ec2::254", 0, /cloud metadata/],
    ["::ffff:169.254.169.254", 0, /IPv4-mapped for 169\.254\.169\.254/],
    // the second primary: the field names its index
    ["169.254.169.254", 1, /cloud metadata/],
  ])("%s as primaries[%i] → 400 naming primaries.N.address", async (address, index, words) => {
    const primaries = [{ address: "192.0.2.1" }, { address: "192.0.2.2" }];
    primaries[index] = { address };
    const res = await call("POST", "/zones", { body: zone("forbidden.example", { primaries }) });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field).toBe(`primaries.${index}.address`);
    expect(res.json.error.message).toMatch(words);
    const patched = await call("POST", "/zones", { body: zone("forbidden-patch.example") });
    expect([201, 409]).toContain(patched.status);
    const patch = await call("PATCH", "/zones/forbidden-patch.example", { body: { primaries } });
    expect([patch.status, patch.json.error.field]).toEqual([400, `primaries.${index}.address`]);
    const stored = await env.DB.prepare("SELECT primaries FROM zones WHERE name = 'forbidden-patch.example'").first<{ primaries: string }>();
    expect(stored!.primaries).not.toContain(address);
  });

  it.each(["127.0.0.1", "::1", "10.0.0.53", "192.168.1.1", "172.16.0.1", "fd00::53", "100.64.0.1", "2001:db8::53"])(
    "%s stays allowed (loopback, private, public)",
    async (address) => {
      const name = `allowed-${Math.random().toString(36).slice(2, 10)}.example`;
      const res = await call("POST", "/zones", { body: zone(name, { primaries: [{ address }] }) });
      expect(res.status, res.text).toBe(201);
    },
  );
});
