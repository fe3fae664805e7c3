/**
 * @module Issue 19: a refresh attempt in fewer round trips. Step by step, a small zone's first transfer cost
 * the service nine calls (lease, `refreshing`, SOA log row, begin, chunk, commit, AXFR log row, report,
 * release); at thousands of zones that was most of the Worker's CPU per zone. Two routes fold them, with the
 * same checks as the routes they stand for:
 *
 * - `PUT /zones/:zone/ingest/whole`: a full transfer that fits one chunk, opened, stored and committed in
 *   one request (`…/ingest`, `…/chunks/0`, `…/commit`). The lease fences it as it fences those: begin and
 *   commit refuse (409) an owner without a live lease, and the lease was taken for the zone's row id, so a
 *   zone deleted and created again meanwhile refuses it too. Any failure after the begin abandons the open
 *   version: the served one stays as it was. Bigger zones keep streaming through the chunk routes.
 * - `POST /zones/:zone/finish`: the attempt's transfer-log rows, its report (lease-checked, as
 *   `PUT …/timers`), the acknowledgement of the request it served (`…/signal/ack`) and the lease's release,
 *   as one D1 batch (one transaction): the acknowledgement is guarded by the same live lease as the report,
 *   so it lands only with it.
 *
 * Measured (bench `zones --profile`): the Worker's CPU for a small zone is mostly D1 calls, each a round trip
 * through the D1 binding with its JSON, whatever the statement; so the routes make as few as they can (the
 * finish is two: the zone's row and the batch).
 *
 * The lease itself stays its own call, first: an attempt must hold it before it asks the primary for a
 * transfer (and the service's early SOA query runs beside it).
 */
import type { Hono } from "hono";
import { FinishRequest, WholeIngestQuery, type CommitResult, type FinishResult } from "../../contract/internal-v1.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { acknowledgeSignalStatement } from "../db/queries/refresh-signals.ts";
import { appendTransferStatement } from "../db/queries/transfer-log.ts";
import { writeTimersStatement } from "../db/queries/zone-timers.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { abortIngest, appendChunk, beginIngest, commitIngest } from "../store/full-ingest.ts";
import { releaseLeaseStatement } from "../store/lease.ts";
import { servedPointersChanged } from "../store/served-store.ts";
import { Budget } from "../store/statement-budget.ts";
import { afterCommit, databaseSize, MAX_CHUNK_BYTES, zoneRef } from "./ingest-steps.ts";

const count = (n: number): string => n.toLocaleString("en-US");

/**
 * The database's size as last read by this isolate, reused for `SIZE_TTL_MS`: the cap is checked on every
 * whole-zone ingest, and a read of its own was one D1 call in five of the route's. A few seconds of staleness
 * are a few MB of ingest against a cap of gigabytes (9 GB of D1's 10 by default).
 */
const SIZE_TTL_MS = 5_000;
let lastSize: { bytes: number | undefined; at: number } | undefined;

async function cachedDatabaseSize(db: D1Queryable, now = Date.now()): Promise<number | undefined> {
  if (!lastSize || now - lastSize.at > SIZE_TTL_MS) lastSize = { bytes: await databaseSize(db), at: now };
  return lastSize.bytes;
}

export function mountFolded(api: Hono<RouteEnv>): void {
  api.put("/zones/:zone/ingest/whole", async (c) => {
    const ref = await zoneRef(c);
    const query = validate(WholeIngestQuery, c.req.query());
    if (Number(c.req.header("content-length") ?? "0") > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > MAX_CHUNK_BYTES) throw new ApiError(413, "too-large", `a chunk is at most ${MAX_CHUNK_BYTES} bytes`);
    // The service's size guard (`BACKSTOP_D1_MAX_BYTES`), applied here: the records' uncompressed octets
    // stand in for what storing them adds, as the service counts them on the chunked path.
    if (query.maxDbBytes !== undefined) {
      const dbBytes = await cachedDatabaseSize(c.var.db);
      if (dbBytes !== undefined) {
        const room = query.maxDbBytes - dbBytes;
        const why = room <= 0 ? "the D1 database is at its cap" : `storing more than ${count(room)} octets of ${ref.name.toString().replace(/\.$/, "")} would take the D1 database past its cap`;
        if (room <= 0 || body.length > room) {
          throw new ApiError(
            413,
            "d1-cap",
            `${why}: the D1 database holds ${count(dbBytes)} octets and may hold ${count(query.maxDbBytes)} (BACKSTOP_D1_MAX_BYTES); the transfer of ${ref.name.toString().replace(/\.$/, "")} was refused and the served version kept`,
          );
        }
      }
    }
    const budget = new Budget(c.var.db);
    const version = await beginIngest(budget, ref, query.owner);
    let result: CommitResult;
    try {
      await appendChunk(budget, ref, version, 0, body, query.owner);
      result = await commitIngest(budget, ref, version, query.owner, { serial: query.serial });
    } catch (err) {
      // Not committed: the open version goes, the served one stays (a failed abort leaves it to the sweep).
      await abortIngest(budget, ref, version, query.owner).catch(() => undefined);
      throw err;
    }
    // The new version is served by this isolate's next query, not a pointer TTL later.
    servedPointersChanged();
    await afterCommit(c, ref);
    return c.json(result);
  });

  api.post("/zones/:zone/finish", async (c) => {
    const ref = await zoneRef(c);
    const body = await jsonBody(c, FinishRequest);
    if (body.zoneId !== undefined && body.zoneId !== ref.id) {
      throw new ApiError(404, "not-found", `${ref.name} was deleted and created again (zone ${ref.id}, not ${body.zoneId}); the attempt for the old zone reports nothing`);
    }
    const db = c.var.db;
    const now = Date.now();
    // The log rows first, whatever follows: they say what the attempt did even when its report is refused.
    const statements: D1PreparedStatement[] = body.transfers.map((entry) => appendTransferStatement(db, ref.id, entry, now));
    const timers = body.report === undefined ? null : writeTimersStatement(db, ref.id, { owner: body.owner, ...body.report }, now);
    const at = (statement: D1PreparedStatement | null): number => (statement ? statements.push(statement) - 1 : -1);
    const timersAt = at(timers);
    // Guarded by the report's lease, so it lands only with the report (as the two calls did, one after the other).
    const ackAt = at(body.servedRequestAt === undefined ? null : acknowledgeSignalStatement(db, ref.id, body.servedRequestAt, timers ? { owner: body.owner, now } : undefined));
    const releaseAt = at(body.release ? releaseLeaseStatement(new Budget(db), ref.id, body.owner) : null);
    const results = statements.length > 0 ? await db.batch(statements) : [];
    // `changes` counts the rows the zone change log's triggers write too: 0 means the guard failed.
    const changed = (i: number): boolean => i >= 0 && (results[i]!.meta.changes ?? 0) > 0;
    if (timersAt >= 0 && !changed(timersAt)) throw new ApiError(409, "lease", `${body.owner} does not hold the refresh lease of ${ref.name}`);
    return c.json<FinishResult>({ cleared: changed(ackAt), released: changed(releaseAt) });
  });
}
