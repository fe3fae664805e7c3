/**
 * @module The bearer-auth middleware on a small hono app in workerd: the refusals keep the APIs' error
 * shape and statuses (401 with hono's `WWW-Authenticate` challenge, 403, 503), the principal the token
 * resolved to reaches the handler, a route's own credential is tried after the Worker's tokens, and the
 * DoH path's `principalOf` resolves the same principals.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Env } from "../../env.d.ts";
import { errorResponse } from "../errors/index.ts";
import { adminOnly, bearerAuth, internalOnly, principalOf, type AuthEnv } from "./index.ts";

const env = { ADMIN_TOKEN: "admin-token", INTERNAL_TOKEN: "internal-token" } as Env;

function appWith(auth: ReturnType<typeof bearerAuth>) {
  const app = new Hono<AuthEnv>();
  // On the route itself, so that the hook sees its parameters (as the NOTIFY webhook's does).
  app.get("/:zone", auth, (c) => c.json(c.var.principal));
  app.onError((err, c) => errorResponse(c, err));
  return app;
}

const admin = appWith(bearerAuth({ needs: "ADMIN_TOKEN", allow: adminOnly, asks: "admin token" }));

async function get(app: Hono<AuthEnv>, authorization: string | null, bindings: Env = env) {
  const res = await app.request("/example.org", { headers: authorization === null ? {} : { authorization } }, bindings);
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe("bearerAuth", () => {
  it.each([
    ["no header", null, 401, "unauthorized"],
    ["another scheme", "Basic YWRtaW46YWRtaW4=", 401, "unauthorized"],
    ["a bearer header without a token", "Bearer", 401, "unauthorized"],
    ["a wrong token", "Bearer wrong", 403, "forbidden"],
    ["a token of another principal", "Bearer internal-token", 403, "forbidden"],
  ])("%s: %i %s, in the error shape", async (_label, authorization, status, code) => {
    const res = await get(admin, authorization);
    expect([res.status, res.body.error?.code]).toEqual([status, code]);
    expect(res.body.error?.message).toBeTypeOf("string");
    if (status === 401) expect(res.challenge).toMatch(/^Bearer /);
  });

  it("puts the principal on the context; the scheme is case-insensitive", async () => {
    expect((await get(admin, "Bearer admin-token")).body).toEqual({ kind: "admin" });
    expect((await get(admin, "bearer admin-token")).body).toEqual({ kind: "admin" });
    const internal = appWith(bearerAuth({ needs: "INTERNAL_TOKEN", allow: internalOnly, asks: "internal token" }));
    expect((await get(internal, "Bearer internal-token")).body).toEqual({ kind: "internal" });
    expect((await get(internal, "Bearer admin-token")).status).toBe(403);
  });

  it("answers 503 when the token the route needs is not set, before looking at the request's", async () => {
    const res = await get(admin, "Bearer admin-token", { ...env, ADMIN_TOKEN: "" } as Env);
    expect([res.status, res.body.error?.code]).toEqual([503, "not-configured"]);
  });

  it("tries the route's own credential after the Worker's tokens", async () => {
    const seen: string[] = [];
    const hook = appWith(
      bearerAuth({
        allow: adminOnly,
        ownCredential: async (token, c) => {
          seen.push(token);
          return token === "zone-secret" ? { kind: "webhook", zone: c.req.param("zone")! } : null;
        },
        asks: "admin token or the zone's secret",
      }),
    );
    expect((await get(hook, "Bearer admin-token")).body).toEqual({ kind: "admin" });
    expect((await get(hook, "Bearer zone-secret")).body).toEqual({ kind: "webhook", zone: "example.org" });
    expect((await get(hook, "Bearer guess")).status).toBe(403);
    expect(seen).toEqual(["zone-secret", "guess"]);
  });
});

describe("bearerAuth with stored credentials (scoped API tokens, issue 24)", () => {
  const stored = appWith(
    bearerAuth({
      allow: (p) => p.kind === "admin" || (p.kind === "token" && p.write),
      storedCredential: async (token) => {
        if (token === "rw-token") return { kind: "token", name: "rw", write: true, zones: null };
        if (token === "ro-token") return { kind: "token", name: "ro", write: false, zones: null };
        if (token === "old-token") return { refused: "the token old expired" };
        return null;
      },
      unknownIsUnauthorized: true,
      asks: "admin token or API token",
    }),
  );

  it.each([
    ["the admin token", "Bearer admin-token", 200, undefined],
    ["a stored token the route allows", "Bearer rw-token", 200, undefined],
    ["a stored token the route does not allow", "Bearer ro-token", 403, "forbidden"],
    ["an expired stored token", "Bearer old-token", 401, "invalid-token"],
    ["a token that is no credential", "Bearer guess", 401, "invalid-token"],
    ["the internal token, a known principal not allowed", "Bearer internal-token", 403, "forbidden"],
  ])("%s: %i", async (_label, authorization, status, code) => {
    const res = await get(stored, authorization);
    expect([res.status, res.body.error?.code]).toEqual([status, code]);
    if (status === 401) expect(res.challenge).toMatch(/invalid_token/);
  });

  it("puts the stored principal on the context", async () => {
    expect((await get(stored, "Bearer rw-token")).body).toEqual({ kind: "token", name: "rw", write: true, zones: null });
  });
});

describe("principalOf (DoH, outside hono)", () => {
  it.each([
    ["Bearer admin-token", "admin"],
    ["Bearer internal-token", "internal"],
    ["BEARER  internal-token", "internal"],
    ["Bearer wrong", null],
    ["Basic internal-token", null],
    ["Bearer internal-token extra", null],
  ])("%s → %s", async (authorization, kind) => {
    expect((await principalOf(authorization, env))?.kind ?? null).toBe(kind);
  });

  it("matches nothing when the tokens are unset", async () => {
    expect(await principalOf("Bearer x", {} as Env)).toBeNull();
  });
});
