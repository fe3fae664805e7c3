/**
 * @module `/api/v1`, the management API: hono, JSON, every body validated with the zod schemas of
 * `schemas.ts`, `Authorization: Bearer <ADMIN_TOKEN>` (`http/auth`; the NOTIFY webhook also takes the
 * zone's own webhook secret). Errors are `{ "error": { "code", "message", "field" } }` (`http/errors`).
 */
import { Hono } from "hono";
import { d1Session } from "../http/d1-session/index.ts";
import { ApiError, errorBody, errorResponse } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { adminAuth } from "./admin-auth.ts";
import { deploymentRoutes } from "./deployment.ts";
import { alertRoutes } from "./alerts.ts";
import { tsigKeyRoutes } from "./tsig-keys.ts";
import { verifyRoutes } from "./verify.ts";
import { zoneRoutes } from "./zones.ts";

export const API_PREFIX = "/api/v1";

export function createApi(): Hono<RouteEnv> {
  const api = new Hono<RouteEnv>();
  // Every route reads and writes through one D1 session per request (read replication, bookmarks).
  api.use("*", d1Session());
  api.use("/tsig-keys/*", adminAuth);
  api.use("/tsig-keys", adminAuth);
  api.route("/tsig-keys", tsigKeyRoutes);
  api.route("/zones", verifyRoutes); // issue 24: POST /zones/:name/verify, before the zone routes
  api.route("/", alertRoutes);
  api.route("/zones", zoneRoutes);
  api.route("/deployment", deploymentRoutes);
  // A mounted app's notFound is not consulted by the parent, so unknown paths are caught here.
  api.all("*", (c) => c.json(errorBody("not-found", `no route ${c.req.method} ${c.req.path}`), 404));
  api.onError((err, c) => errorResponse(c, err));
  return api;
}

export { ApiError };
