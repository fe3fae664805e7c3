/**
 * @module D1 read replication for `/api/v1` and `/internal/v1`, through the Sessions API: every request
 * runs its queries in one D1 session (`c.var.db`), and the response carries the session's latest bookmark
 * in `x-d1-bookmark` (Cloudflare's convention). A client that sends that bookmark back on its next request
 * starts a session at least that fresh, so it reads its own writes even when the next request lands on
 * another location and reads a replica: the transfer-service commits a version, then reads the zone back.
 *
 * Without a bookmark a session starts `first-primary`: management and ingest calls act on what they
 * read (leases, versions, names that must be unique), so their first read is never stale. The answer path
 * does not come through here: it reads `first-unconstrained` (see `workers/index.ts`), since a query may
 * be answered from any replica and the zone pointers it reads are re-checked every second anyway.
 *
 * Bookmarks look like `0000007b-0000b26e-00001538-0c3e87bb37b3db5cc52eedb93cd3b96b` (hex; later ones
 * sort later); anything else in the header is a 400 rather than a session D1 would reject mid-request.
 */
import type { MiddlewareHandler } from "hono";
import type { Env } from "../../env.d.ts";
import { BOOKMARK_HEADER } from "../../../contract/internal-v1.ts";
import { ApiError } from "../errors/index.ts";
import { meterSession, sessionReads, type MeteredRoutes } from "./read-meter.ts";

export { BOOKMARK_HEADER };

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

/** What the session middleware puts on the context. */
export interface SessionVariables {
  /** The request's D1 session: use it for every query, never `c.env.DB`. */
  db: D1DatabaseSession;
}

/** The hono environment of routes behind the session middleware. */
export interface SessionEnv {
  Bindings: Env;
  Variables: SessionVariables;
}

/**
 * Opens the request's D1 session from the client's bookmark (or at the primary) and returns its bookmark.
 * `metered`: the rows its statements read are summed under that name (`read-meter.ts`, issue 19).
 */
export function d1Session(metered?: MeteredRoutes): MiddlewareHandler<SessionEnv> {
  return async (c, next) => {
    const sent = c.req.header(BOOKMARK_HEADER);
    if (sent !== undefined && !BOOKMARK.test(sent)) {
      throw new ApiError(400, "invalid", `${BOOKMARK_HEADER}: not a D1 bookmark (send back what a response carried)`, BOOKMARK_HEADER);
    }
    const opened = c.env.DB.withSession(sent ?? "first-primary");
    const session = metered === undefined ? opened : meterSession(opened, sessionReads[metered]);
    c.set("db", session);
    await next();
    const bookmark = session.getBookmark();
    if (bookmark !== null) c.res.headers.set(BOOKMARK_HEADER, bookmark);
  };
}
