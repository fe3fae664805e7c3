/**
 * @module `/api/v1/tokens` (issue 24): scoped API tokens, the admin's alone (`route-policy.ts`). Create
 * answers 201 with the token, shown this once; only its SHA-256 is stored (`http/auth/stored-secret.ts`),
 * so a list or a read never carries it. Delete revokes at once: every request looks the token up in D1.
 * What a token may do is `admin-auth.ts`'s rule: `read` for GET/HEAD, `write` for the rest, and with
 * `zones`, only those zones.
 */
import { Hono } from "hono";
import { z } from "zod";
import { apiTokenByName, deleteApiToken, insertApiToken, listApiTokens, type ApiTokenRow } from "../db/queries/api-tokens.ts";
import { TOKEN_SCOPES } from "../db/schema.ts";
import { hashSecret, newSecret } from "../http/auth/stored-secret.ts";
import { ApiError, jsonBody, validate } from "../http/errors/index.ts";
import { dnsName } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { decodeNameCursor, encodeNameCursor, PageQuery } from "./name-cursor.ts";
import { operation } from "./openapi.ts";
import { TokenCreated, TokenPage, TokenView } from "../../contract/api-v1.ts";

/** Actors the transfer log names besides tokens (`admin-auth.ts` `actorOf`): no token may be called so. */
const RESERVED_NAMES = ["admin", "webhook", "service"];

/** A token's name: what the transfer log records and the path names (`/tokens/:name`). */
export const TokenName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
  .refine((n) => !RESERVED_NAMES.includes(n.toLowerCase()), `must not be ${RESERVED_NAMES.join(", ")} (the transfer log's other actors)`);

export const TokenCreate = z.strictObject({
  name: TokenName,
  scopes: z
    .array(z.enum(TOKEN_SCOPES))
    .min(1)
    .max(2)
    .refine((s) => s.includes("read") && new Set(s).size === s.length, 'must be ["read"] or ["read", "write"]'),
  zones: z.array(dnsName).min(1).max(1000).optional(),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((t) => Date.parse(t) > Date.now(), "must be in the future")
    .optional(),
});

/** A token as shown: never its secret nor its hash. */
export function tokenView(row: ApiTokenRow) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    zones: row.zones ?? null,
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export const tokenRoutes = new Hono<RouteEnv>();

tokenRoutes.post(
  "/",
  operation({
    summary: "Create an API token (admin token only)",
    description: "`scopes`: [\"read\"] (GET/HEAD) or [\"read\", \"write\"] (every method); `zones`: only these zones (others answer 404); `expiresAt`: refused after. The token is answered this once; only its SHA-256 is stored.",
    tag: "tokens",
    body: TokenCreate,
    responses: [{ status: 201, description: "created; `token` is shown this once", schema: TokenCreated }],
    errors: [409],
  }),
  async (c) => {
    const body = await jsonBody(c, TokenCreate);
    // `bst_` marks the token for secret scanners; the rest is 32 random bytes (base64url).
    const token = `bst_${newSecret()}`;
    const row = await insertApiToken(c.var.db, {
      name: body.name,
      tokenHash: await hashSecret(token),
      scopes: TOKEN_SCOPES.filter((s) => body.scopes.includes(s)),
      zones: body.zones ? [...new Set(body.zones)] : null,
      expiresAt: body.expiresAt === undefined ? null : Date.parse(body.expiresAt),
    });
    if (!row) throw new ApiError(409, "exists", `a token named ${body.name} exists already`, "name");
    // The token is shown this once; only its hash is kept.
    return c.json({ ...tokenView(row), token }, 201);
  },
);

tokenRoutes.get(
  "/",
  operation({
    summary: "List API tokens, a page at a time (admin token only)",
    tag: "tokens",
    query: PageQuery,
    responses: [{ status: 200, description: "a page of tokens, never their secrets", schema: TokenPage }],
  }),
  async (c) => {
    const query = validate(PageQuery, c.req.query());
    const after = query.cursor === undefined ? undefined : decodeNameCursor(query.cursor);
    const page = await listApiTokens(c.var.db, { after, limit: query.limit });
    const last = page.rows.at(-1);
    return c.json({ tokens: page.rows.map(tokenView), nextCursor: page.more && last ? encodeNameCursor(last.name) : null });
  },
);

function tokenNameFromPath(segment: string | undefined): string {
  return validate(TokenName, segment ?? "", "name");
}

tokenRoutes.get(
  "/:name",
  operation({
    summary: "Read an API token by name, without its secret (admin token only)",
    tag: "tokens",
    responses: [{ status: 200, description: "the token", schema: TokenView }],
    errors: [404],
  }),
  async (c) => {
    const name = tokenNameFromPath(c.req.param("name"));
    const row = await apiTokenByName(c.var.db, name);
    if (!row) throw new ApiError(404, "not-found", `no token named ${name}`);
    return c.json(tokenView(row));
  },
);

tokenRoutes.delete(
  "/:name",
  operation({
    summary: "Revoke an API token (admin token only); refused by the next request",
    tag: "tokens",
    responses: [{ status: 204, description: "revoked" }],
    errors: [404],
  }),
  async (c) => {
    const name = tokenNameFromPath(c.req.param("name"));
    if (!(await deleteApiToken(c.var.db, name))) throw new ApiError(404, "not-found", `no token named ${name}`);
    return c.body(null, 204);
  },
);
