/**
 * @module The OpenAPI document of `/api/v1` (issue 24) in workerd: served without a token; every route the
 * app registers under `/api/v1` is in it and nothing else is (a route added without `operation(...)` fails
 * here until it is described); every operation lists its errors; request bodies are the handlers' zod
 * schemas; real responses parse with the strict response schemas the document is built from, so views and
 * document cannot drift apart. The document is also checked by a real OpenAPI 3.1 validator, in Node, against
 * the running Worker (`test/api/openapi.test.ts`: the validator reads its schemas from disk and compiles them
 * to code, neither of which workerd allows).
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { app } from "../index.ts";
import { API_PREFIX } from "./route-policy.ts";
import * as R from "../../contract/api-v1.ts";
import { ZoneCreate } from "./schemas.ts";

const ADMIN = "test-admin-token";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await exports.default.fetch(`http://backstop.test${API_PREFIX}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

let doc: Json;

beforeAll(async () => {
  const res = await call("GET", "/openapi.json", undefined, null);
  expect(res.status).toBe(200);
  doc = res.json;
});

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

/** Every `METHOD /path` the document describes, paths in hono's `:param` form. */
function documented(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) if (METHODS.includes(method)) out.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`);
  }
  return out;
}

/** Every `METHOD /path` the Worker's app routes under `/api/v1` (middleware and the catch-all excluded). */
function registered(): Set<string> {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || !r.path.startsWith(API_PREFIX + "/")) continue;
    out.add(`${r.method} ${r.path.slice(API_PREFIX.length)}`);
  }
  return out;
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, served without a token, with the bearer scheme", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/api/v1" }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("describes every route the app registers under /api/v1, and no other", () => {
    const routes = registered();
    const described = documented();
    // The routes of this branch, at least: a coverage check that finds nothing would pass vacuously.
    expect(routes.size).toBeGreaterThanOrEqual(20);
    expect([...routes].filter((r) => !described.has(r)), "routes missing from the document: describe them with operation(...)").toEqual([]);
    expect([...described].filter((r) => !routes.has(r)), "operations without a route").toEqual([]);
  });

  it("lists the errors of every operation", () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        expect(statuses.some((s) => s.startsWith("2")), `${where}: a success`).toBe(true);
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        if (!isPublic) expect(statuses, where).toEqual(expect.arrayContaining(["401", "403", "429"]));
        if (path.includes("{name}")) expect(statuses, where).toContain("404");
        if (op.requestBody) expect(statuses, where).toEqual(expect.arrayContaining(["400", "415"]));
        for (const s of statuses.filter((x) => /^[45]/.test(x))) {
          expect(op.responses[s].content["application/json"].schema, `${where} ${s}`).toEqual({ $ref: "#/components/schemas/Error" });
        }
        for (const p of path.match(/\{[^}]+\}/g) ?? []) {
          expect(op.parameters.some((x: Json) => x.in === "path" && `{${x.name}}` === p && x.required), `${where}: ${p}`).toBe(true);
        }
      }
    }
  });

  it("takes request bodies and queries from the handlers' zod schemas", () => {
    const create = doc.paths["/zones"].post.requestBody.content["application/json"].schema;
    const fromZod = z.toJSONSchema(ZoneCreate, { io: "input", unrepresentable: "any" }) as Json;
    expect(Object.keys(create.properties).sort()).toEqual(Object.keys(fromZod.properties).sort());
    expect(create.required).toEqual(["name"]);
    expect(create.additionalProperties).toBe(false);
    const list = doc.paths["/zones"].get.parameters.map((p: Json) => `${p.in}:${p.name}`);
    expect(list.sort()).toEqual(["query:cursor", "query:limit", "query:model", "query:prefix", "query:sort", "query:status"]);
    expect(doc.paths["/tokens"].post.requestBody.content["application/json"].schema.properties.scopes.items.enum).toEqual(["read", "write"]);
  });

  it("serves Swagger UI at /docs, pointed at the document", async () => {
    const res = await call("GET", "/docs", undefined, null);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.text).toContain("/api/v1/openapi.json");
    expect(res.text).toContain("SwaggerUIBundle");
  });
});

describe("responses match the schemas the document shows", () => {
  it("zones, keys, tokens and errors, as the handlers answer them", async () => {
    const parse = (schema: z.ZodType, res: { status: number; json: Json; text: string }, status: number) => {
      expect(res.status, res.text).toBe(status);
      const parsed = schema.safeParse(res.json);
      expect(parsed.success ? "ok" : JSON.stringify(parsed.error.issues), res.text).toBe("ok");
    };
    parse(R.TsigKeyCreated, await call("POST", "/tsig-keys", { name: "doc-key", algorithm: "hmac-sha256", secret: "c2VjcmV0" }), 201);
    parse(R.TsigKeyPage, await call("GET", "/tsig-keys"), 200);
    parse(R.TsigKeyView, await call("GET", "/tsig-keys/doc-key"), 200);
    const zone = { name: "doc.test", primaries: [{ address: "192.0.2.1", tsigKey: "doc-key" }], alsoNotify: [{ address: "192.0.2.9" }], maxRecords: 5000 };
    parse(R.ZoneCreated, await call("POST", "/zones", zone), 201);
    parse(R.ZonePage, await call("GET", "/zones"), 200);
    parse(R.ZoneDetail, await call("GET", "/zones/doc.test"), 200);
    parse(R.ZoneView, await call("PATCH", "/zones/doc.test", { minRefresh: 120 }), 200);
    parse(R.ZoneDetail, await call("PUT", "/zones/doc.test", { primaries: zone.primaries }), 200);
    parse(R.ZoneCreated, await call("PUT", "/zones/doc2.test", { primaries: zone.primaries }), 201);
    parse(R.Accepted, await call("POST", "/zones/doc.test/refresh", {}), 202);
    parse(R.Accepted, await call("POST", "/zones/doc.test/notify"), 202);
    parse(R.WebhookSecret, await call("POST", "/zones/doc.test/webhook-secret"), 200);
    parse(R.Transfers, await call("GET", "/zones/doc.test/transfers"), 200);
    parse(R.Records, await call("GET", "/zones/doc.test/records"), 200);
    parse(R.BulkResult, await call("POST", "/zones/bulk", { create: [{ name: "doc3.test", primaries: zone.primaries }] }), 201);
    parse(R.BulkResult, await call("POST", "/zones/bulk", { delete: ["doc3.test"] }), 200);
    parse(R.TokenCreated, await call("POST", "/tokens", { name: "doc-token", scopes: ["read"], expiresAt: "2999-01-01T00:00:00Z" }), 201);
    parse(R.TokenPage, await call("GET", "/tokens"), 200);
    parse(R.TokenView, await call("GET", "/tokens/doc-token"), 200);
    parse(R.ErrorBody, await call("GET", "/zones/missing.test"), 404);
    parse(R.ErrorBody, await call("POST", "/zones", { name: "x.test", primaries: [] }), 400);
    parse(R.ErrorBody, await call("GET", "/zones", undefined, null), 401);
    parse(R.ErrorBody, await call("POST", "/zones/bulk", { create: [{ name: "bad..name" }] }), 400);
  });
});
