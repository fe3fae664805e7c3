/**
 * @module Bearer tokens (RFC 6750 §2.1) compared in constant time, and the hashing of per-zone webhook
 * secrets (only their SHA-256 is stored; the secret is shown once).
 */
import type { Context } from "hono";

const encoder = new TextEncoder();

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Digests of the configured tokens (ADMIN_TOKEN, INTERNAL_TOKEN), kept per isolate: every internal call
 * hashed its expected token anew, which showed in profiles. Only settled values are kept, never a shared
 * promise (workerd does not resume one request on another request's promise).
 */
const expectedDigests = new Map<string, Uint8Array>();

async function expectedDigest(expected: string): Promise<Uint8Array> {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = await sha256(expected);
    if (expectedDigests.size >= 8) expectedDigests.clear();
    expectedDigests.set(expected, digest);
  }
  return digest;
}

/** Constant-time equality of a presented token and the expected one (hashed first, so lengths leak nothing). */
export async function tokenMatches(presented: string | undefined, expected: string | undefined): Promise<boolean> {
  if (!presented || !expected) return false;
  const [a, b] = await Promise.all([sha256(presented), expectedDigest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export async function hashSecret(secret: string): Promise<string> {
  return [...(await sha256(secret))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fresh webhook secret: 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Checks a presented secret against a stored SHA-256 hex, in constant time. */
export async function secretMatchesHash(presented: string | undefined, hashHex: string): Promise<boolean> {
  if (!presented) return false;
  const h = await hashSecret(presented);
  if (h.length !== hashHex.length) return false;
  let diff = 0;
  for (let i = 0; i < h.length; i++) diff |= h.charCodeAt(i) ^ hashHex.charCodeAt(i);
  return diff === 0;
}
