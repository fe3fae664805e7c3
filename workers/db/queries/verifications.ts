/**
 * @module Issue 24: each zone's last verification (`zone_verifications`), written by `api/verify.ts` and read
 * by the zone view. One row per zone, replaced by every run.
 */
import { eq } from "drizzle-orm";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";
import { zoneVerifications } from "../schema.ts";

export type VerificationRow = typeof zoneVerifications.$inferSelect;

export async function storeVerification(db: D1Queryable, row: VerificationRow): Promise<void> {
  const { zoneId: _zoneId, ...rest } = row;
  await drizzleOf(db).insert(zoneVerifications).values(row).onConflictDoUpdate({ target: zoneVerifications.zoneId, set: rest });
}

export async function lastVerification(db: D1Queryable, zoneId: number): Promise<VerificationRow | undefined> {
  const rows = await drizzleOf(db).select().from(zoneVerifications).where(eq(zoneVerifications.zoneId, zoneId)).limit(1);
  return rows[0];
}
