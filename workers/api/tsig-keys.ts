/**
 * @module `/api/v1/tsig-keys`: create (201 `{ name, algorithm }`), list, delete. The secret is write-only:
 * it is sealed with TSIG_ENCRYPTION_KEY before it touches D1 and no response ever carries it.
 */
import { asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { drizzleOf } from "../db/d1-queryable.ts";
import { tsigKeys, zones } from "../db/schema.ts";
import { SecretBox } from "../db/secret-box.ts";
import type { SessionEnv } from "./d1-session.ts";
import { ApiError, jsonBody, validate } from "./errors.ts";
import { dnsName } from "./dns-name-input.ts";
import { TsigKeyCreate } from "./schemas.ts";

export const tsigKeyRoutes = new Hono<SessionEnv>();

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

tsigKeyRoutes.post("/", async (c) => {
  const body = await jsonBody(c, TsigKeyCreate);
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker");
  });
  const sealed = await box.seal(decodeBase64(body.secret), body.name);
  const db = drizzleOf(c.var.db);
  const inserted = await db
    .insert(tsigKeys)
    .values({ name: body.name, algorithm: body.algorithm, secretEncrypted: sealed })
    .onConflictDoNothing()
    .returning({ name: tsigKeys.name, algorithm: tsigKeys.algorithm });
  if (inserted.length === 0) throw new ApiError(409, "exists", `a TSIG key named ${body.name} exists already`, "name");
  return c.json(inserted[0]!, 201);
});

tsigKeyRoutes.get("/", async (c) => {
  const rows = await drizzleOf(c.var.db)
    .select({ name: tsigKeys.name, algorithm: tsigKeys.algorithm, createdAt: tsigKeys.createdAt })
    .from(tsigKeys)
    .orderBy(asc(tsigKeys.name));
  return c.json({ keys: rows.map((r) => ({ name: r.name, algorithm: r.algorithm, createdAt: new Date(r.createdAt).toISOString() })) });
});

tsigKeyRoutes.delete("/:name", async (c) => {
  const name = validate(dnsName, c.req.param("name"), "name");
  const db = drizzleOf(c.var.db);
  const key = await db.select({ id: tsigKeys.id }).from(tsigKeys).where(eq(tsigKeys.name, name)).get();
  if (!key) throw new ApiError(404, "not-found", `no TSIG key named ${name}`);
  // A key still named by a zone (as its own key, or in a primary or transfer entry) stays.
  const users = await db
    .select({ name: zones.name, primaries: zones.primaries, transferAllow: zones.transferAllow, tsigKey: zones.tsigKey })
    .from(zones);
  const using = users
    .filter((z) => z.tsigKey === name || z.primaries.some((p) => p.tsigKey === name) || z.transferAllow.some((t) => t.tsigKey === name))
    .map((z) => z.name);
  if (using.length > 0) throw new ApiError(409, "in-use", `TSIG key ${name} is used by ${using.join(", ")}`);
  await db.delete(tsigKeys).where(eq(tsigKeys.id, key.id));
  return c.body(null, 204);
});
