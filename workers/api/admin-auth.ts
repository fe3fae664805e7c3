/**
 * @module Who may use `/api/v1`, and what (issue 24): `apiAuth`, which `createApi` runs before every route,
 * resolves the bearer token to a principal (the one middleware of `http/auth`) and applies the route's rule
 * (`route-policy.ts`):
 *   - the operator's ADMIN_TOKEN may do everything;
 *   - a scoped API token (`tokens.ts`, a D1 row looked up by the token's SHA-256, no cache: a deleted token
 *     is refused by the very next request) needs `read` for GET/HEAD and `write` for any other method; a
 *     zone-limited one sees only its zones: another zone in the path answers 404 exactly as a zone that does
 *     not exist (so it cannot probe names), and the zone list shows only its zones; tokens and TSIG keys are
 *     the admin's alone (403);
 *   - on the NOTIFY webhook, also the zone's own webhook secret (`webhook` principal of that zone only).
 * A token that is no credential (unknown, revoked, expired) answers 401 `invalid-token`; a known one used
 * where it may not, 403 (the webhook keeps its 403 for any wrong token, see `webhookAuth`).
 */
import type { Context, MiddlewareHandler } from "hono";
import { apiTokenByHash } from "../db/queries/api-tokens.ts";
import { zoneByName } from "../db/queries/zones.ts";
import { bearerAuth } from "../http/auth/index.ts";
import type { Principal } from "../http/auth/index.ts";
import { hashSecret, secretMatchesHash } from "../http/auth/stored-secret.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import { ApiError } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { endpointOf, isAdminOnly, isRead, PUBLIC, WEBHOOK_ROUTE, ZONE_FILTERED_LISTS, zoneSegment, type Endpoint } from "./route-policy.ts";

/** The principals `/api/v1` serves (the transfer-service's INTERNAL_TOKEN is refused here). */
const apiPrincipal = (p: Principal): boolean => p.kind === "admin" || p.kind === "token";

/** A scoped token, by the SHA-256 of what was presented: its principal, a refusal once expired, or null. */
async function storedToken(token: string, c: Context<RouteEnv>): Promise<Principal | { refused: string } | null> {
  const row = await apiTokenByHash(c.var.db, await hashSecret(token));
  if (!row) return null;
  if (row.expiresAt !== null && row.expiresAt <= Date.now()) {
    return { refused: `the token ${row.name} expired at ${new Date(row.expiresAt).toISOString()}` };
  }
  return { kind: "token", name: row.name, write: row.scopes.includes("write"), zones: row.zones ?? null };
}

/** The admin token or a scoped API token. */
const tokenAuth = bearerAuth<RouteEnv>({
  needs: "ADMIN_TOKEN",
  allow: apiPrincipal,
  storedCredential: storedToken,
  unknownIsUnauthorized: true,
  asks: "admin token or API token",
  refusal: "this token is not valid on /api/v1",
});

/**
 * Compared with the presented token when the path names no zone: as long as a stored SHA-256 hex, and
 * never equal to one (`-` is no hex digit), so the compare runs in full and fails.
 */
const NO_ZONE_DIGEST = "-".repeat(64);

/**
 * `POST /zones/:name/notify`: the admin token, an API token (with `write`, for this zone), or the secret of
 * the zone named in the path.
 *
 * A token that opens none of them gets the same 403 and the same body whether or not the zone exists, as a
 * webhook provider hides what a caller may not see: a 404 to a wrong token told an outsider which zones
 * exist. 403 rather than 404 because the credential is what is wrong, and an operator who typed a secret
 * wrongly should not be told the zone is gone; 403 also matches every other route's wrong token. Only the
 * admin token learns that a zone does not exist (404, from the handler).
 *
 * Both paths do the same work: one indexed D1 read of the API tokens and one of the zone, then the presented
 * token hashed and compared in constant time with the zone's digest or with {@link NO_ZONE_DIGEST}. What is
 * left is the D1 read returning one row or none, a difference far below the round trip's own jitter.
 */
export const webhookAuth = bearerAuth<RouteEnv>({
  allow: apiPrincipal,
  storedCredential: storedToken,
  ownCredential: async (token, c): Promise<Principal | null> => {
    const name = nameFromPath(c.req.param("name") ?? zoneSegment(c, endpointOf(c)?.pattern ?? ""));
    const zone = await zoneByName(c.var.db, name);
    const matches = await secretMatchesHash(token, zone?.webhookSecretHash ?? NO_ZONE_DIGEST);
    return zone && matches ? { kind: "webhook", zone: zone.name } : null;
  },
  asks: "admin token, API token or the zone's webhook secret",
  refusal: "the token is neither the admin token, an API token, nor this zone's webhook secret",
});

/** The 404 a zone-limited token gets for a zone outside its list: the handlers' words for a missing zone. */
function noSuchZone(name: string): ApiError {
  return new ApiError(404, "not-found", `no zone named ${name}`);
}

/** Whether the resolved principal may use this endpoint; throws the 403 or 404 when not. */
function checkRoute(c: Context<RouteEnv>, endpoint: Endpoint): void {
  const p = c.var.principal;
  if (p.kind === "admin" || p.kind === "webhook") return;
  if (p.kind !== "token") throw new ApiError(403, "forbidden", "this token is not valid on /api/v1");
  if (isAdminOnly(endpoint)) {
    throw new ApiError(403, "forbidden", `${endpoint.method} /api/v1${endpoint.path} needs the admin token; API tokens cannot manage tokens or TSIG keys`);
  }
  if (p.zones !== null) {
    const segment = zoneSegment(c, endpoint.pattern);
    if (segment !== undefined) {
      const name = nameFromPath(segment);
      if (!p.zones.includes(name)) throw noSuchZone(name);
    } else if (!ZONE_FILTERED_LISTS.has(endpoint.key)) {
      throw new ApiError(
        403,
        "forbidden",
        `the token ${p.name} is limited to some zones; ${endpoint.method} /api/v1${endpoint.path} names none (use the routes with the zone's name)`,
      );
    }
  }
  if (!isRead(c.req.method) && !p.write) {
    throw new ApiError(403, "forbidden", `the token ${p.name} may only read; ${c.req.method} needs the write scope`);
  }
}

/** `/api/v1`'s authentication and authorization, before every route (see the module comment). */
export const apiAuth: MiddlewareHandler<RouteEnv> = async (c, next) => {
  const endpoint = endpointOf(c);
  // No endpoint: the API's 404, which tells nothing the OpenAPI document does not.
  if (endpoint === undefined || PUBLIC.has(endpoint.key)) return next();
  const auth = endpoint.key === WEBHOOK_ROUTE ? webhookAuth : tokenAuth;
  return auth(c, async () => {
    checkRoute(c, endpoint);
    await next();
  });
};

/**
 * Kept for route files that put it on their routes: every `/api/v1` route already passed {@link apiAuth}
 * (`createApi`), so this only checks that it did; a route mounted anywhere else gets `apiAuth` itself.
 */
export const adminAuth: MiddlewareHandler<RouteEnv> = (c, next) => (c.get("principal") ? next() : apiAuth(c, next));

/** Who made a change, for the transfer log's `actor`: the API token's name, `admin` or `webhook`. */
export function actorOf(p: Principal): string {
  switch (p.kind) {
    case "token":
      return p.name;
    case "admin":
    case "webhook":
    case "internal":
      return p.kind;
  }
}

/** The zones a principal is limited to, or null for every zone. */
export function zoneLimit(p: Principal | undefined): readonly string[] | null {
  return p?.kind === "token" ? p.zones : null;
}
