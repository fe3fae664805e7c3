/**
 * @module Rows of `api_tokens` (issue 24): created with the SHA-256 of the secret, looked up by that hash
 * on every request that presents a token (one indexed read, no cache, so a deleted token is refused by the
 * next request), listed by name in pages, deleted by name.
 */
import { asc, eq, gt } from "drizzle-orm";
import { drizzleOf, type D1Queryable } from "../d1-queryable.ts";
import { apiTokens } from "../schema.ts";

export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type NewApiToken = typeof apiTokens.$inferInsert;

/** The token whose secret hashes to `hashHex`, if there is one. */
export function apiTokenByHash(db: D1Queryable, hashHex: string): Promise<ApiTokenRow | undefined> {
  return drizzleOf(db).select().from(apiTokens).where(eq(apiTokens.tokenHash, hashHex)).get();
}

/** The token named `name`, if there is one. */
export function apiTokenByName(db: D1Queryable, name: string): Promise<ApiTokenRow | undefined> {
  return drizzleOf(db).select().from(apiTokens).where(eq(apiTokens.name, name)).get();
}

/** Creates a token; null when one of that name exists already. */
export async function insertApiToken(db: D1Queryable, values: NewApiToken): Promise<ApiTokenRow | null> {
  const inserted = await drizzleOf(db).insert(apiTokens).values(values).onConflictDoNothing().returning();
  return inserted[0] ?? null;
}

/** A page of tokens by name after `after`, and whether more follow. */
export async function listApiTokens(db: D1Queryable, options: { after?: string | undefined; limit: number }): Promise<{ rows: ApiTokenRow[]; more: boolean }> {
  const rows = await drizzleOf(db)
    .select()
    .from(apiTokens)
    .where(options.after === undefined ? undefined : gt(apiTokens.name, options.after))
    .orderBy(asc(apiTokens.name))
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), more: rows.length > options.limit };
}

/** Deletes the token named `name`; false when there was none. */
export async function deleteApiToken(db: D1Queryable, name: string): Promise<boolean> {
  const deleted = await drizzleOf(db).delete(apiTokens).where(eq(apiTokens.name, name)).returning({ id: apiTokens.id });
  return deleted.length > 0;
}
