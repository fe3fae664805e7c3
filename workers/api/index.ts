/**
 * @module `/api/v1`, the management API: hono, JSON, every body validated with the zod schemas of
 * `schemas.ts`, `Authorization: Bearer <ADMIN_TOKEN or an API token>` checked for every route by `apiAuth`
 * (`admin-auth.ts`, the route's rule from `route-policy.ts`; the NOTIFY webhook also takes the zone's own
 * webhook secret). Errors are `{ "error": { "code", "message", "field" } }` (`http/errors`).
 */
import { Hono } from "hono";
import { d1Session } from "../http/d1-session/index.ts";
import { ApiError, errorBody, errorResponse } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { apiAuth } from "./admin-auth.ts";
import { mountOpenApi } from "./openapi.ts";
import { rateLimit } from "./rate-limit.ts";
import { API_PREFIX } from "./route-policy.ts";
import { tokenRoutes } from "./tokens.ts";
import { deploymentRoutes } from "./deployment.ts";
import { alertRoutes } from "./alerts.ts";
import { importRoutes } from "./import.ts";
import { rrsetRoutes } from "./rrsets.ts";
import { tsigKeyRoutes } from "./tsig-keys.ts";
import { verifyRoutes } from "./verify.ts";
import { zoneRoutes } from "./zones.ts";

export { API_PREFIX };

export function createApi(): Hono<RouteEnv> {
  const api = new Hono<RouteEnv>();
  // Every route reads and writes through one D1 session per request (read replication, bookmarks).
  api.use("*", d1Session("api"));
  // Every route, present and future: the token and the route's rule (issue 24).
  api.use("*", apiAuth);
  // 429 + Retry-After per principal, when the API_RATE_LIMITER binding is configured.
  api.use("*", rateLimit);
  api.route("/tsig-keys", tsigKeyRoutes);
  api.route("/tokens", tokenRoutes);
  api.route("/zones", verifyRoutes); // issue 24: POST /zones/:name/verify, before the zone routes
  api.route("/", alertRoutes);
  // Issue 22: primary zones' RRset API and zone-file import (before zoneRoutes, whose `/:name` routes are wider).
  api.route("/zones", rrsetRoutes);
  api.route("/zones", importRoutes);
  api.route("/zones", zoneRoutes);
  api.route("/deployment", deploymentRoutes);
  // The OpenAPI document of every route of `api` (built at its first request, so routes mounted anywhere
  // above are in it), and Swagger UI (issue 24); both need no token. Describe a new route with `operation(...)`.
  mountOpenApi(api);
  // A mounted app's notFound is not consulted by the parent, so unknown paths are caught here.
  api.all("*", (c) => c.json(errorBody("not-found", `no route ${c.req.method} ${c.req.path}`), 404));
  api.onError((err, c) => errorResponse(c, err));
  return api;
}

export { ApiError };
