/**
 * @module What the ingest routes of `/internal/v1` do around the store, shared by the step-by-step routes
 * (`index.ts`) and the folded ones (`folded.ts`): the zone's row from the path, a version number from the
 * path, the database's size for the service's size guard, and what follows a commit.
 */
import type { Context } from "hono";
import { Name } from "../../dns/name.ts";
import { zonePointerByName } from "../db/queries/zones.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { ApiError } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { pushInBackground } from "../api/refresh-signal.ts";
import { reconcileCatalog } from "../store/catalog.ts";
import type { ZoneRef } from "../store/full-ingest.ts";
import { servedPointersChanged } from "../store/served-store.ts";

type AppContext = Context<RouteEnv>;

/** Largest chunk body accepted: a few MB keeps a chunk's sort well inside the isolate's memory. */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

export async function zoneRef(c: AppContext): Promise<ZoneRef & { row: { current_version: number | null; serial: number | null; catalog: number } }> {
  const name = nameFromPath(c.req.param("zone"), "zone");
  const row = await zonePointerByName(c.var.db, name);
  if (!row) throw new ApiError(404, "not-found", `no zone named ${name}`);
  return { id: row.id, name: Name.parseAbsolute(row.name), row };
}

export function versionParam(c: AppContext): number {
  const text = c.req.param("version") ?? "";
  if (!/^\d{1,15}$/.test(text)) throw new ApiError(400, "invalid", "version: must be a positive integer", "version");
  return Number(text);
}

/**
 * What follows a commit: a catalog zone's members are reconciled with the new version (RFC 9432,
 * `store/catalog.ts`). Its failure never fails the commit (the transfer is stored); it is logged and the
 * next commit tries again. New members carry their first refresh request in their rows; one signal for
 * the first of them makes every service read the zone change feed now instead of at its next poll.
 */
export async function afterCommit(c: AppContext, ref: { id: number; row: { catalog: number } }): Promise<void> {
  if (ref.row.catalog !== 1) return;
  try {
    const outcome = await reconcileCatalog(c.var.db, ref.id);
    if (!outcome) return;
    console.log(JSON.stringify({ msg: "catalog reconciled", zoneId: ref.id, ...outcome.report, problems: outcome.report.problems.length }));
    servedPointersChanged();
    const first = outcome.created[0];
    if (first !== undefined) pushInBackground(c, { zone: first, requestedAt: Date.now(), force: null, acceptLowerSerial: false });
  } catch (err) {
    console.error(JSON.stringify({ msg: "catalog reconciliation failed", zoneId: ref.id, error: (err as Error).message }));
  }
}


/**
 * The D1 database's size in octets, for the service's size guard. D1 reports it on every result
 * (`meta.size_after`); a one-row read is the cheapest statement to ask (`PRAGMA page_count` is not among
 * the pragmas D1 documents). Undefined when the binding does not say.
 */
export async function databaseSize(db: D1Queryable): Promise<number | undefined> {
  const result = await db.prepare("SELECT 1").run();
  const size = (result.meta as { size_after?: unknown }).size_after;
  return typeof size === "number" && Number.isFinite(size) ? size : undefined;
}
