/**
 * @module The `tsig_keys` table: keys are created with their secret already sealed (AES-GCM under
 * TSIG_ENCRYPTION_KEY, `db/secret-box.ts`), listed without it, deleted while no zone names them, and read
 * back sealed for the transfer-service, which gets them opened (`/internal/v1/zones`).
 */
import { asc, eq, gt, inArray } from "drizzle-orm";
import type { TsigAlgorithmName } from "../../../contract/vocabulary.ts";
import { tsigKeys, zones } from "../schema.ts";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";

/** Stores a key; null when a key of that name exists already. */
export async function insertTsigKey(db: D1Queryable, key: { name: string; algorithm: TsigAlgorithmName; sealed: Uint8Array }) {
  const inserted = await drizzleOf(db)
    .insert(tsigKeys)
    .values({ name: key.name, algorithm: key.algorithm, secretEncrypted: key.sealed })
    .onConflictDoNothing()
    .returning({ name: tsigKeys.name, algorithm: tsigKeys.algorithm });
  return inserted[0] ?? null;
}

/** Every key, without its secret, by name; or a page of them after `page.after` (one more row than `page.limit` says more follow). */
export function listTsigKeys(db: D1Queryable, page?: { after?: string | undefined; limit: number }) {
  const query = drizzleOf(db)
    .select({ name: tsigKeys.name, algorithm: tsigKeys.algorithm, createdAt: tsigKeys.createdAt })
    .from(tsigKeys)
    .where(page?.after === undefined ? undefined : gt(tsigKeys.name, page.after))
    .orderBy(asc(tsigKeys.name));
  return page === undefined ? query : query.limit(page.limit + 1);
}

/** The key named `name`, without its secret, if there is one. */
export function tsigKeyByName(db: D1Queryable, name: string) {
  return drizzleOf(db)
    .select({ name: tsigKeys.name, algorithm: tsigKeys.algorithm, createdAt: tsigKeys.createdAt })
    .from(tsigKeys)
    .where(eq(tsigKeys.name, name))
    .get();
}

/** The id of the key named `name`, if there is one. */
export async function tsigKeyId(db: D1Queryable, name: string): Promise<number | undefined> {
  return (await drizzleOf(db).select({ id: tsigKeys.id }).from(tsigKeys).where(eq(tsigKeys.name, name)).get())?.id;
}

export async function deleteTsigKey(db: D1Queryable, id: number): Promise<void> {
  await drizzleOf(db).delete(tsigKeys).where(eq(tsigKeys.id, id));
}

/** The zones that name key `name` (as their own key, or in a primary or transfer entry). */
export async function zonesUsingKey(db: D1Queryable, name: string): Promise<string[]> {
  const users = await drizzleOf(db)
    .select({ name: zones.name, primaries: zones.primaries, transferAllow: zones.transferAllow, alsoNotify: zones.alsoNotify, tsigKey: zones.tsigKey })
    .from(zones);
  return users
    .filter((z) => z.tsigKey === name || z.primaries.some((p) => p.tsigKey === name) || z.transferAllow.some((t) => t.tsigKey === name) || z.alsoNotify.some((t) => t.tsigKey === name))
    .map((z) => z.name);
}

/** Which of `names` are stored keys. */
export async function existingKeyNames(db: D1Queryable, names: readonly string[]): Promise<Set<string>> {
  const found = await drizzleOf(db).select({ name: tsigKeys.name }).from(tsigKeys).where(inArray(tsigKeys.name, [...names]));
  return new Set(found.map((k) => k.name));
}

/** A key as stored: the secret sealed under TSIG_ENCRYPTION_KEY with the key's name. */
export interface SealedKey {
  name: string;
  algorithm: TsigAlgorithmName;
  sealed: Uint8Array;
}

/** The stored keys among `names` (none asked, no query). */
export async function sealedKeys(db: D1Queryable, names: ReadonlySet<string>): Promise<SealedKey[]> {
  if (names.size === 0) return [];
  const rows = await db.prepare("SELECT name, algorithm, secret_encrypted FROM tsig_keys").all<{
    name: string;
    algorithm: TsigAlgorithmName;
    secret_encrypted: ArrayBuffer;
  }>();
  return rows.results.filter((r) => names.has(r.name)).map((r) => ({ name: r.name, algorithm: r.algorithm, sealed: new Uint8Array(r.secret_encrypted) }));
}
