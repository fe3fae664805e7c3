/**
 * @module Rows of `zones` as the two APIs read and write them: by name (the management API's whole row,
 * the ingest API's reference to it), created, listed, changed, deleted, and the webhook secret's hash
 * replaced. The transfer-service's view of a row is `zone-config.ts`; its timers, `zone-timers.ts`.
 */
import { asc, eq } from "drizzle-orm";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";
import { zones } from "../schema.ts";

export type ZoneRow = typeof zones.$inferSelect;
export type NewZone = typeof zones.$inferInsert;

/** The whole row of the zone named `name` (lowercase, no trailing dot), if there is one. */
export function zoneByName(db: D1Queryable, name: string): Promise<ZoneRow | undefined> {
  return drizzleOf(db).select().from(zones).where(eq(zones.name, name)).get();
}

/** What the ingest API needs of a zone: its id, its name, and the version and serial it serves. */
export interface ZonePointerRow {
  id: number;
  name: string;
  current_version: number | null;
  serial: number | null;
}

/** The ingest API's one read of a zone by name. */
export function zonePointerByName(db: D1Queryable, name: string): Promise<ZonePointerRow | null> {
  return db.prepare("SELECT id, name, current_version, serial FROM zones WHERE name = ?1").bind(name).first<ZonePointerRow>();
}

/** Every zone, by name. */
export function listZones(db: D1Queryable): Promise<ZoneRow[]> {
  return drizzleOf(db).select().from(zones).orderBy(asc(zones.name));
}

/** Creates a zone; null when a zone of that name exists already. */
export async function insertZone(db: D1Queryable, values: NewZone): Promise<ZoneRow | null> {
  const inserted = await drizzleOf(db).insert(zones).values(values).onConflictDoNothing().returning();
  return inserted[0] ?? null;
}

/** Changes the given columns (and `updated_at`); returns the row as it is now. */
export async function updateZone(db: D1Queryable, zoneId: number, changes: Partial<NewZone>, now = Date.now()): Promise<ZoneRow | undefined> {
  const [updated] = await drizzleOf(db)
    .update(zones)
    .set({ ...changes, updatedAt: now })
    .where(eq(zones.id, zoneId))
    .returning();
  return updated;
}

/** Deletes a zone; foreign keys cascade to its versions, blocks, staging, journal and log. */
export async function deleteZone(db: D1Queryable, zoneId: number): Promise<void> {
  await drizzleOf(db).delete(zones).where(eq(zones.id, zoneId));
}

/** Replaces the stored hash of the zone's webhook secret. */
export async function setWebhookSecretHash(db: D1Queryable, zoneId: number, hash: string, now = Date.now()): Promise<void> {
  await drizzleOf(db).update(zones).set({ webhookSecretHash: hash, updatedAt: now }).where(eq(zones.id, zoneId));
}
