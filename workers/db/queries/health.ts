/**
 * @module The health check's D1 round trip (`GET /healthz`): the cheapest statement D1 must run, so a
 * broken binding shows up there and not on the first query.
 */
import type { D1Queryable } from "../d1-queryable.ts";

/** Runs `SELECT 1`; resolves when D1 answered, rejects with D1's error. */
export async function pingD1(db: D1Queryable): Promise<void> {
  await db.prepare("SELECT 1").first();
}
