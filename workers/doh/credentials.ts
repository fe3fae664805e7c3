/**
 * @module What a DoH request proves about its sender, from `Authorization: Bearer <token>`:
 *   - the admin token: answers from restricted zones, so operators can verify a hidden zone (zone-select.ts);
 *   - the internal token: the request was forwarded by the port-53 front, whose transport headers
 *     (`forwarded.ts`) are then believed. It grants nothing else (no admin rights, no restricted zones).
 * Tokens are compared in constant time; they are never logged or echoed.
 */
export type Credential = "admin" | "internal" | "none";

const encoder = new TextEncoder();

/** Constant-time equality of two strings (their lengths may leak, their contents do not). */
export function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  if (a.length !== b.length) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The credential an `Authorization` header value carries. Empty or unset tokens match nothing. */
export function credentialOf(authorization: string | undefined, tokens: { admin?: string | undefined; internal?: string | undefined }): Credential {
  if (!authorization) return "none";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return "none";
  const token = m[1]!;
  if (tokens.admin && sameSecret(token, tokens.admin)) return "admin";
  if (tokens.internal && sameSecret(token, tokens.internal)) return "internal";
  return "none";
}
