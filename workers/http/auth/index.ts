/**
 * @module Bearer authentication (RFC 6750 §2.1) of every hono route of the Worker: one middleware, built
 * on hono's `bearerAuth` (`hono/bearer-auth`), whose whole token policy is its `verifyToken(token, c)`
 * hook. The hook resolves the token to a {@link Principal}, asks the route whether that principal may use
 * it (`allow`), and puts it on the context (`c.var.principal`) for the handler.
 *
 * A principal is the operator (ADMIN_TOKEN), the transfer-service (INTERNAL_TOKEN), a NOTIFY webhook caller
 * holding one zone's secret, or a scoped API token (issue 24), resolved in the same hook by a D1 lookup of
 * the token's hash (`storedCredential`, `api/admin-auth.ts`). Panel sessions (issue 23) can be one more.
 *
 * Refusals keep both APIs' error shape (`http/errors`), with hono's `WWW-Authenticate` challenge:
 *   - 401 `unauthorized` without an `Authorization: Bearer <token>` header (or with a malformed one);
 *   - 401 `invalid-token` (RFC 6750 §3.1 `invalid_token`) for a token that is no credential at all, or a
 *     stored one that expired, on routes that ask for it (`unknownIsUnauthorized`: `/api/v1`). A revoked
 *     API token is then refused the same way as one never issued;
 *   - 403 `forbidden` for a token that is no principal allowed here;
 *   - 503 `not-configured` when the Worker secret the route needs is not set, before any token is read.
 * A token must be an RFC 6750 b64token (`[A-Za-z0-9._~+/-]+=*`), as hono parses it; the tokens `npm start`
 * and the API generate are base64url.
 *
 * The DoH hot path runs without hono (`doh/index.ts`); it resolves the same principals through
 * {@link principalOf}.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth as honoBearerAuth } from "hono/bearer-auth";
import type { Env } from "../../env.d.ts";
import { ApiError, errorBody } from "../errors/index.ts";
import { matchingTokens } from "./token-compare.ts";

/** Who a request acts for, once its token is known. */
export type Principal =
  | { readonly kind: "admin" }
  | { readonly kind: "internal" }
  /** The caller of `POST /api/v1/zones/:name/notify` with that zone's webhook secret. */
  | { readonly kind: "webhook"; readonly zone: string }
  /**
   * A scoped API token (issue 24, `api/tokens.ts`): `write` or read only, every zone (`zones` null) or only
   * the zones named. What it may do on a route is `api/admin-auth.ts`'s rule.
   */
  | { readonly kind: "token"; readonly name: string; readonly write: boolean; readonly zones: readonly string[] | null };

export const ADMIN: Principal = Object.freeze({ kind: "admin" });
export const INTERNAL: Principal = Object.freeze({ kind: "internal" });

/** What the middleware puts on the context. */
export interface AuthVariables {
  principal: Principal;
}

/** The hono environment of routes behind the middleware. */
export interface AuthEnv {
  Bindings: Env;
  Variables: AuthVariables;
}

/** The principals the Worker's own tokens make of `token`, the admin first (both, if they are equal). */
export function configuredPrincipals(token: string, env: Env): Promise<Principal[]> {
  return matchingTokens(token, [
    [ADMIN, env.ADMIN_TOKEN],
    [INTERNAL, env.INTERNAL_TOKEN],
  ]);
}

/** `Bearer <b64token>`, parsed as hono's bearerAuth parses it (the scheme in any case, then spaces). */
const BEARER = /^bearer \s*([A-Za-z0-9._~+/-]+=*)$/i;

/** The principal an `Authorization` header value carries on a route outside hono (DoH), or null. */
export async function principalOf(authorization: string, env: Env): Promise<Principal | null> {
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) return null;
  return (await configuredPrincipals(token, env))[0] ?? null;
}

export interface BearerAuthOptions<E extends AuthEnv = AuthEnv> {
  /** The Worker secret the route cannot work without: unset, every request is a 503. */
  needs?: "ADMIN_TOKEN" | "INTERNAL_TOKEN";
  /**
   * Whether a principal may use the route: the route's scope check. It sees the request (a read-only token
   * will pass a GET and not a PATCH).
   */
  allow: (principal: Principal, c: Context<E>) => boolean;
  /**
   * Credentials kept in D1 (scoped API tokens), tried when the token is none of the Worker's own: the
   * principal, a refusal in words (an expired token: 401), or null (no such credential).
   */
  storedCredential?: (token: string, c: Context<E>) => Promise<Principal | { refused: string } | null>;
  /** A credential of the route's own (a zone's webhook secret), tried when the Worker's tokens do not allow. */
  ownCredential?: (token: string, c: Context<E>) => Promise<Principal | null>;
  /** A token that is no credential at all answers 401 `invalid-token`, not the 403 (see the module comment). */
  unknownIsUnauthorized?: boolean;
  /** What the 401 asks for: `send Authorization: Bearer <asks>`. */
  asks: string;
  /** The 403's words. */
  refusal?: string;
}

/** The bearer-auth middleware of a route (see the module comment). */
export function bearerAuth<E extends AuthEnv = AuthEnv>(options: BearerAuthOptions<E>): MiddlewareHandler<E> {
  const unauthorized = (c: Context) => c.json(errorBody("unauthorized", `send Authorization: Bearer <${options.asks}>`), 401);
  /** Why a request's token was refused with a 401 rather than the 403, by request (set in `verifyToken`). */
  const invalid = new WeakMap<Context, string>();
  const refuse = (c: Context) => {
    const why = invalid.get(c);
    if (why !== undefined) return c.json(errorBody("invalid-token", why), 401);
    return c.json(errorBody("forbidden", options.refusal ?? "the token is not valid here"), 403);
  };
  const resolve = async (token: string, c: Context<E>): Promise<Principal | null> => {
    const configured = await configuredPrincipals(token, c.env);
    const allowed = configured.find((p) => options.allow(p, c));
    if (allowed) return allowed;
    let known = configured.length > 0;
    if (!known && options.storedCredential) {
      const stored = await options.storedCredential(token, c);
      if (stored !== null && "refused" in stored) {
        invalid.set(c, stored.refused);
        return null;
      }
      if (stored !== null && options.allow(stored, c)) return stored;
      known = stored !== null;
    }
    const own = (await options.ownCredential?.(token, c)) ?? null;
    if (own === null && !known && options.unknownIsUnauthorized && !options.ownCredential) {
      invalid.set(c, "the token is not valid (unknown, revoked or expired)");
    }
    return own;
  };
  const check = honoBearerAuth<E>({
    verifyToken: async (token, c) => {
      const principal = await resolve(token, c);
      if (principal === null) return false;
      c.set("principal", principal);
      return true;
    },
    noAuthenticationHeader: { message: unauthorized },
    // A header that is not `Bearer <token>` asks for the token as a missing one does.
    invalidAuthenticationHeader: { message: unauthorized },
    invalidToken: { message: refuse },
  });
  return async (c, next) => {
    if (options.needs !== undefined && !c.env[options.needs]) {
      throw new ApiError(503, "not-configured", `${options.needs} is not set on this Worker`);
    }
    return check(c, next);
  };
}

/** Only the operator (ADMIN_TOKEN): `/api/v1`. */
export const adminOnly = (p: Principal): boolean => p.kind === "admin";
/** Only the transfer-service (INTERNAL_TOKEN): `/internal/v1`. */
export const internalOnly = (p: Principal): boolean => p.kind === "internal";
