/**
 * @module `GET /internal/v1/answer-stats`: what this isolate's answer path has done since it started, as JSON —
 * DoH wire answers by where they came from (prebuilt response, answer cache, engine) and the served store's
 * D1 statements and the rows D1 read for them (`meta.rows_read`, what D1 bills reads by), and the same for the
 * sessions of `/internal/v1` and `/api/v1`. The bench reads it
 * around its cache-miss round to put D1 rows read per miss beside the CPU (issue 28 item 4); an operator can
 * read it too. One isolate's view: Cloudflare runs many, and each starts from zero.
 *
 * The internal token or the admin token: it holds counts only, nothing of any zone.
 */
import { Hono } from "hono";
import type { Env } from "../env.d.ts";
import { bearerAuth } from "../http/auth/index.ts";
import type { AuthEnv } from "../http/auth/index.ts";
import type { DohCounts } from "./index.ts";
import type { MeteredRoutes, ReadCounts } from "../http/d1-session/read-meter.ts";

export const ANSWER_STATS_PATH = "/answer-stats";

export interface AnswerStats {
  doh: DohCounts;
  /**
   * The served store's D1 reads: statements sent (`blockStatements` of them for blocks, the rest the zone
   * directory's lookups and change-log polls), and rows D1 read for them.
   */
  d1: { statements: number; blockStatements: number; rowsRead: number };
  /**
   * Beside the answer path (issue 19's idle cost): the D1 reads of `/internal/v1` (the transfer-service's
   * calls) and `/api/v1` in this isolate (`http/d1-session/read-meter.ts`).
   */
  sessions: Record<MeteredRoutes, ReadCounts>;
}

export function createAnswerStats(read: (env: Env) => AnswerStats): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use("*", bearerAuth({ allow: (p) => p.kind === "internal" || p.kind === "admin", asks: "internal or admin token" }));
  app.get("/", (c) => c.json(read(c.env)));
  return app;
}
