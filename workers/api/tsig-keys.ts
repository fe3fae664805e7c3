/**
 * @module `/api/v1/tsig-keys`: create (201 `{ name, algorithm }`), list, delete. The secret is write-only:
 * it is sealed with TSIG_ENCRYPTION_KEY before it touches D1 and no response ever carries it.
 */
import { Hono } from "hono";
import { deleteTsigKey, insertTsigKey, listTsigKeys, tsigKeyByName, tsigKeyId, zonesUsingKey } from "../db/queries/tsig-keys.ts";
import { SecretBox } from "../db/secret-box.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { decodeNameCursor, encodeNameCursor, PageQuery } from "./name-cursor.ts";
import { operation } from "./openapi.ts";
import { TsigKeyCreated, TsigKeyPage, TsigKeyView } from "../../contract/api-v1.ts";
import { TsigKeyCreate } from "./schemas.ts";

export const tsigKeyRoutes = new Hono<RouteEnv>();

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

tsigKeyRoutes.post(
  "/",
  operation({
    summary: "Create a TSIG key (admin token only)",
    description: "The secret is write-only: sealed before it is stored, never answered.",
    tag: "tsig-keys",
    body: TsigKeyCreate,
    responses: [{ status: 201, description: "created (name and algorithm)", schema: TsigKeyCreated }],
    errors: [409],
  }),
  async (c) => {
    const body = await jsonBody(c, TsigKeyCreate);
    const box = await SecretBox.fromBase64(c.env.TSIG_ENCRYPTION_KEY).catch(() => {
      throw new ApiError(503, "not-configured", "TSIG_ENCRYPTION_KEY is not set (or not 32 bytes of base64) on this Worker");
    });
    const sealed = await box.seal(decodeBase64(body.secret), body.name);
    const inserted = await insertTsigKey(c.var.db, { name: body.name, algorithm: body.algorithm, sealed });
    if (!inserted) throw new ApiError(409, "exists", `a TSIG key named ${body.name} exists already`, "name");
    return c.json(inserted, 201);
  },
);

type KeyRow = { name: string; algorithm: string; createdAt: number };
const keyView = (r: KeyRow) => ({ name: r.name, algorithm: r.algorithm, createdAt: new Date(r.createdAt).toISOString() });

/** A page of keys by name (`limit`, 100 by default; `cursor`, the previous page's `nextCursor`). */
tsigKeyRoutes.get(
  "/",
  operation({
    summary: "List TSIG keys, a page at a time (admin token only)",
    tag: "tsig-keys",
    query: PageQuery,
    responses: [{ status: 200, description: "a page of keys, without their secrets", schema: TsigKeyPage }],
  }),
  async (c) => {
    const query = validate(PageQuery, c.req.query());
    const after = query.cursor === undefined ? undefined : decodeNameCursor(query.cursor);
    const rows = await listTsigKeys(c.var.db, { after, limit: query.limit });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json({ keys: page.map(keyView), nextCursor: rows.length > query.limit && last ? encodeNameCursor(last.name) : null });
  },
);

/** One key by name, without its secret (for tools that look a resource up by name). */
tsigKeyRoutes.get(
  "/:name",
  operation({
    summary: "Read a TSIG key by name, without its secret (admin token only)",
    tag: "tsig-keys",
    responses: [{ status: 200, description: "the key", schema: TsigKeyView }],
    errors: [404],
  }),
  async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const row = await tsigKeyByName(c.var.db, name);
    if (!row) throw new ApiError(404, "not-found", `no TSIG key named ${name}`);
    return c.json(keyView(row));
  },
);

tsigKeyRoutes.delete(
  "/:name",
  operation({
    summary: "Delete a TSIG key no zone uses (admin token only)",
    tag: "tsig-keys",
    responses: [{ status: 204, description: "deleted" }],
    errors: [404, 409],
  }),
  async (c) => {
    const name = nameFromPath(c.req.param("name"));
    const id = await tsigKeyId(c.var.db, name);
    if (id === undefined) throw new ApiError(404, "not-found", `no TSIG key named ${name}`);
    // A key still named by a zone (as its own key, or in a primary or transfer entry) stays.
    const using = await zonesUsingKey(c.var.db, name);
    if (using.length > 0) throw new ApiError(409, "in-use", `TSIG key ${name} is used by ${using.join(", ")}`);
    await deleteTsigKey(c.var.db, id);
    return c.body(null, 204);
  },
);
