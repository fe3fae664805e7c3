/**
 * @module Backstop's Worker entry: a hono app. Routes are added by the parts that own them
 * (DoH in `doh/`, `/api/v1` in `api/`, `/internal/v1` in `internal/`).
 */
import { Hono } from "hono";
import { API_PREFIX, createApi } from "./api/index.ts";
import { createDoh, createDohHandler, isDohUrl } from "./doh/index.ts";
import type { Env } from "./env.d.ts";
import { INTERNAL_PREFIX } from "../contract/internal-v1.ts";
import { createInternal } from "./internal/index.ts";
import { D1ZoneStore } from "./store/d1-zone-store.ts";
import { sweepVersions } from "./store/version-sweep.ts";

export const app = new Hono<{ Bindings: Env }>();

/** One store per isolate, so its caches (zone pointers, decoded blocks) serve many requests. */
let zoneStore: D1ZoneStore | undefined;

/**
 * A commit (`/internal/v1/zones/:zone/ingest/:version/commit`, or an IXFR's `…/changesets`) or a zone change
 * through `/api/v1` made in this isolate is answered from at once here: the cached pointers are dropped so
 * the next query re-reads them (other isolates see it within the pointer TTL, a second). The port-53 front
 * relies on this to serve a version its own instance just committed without waiting out that second.
 */
app.use("*", async (c, next) => {
  await next();
  const method = c.req.method;
  if (method === "GET" || method === "HEAD" || c.res.status >= 400) return;
  const path = c.req.path;
  if (path.startsWith(API_PREFIX) || (path.startsWith(INTERNAL_PREFIX) && (path.endsWith("/commit") || path.endsWith("/changesets")))) zoneStore?.invalidatePointers();
});
/**
 * The answer path reads through one D1 session per isolate started `first-unconstrained` (read replication:
 * any replica may answer the first query, and the session never reads older data after that). Zone data is
 * keyed by version and the pointers are re-read every second, so a replica's lag delays a new version by
 * that lag at most, never mixes two. `/api/v1` and `/internal/v1` use per-request sessions with bookmarks
 * (`api/d1-session.ts`).
 */
const doh = createDohHandler({ store: (env) => (zoneStore ??= new D1ZoneStore(env.DB.withSession("first-unconstrained"))) });
app.route("/dns-query", createDoh(doh));

app.route(API_PREFIX, createApi());
app.route(INTERNAL_PREFIX, createInternal());

/** Liveness plus a D1 round trip, so a broken binding shows up here and not on the first query. */
app.get("/healthz", async (c) => {
  const started = Date.now();
  try {
    await c.env.DB.prepare("SELECT 1").first();
    return c.json({ ok: true, d1Ms: Date.now() - started });
  } catch (err) {
    return c.json({ ok: false, error: err instanceof Error ? err.message : String(err) }, 503);
  }
});

export default {
  /**
   * GET and POST of `/dns-query` skip hono (router, context, the middleware above, which does nothing for
   * them): the same handler hono routes to, without its per-request cost (`doh/index.ts`).
   */
  fetch(request, env, ctx) {
    if ((request.method === "GET" || request.method === "POST") && isDohUrl(request.url)) return doh(request, env);
    return app.fetch(request, env, ctx);
  },
  /** Cron: prune old zone versions and abandoned ingests (see `store/version-sweep.ts`). */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      sweepVersions(env.DB).then((r) => console.log(JSON.stringify({ msg: "version sweep", ...r }))),
    );
  },
} satisfies ExportedHandler<Env>;
