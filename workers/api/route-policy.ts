/**
 * @module Which `/api/v1` route a request is, and what that route asks of a token (issue 24). The rule is
 * derived from the route itself, so a route added later in a new file is covered without a line here:
 *   - GET and HEAD need `read`; every other method needs `write`;
 *   - a route whose pattern has a `:name` segment names a zone: a zone-limited token may use it only for one
 *     of its zones;
 *   - a zone-limited token may use a route that names no zone only if the route filters its answer to the
 *     token's zones itself ({@link ZONE_FILTERED_LISTS});
 *   - {@link ADMIN_ONLY} prefixes need the admin token (tokens and TSIG keys: a scoped token must not mint
 *     tokens with more rights, nor read or delete the keys every zone transfers with);
 *   - {@link PUBLIC} routes (the API's own description) need no token.
 *
 * The route is found through hono's `matchedRoutes` (`hono/route`): the first matched route that is an
 * endpoint (registered for a method, not `use`/`all`). A middleware registered on `*` does not see the
 * endpoint's parameters, so `:name` is read from the request path at the pattern's position and decoded as
 * hono decodes a parameter.
 */
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

export const API_PREFIX = "/api/v1";

/** Routes that need no token: the OpenAPI document and its viewer. */
export const PUBLIC: ReadonlySet<string> = new Set(["GET /openapi.json", "GET /docs"]);

/** Path prefixes (below `/api/v1`) only the admin token may use. */
export const ADMIN_ONLY: readonly string[] = ["/tokens", "/tsig-keys", "/alert-webhook", "/alert-thresholds"];

/** The NOTIFY webhook, which also takes the zone's own webhook secret (`admin-auth.ts`). */
export const WEBHOOK_ROUTE = "POST /zones/:name/notify";

/**
 * Routes that name no zone but which a zone-limited token may use, because their handler shows it only its
 * zones: the zone list (and its totals).
 */
export const ZONE_FILTERED_LISTS: ReadonlySet<string> = new Set(["GET /zones"]);

/** The endpoint a request reached: its method and pattern below `/api/v1` (`GET /zones/:name`). */
export interface Endpoint {
  readonly method: string;
  /** The pattern, below `/api/v1`. */
  readonly path: string;
  /** `METHOD /pattern`. */
  readonly key: string;
  /** The whole pattern, prefix included, as registered (`/api/v1/zones/:name`). */
  readonly pattern: string;
}

/** The pattern below the API's prefix (`/api/v1/zones/:name` → `/zones/:name`). */
export function belowPrefix(path: string): string {
  return path.startsWith(API_PREFIX + "/") || path === API_PREFIX ? path.slice(API_PREFIX.length) || "/" : path;
}

/** The endpoint this request is routed to, or undefined when none matches (the API's 404). */
export function endpointOf(c: Context): Endpoint | undefined {
  const route = matchedRoutes(c).find((r) => r.method !== "ALL");
  if (route === undefined) return undefined;
  // A HEAD request is routed to the GET endpoint.
  const path = belowPrefix(route.path);
  return { method: route.method, path, key: `${route.method} ${path}`, pattern: route.path };
}

/** Whether the method only reads (RFC 9110 §9.2.1 safe methods that the API serves). */
export function isRead(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

export function isAdminOnly(endpoint: Endpoint): boolean {
  return ADMIN_ONLY.some((prefix) => endpoint.path === prefix || endpoint.path.startsWith(prefix + "/"));
}

/**
 * The `:name` segment of the request path for a route whose full pattern is `pattern`, as hono's `param()`
 * gives it (percent-decoded once; left as it came when it cannot be decoded), or undefined when the pattern
 * has none.
 */
export function zoneSegment(c: Context, pattern: string): string | undefined {
  const at = pattern.split("/").indexOf(":name");
  if (at < 0) return undefined;
  const raw = new URL(c.req.url).pathname.split("/")[at];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
