/**
 * @module Panel sessions (issue 23): a random session id in an `HttpOnly; Secure; SameSite=Strict` cookie,
 * only its SHA-256 stored in D1 (`panel_sessions`) with an expiry, and a CSRF token per session that every
 * form carries. `Secure` is left out only on plain-HTTP localhost (`npm start`, the tests), where a browser
 * would otherwise drop the cookie.
 *
 * The sign-in form itself has no session yet; it carries a token that must match a short-lived cookie of
 * its own (double submit), so that another site cannot sign a browser in with the attacker's token.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { hashSecret, newSecret } from "../http/auth/stored-secret.ts";
import { sameBytes } from "../http/auth/token-compare.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import type { PanelPrincipal } from "./sign-in.ts";

export const SESSION_COOKIE = "backstop_session";
export const LOGIN_CSRF_COOKIE = "backstop_login_csrf";
/** The name of the CSRF field of every form. */
export const CSRF_FIELD = "_csrf";
/** How long a session lasts from sign-in. */
export const SESSION_TTL_MS = 8 * 3600_000;

export interface PanelSession {
  idHash: string;
  csrfToken: string;
  principal: PanelPrincipal;
  expiresAt: number;
}

/** Plain HTTP on a loopback host: the only place a cookie goes without `Secure`. */
export function isPlainLocalhost(url: string): boolean {
  const u = new URL(url);
  return u.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
}

function cookieOptions(c: Context, maxAgeS: number) {
  return { path: "/", httpOnly: true, secure: !isPlainLocalhost(c.req.url), sameSite: "Strict" as const, maxAge: maxAgeS };
}

/** Starts a session for `principal`: stores it, sets the cookie. Expired rows are swept on the way. */
export async function startSession(c: Context, db: D1Queryable, principal: PanelPrincipal, now = Date.now()): Promise<void> {
  const id = newSecret();
  const expiresAt = now + SESSION_TTL_MS;
  await db.batch([
    db.prepare("DELETE FROM panel_sessions WHERE expires_at <= ?1").bind(now),
    db
      .prepare("INSERT INTO panel_sessions (id_hash, csrf_token, principal, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(await hashSecret(id), newSecret(), principal, now, expiresAt),
  ]);
  setCookie(c, SESSION_COOKIE, id, cookieOptions(c, SESSION_TTL_MS / 1000));
}

/** The request's live session, or null (no cookie, unknown, or expired: an expired row is deleted). */
export async function currentSession(c: Context, db: D1Queryable, now = Date.now()): Promise<PanelSession | null> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id) return null;
  const idHash = await hashSecret(id);
  const row = await db
    .prepare("SELECT csrf_token, principal, expires_at FROM panel_sessions WHERE id_hash = ?1")
    .bind(idHash)
    .first<{ csrf_token: string; principal: PanelPrincipal; expires_at: number }>();
  if (!row) return null;
  if (row.expires_at <= now) {
    await db.prepare("DELETE FROM panel_sessions WHERE id_hash = ?1").bind(idHash).run();
    return null;
  }
  return { idHash, csrfToken: row.csrf_token, principal: row.principal, expiresAt: row.expires_at };
}

/** Ends the session (row and cookie). */
export async function endSession(c: Context, db: D1Queryable, session: PanelSession | null): Promise<void> {
  if (session) await db.prepare("DELETE FROM panel_sessions WHERE id_hash = ?1").bind(session.idHash).run();
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: !isPlainLocalhost(c.req.url) });
}

/** The sign-in form's token: a fresh one in a 10-minute cookie, or the one the browser holds. */
export function loginCsrfToken(c: Context): string {
  const held = getCookie(c, LOGIN_CSRF_COOKIE);
  if (held && /^[A-Za-z0-9_-]{43}$/.test(held)) return held;
  const token = newSecret();
  setCookie(c, LOGIN_CSRF_COOKIE, token, cookieOptions(c, 600));
  return token;
}

/** Whether the sign-in form's token matches its cookie. */
export function loginCsrfMatches(c: Context, presented: string | undefined): boolean {
  return tokensEqual(getCookie(c, LOGIN_CSRF_COOKIE), presented);
}

/** Constant-time equality of two tokens; false when either is missing. */
export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const encoder = new TextEncoder();
  return sameBytes(encoder.encode(a), encoder.encode(b));
}
