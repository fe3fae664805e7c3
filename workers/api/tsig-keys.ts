/**
 * @module `/api/v1/tsig-keys`: create (201 `{ name, algorithm }`), list, delete. The secret is write-only:
 * it is sealed with TSIG_ENCRYPTION_KEY before it touches D1 and no response ever carries it.
 */
import { Hono } from "hono";
import { deleteTsigKey, insertTsigKey, listTsigKeys, tsigKeyId, zonesUsingKey } from "../db/queries/tsig-keys.ts";
import { SecretBox } from "../db/secret-box.ts";
import { ApiError, jsonBody } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { TsigKeyCreate } from "./schemas.ts";

export const tsigKeyRoutes = new Hono<RouteEnv>();

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

tsigKeyRoutes.post("/", async (c) => {
  const body = await jsonBody(c, TsigKeyCreate);
  const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
    throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker");
  });
  const sealed = await box.seal(decodeBase64(body.secret), body.name);
  const inserted = await insertTsigKey(c.var.db, { name: body.name, algorithm: body.algorithm, sealed });
  if (!inserted) throw new ApiError(409, "exists", `a TSIG key named ${body.name} exists already`, "name");
  return c.json(inserted, 201);
});

tsigKeyRoutes.get("/", async (c) => {
  const rows = await listTsigKeys(c.var.db);
  return c.json({ keys: rows.map((r) => ({ name: r.name, algorithm: r.algorithm, createdAt: new Date(r.createdAt).toISOString() })) });
});

tsigKeyRoutes.delete("/:name", async (c) => {
  const name = nameFromPath(c.req.param("name"));
  const id = await tsigKeyId(c.var.db, name);
  if (id === undefined) throw new ApiError(404, "not-found", `no TSIG key named ${name}`);
  // A key still named by a zone (as its own key, or in a primary or transfer entry) stays.
  const using = await zonesUsingKey(c.var.db, name);
  if (using.length > 0) throw new ApiError(409, "in-use", `TSIG key ${name} is used by ${using.join(", ")}`);
  await deleteTsigKey(c.var.db, id);
  return c.body(null, 204);
});
