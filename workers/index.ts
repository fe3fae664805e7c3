/**
 * @module Backstop's Worker entry: a hono app. Routes are added by the parts that own them
 * (DoH in `doh/`, `/api/v1` in `api/`, `/internal/v1` in `internal/`, the control panel in `panel/`); what the HTTP routes share
 * (bearer auth, the D1 session, the error shape, name input) is in `http/`.
 */
import { Hono } from "hono";
import { runAlerts } from "./alerts/run.ts";
import { API_PREFIX, createApi } from "./api/index.ts";
import { pingD1 } from "./db/queries/health.ts";
import { ANSWER_STATS_PATH, createAnswerStats } from "./doh/answer-stats.ts";
import { createDoh, createDohHandler, isDohUrl } from "./doh/index.ts";
import type { Env } from "./env.d.ts";
import { INTERNAL_PREFIX } from "../contract/internal-v1.ts";
import { createInternal } from "./internal/index.ts";
import { sessionReads } from "./http/d1-session/read-meter.ts";
import { createPanel } from "./panel/index.tsx";
import { servedPointersChanged, servedZoneStore } from "./store/served-store.ts";
import { pollDueSources } from "./store/primary/cloudflare-source.ts";
import { pushRefresh } from "./api/refresh-signal.ts";
import { sweepVersions } from "./store/version-sweep.ts";

export const app = new Hono<{ Bindings: Env }>();

/**
 * The answer path reads the isolate's one store (`store/served-store.ts`: a D1 session started
 * `first-unconstrained`, pointers re-read every second and dropped at once by the handlers that commit).
 * `/api/v1` and `/internal/v1` use per-request sessions with bookmarks (`http/d1-session`).
 */
const doh = createDohHandler({ store: servedZoneStore, epoch: (env) => servedZoneStore(env).answerEpoch() });
app.route("/dns-query", createDoh(doh));

app.route(API_PREFIX, createApi());
// Before the internal routes, whose middleware (internal token, D1 session) it does not need.
app.route(
  `${INTERNAL_PREFIX}${ANSWER_STATS_PATH}`,
  createAnswerStats((env) => {
    const store = servedZoneStore(env);
    return { doh: doh.counts(), d1: { statements: store.queries, blockStatements: store.blockStatements, rowsRead: store.rowsRead }, sessions: sessionReads };
  }),
);
app.route(INTERNAL_PREFIX, createInternal());

/** Liveness plus a D1 round trip, so a broken binding shows up here and not on the first query. */
app.get("/healthz", async (c) => {
  const started = Date.now();
  try {
    await pingD1(c.env.DB);
    return c.json({ ok: true, d1Ms: Date.now() - started });
  } catch (err) {
    return c.json({ ok: false, error: err instanceof Error ? err.message : String(err) }, 503);
  }
});

// The control panel (issue 23): `/`, `/login`, `/logout`, `/zones/…`, `/keys…`, `/panel.css`. Mounted last,
// and with its guards on its own routes only, so the routes above are untouched.
app.route("/", createPanel());

export default {
  /**
   * GET and POST of `/dns-query` skip hono (router, context): the same handler hono routes to, without
   * its per-request cost (`doh/index.ts`).
   */
  fetch(request, env, ctx) {
    const method = request.method;
    if (method === "GET" || method === "POST") {
      const url = request.url;
      if (isDohUrl(url)) return doh(request, env, url);
    }
    return app.fetch(request, env, ctx);
  },
  /**
   * Cron: prune old zone versions and abandoned ingests (see `store/version-sweep.ts`), and work out and
   * deliver alerts (`alerts/run.ts`). The alert round is awaited, so `/__scheduled` under `wrangler dev
   * --test-scheduled` answers once it is done.
   */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      // A line only when the sweep did something: the cron runs every minute.
      sweepVersions(env.DB).then((r) => {
        if (r.abandoned + r.blocksDeleted > 0) console.log(JSON.stringify({ msg: "version sweep", ...r }));
      }),
    );
    // Issue 22 item 5: primary zones following a Cloudflare zone poll its export when due. Awaited beside the
    // alert round (a waitUntil alone may be cut off when the handler returns, as under --test-scheduled).
    const polls = (
      pollDueSources(env.DB, env, {
        announce: (zone, version) => {
          servedPointersChanged();
          return pushRefresh(env, { zone, committed: version });
        },
      }).then((polls) => {
        // A poll's words, never its token (`store/primary/cloudflare-source.ts` never has it in an error).
        for (const { zone, poll: p } of polls) {
          if (p.result !== "unchanged") console.log(JSON.stringify({ msg: "cloudflare source poll", zone, result: p.result, added: p.added, removed: p.removed, error: p.error }));
        }
      })
    ).catch((err: unknown) => console.error(JSON.stringify({ msg: "cloudflare source polls failed", error: err instanceof Error ? err.message : String(err) })));
    const [alerts] = await Promise.all([runAlerts(env), polls]);
    if (alerts.opened + alerts.resolved + alerts.deliveries > 0) console.log(JSON.stringify({ msg: "alerts", ...alerts }));
  },
} satisfies ExportedHandler<Env>;
