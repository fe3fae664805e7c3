/**
 * @module Secrets the Worker hands out once and then keeps only as a SHA-256 hex digest: today the per-zone
 * NOTIFY webhook secret; scoped API tokens and panel sessions are the same kind of credential. A presented
 * secret is checked against the stored digest in constant time.
 */
import { sameBytes, sha256 } from "./token-compare.ts";

/** The SHA-256 of a secret, as the lowercase hex that is stored. */
export async function hashSecret(secret: string): Promise<string> {
  return [...(await sha256(secret))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fresh secret: 32 random bytes, base64url (inside RFC 6750's b64token, so it works as a bearer token). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Checks a presented secret against a stored SHA-256 hex, in constant time. */
export async function secretMatchesHash(presented: string | undefined, hashHex: string): Promise<boolean> {
  if (!presented) return false;
  const encoder = new TextEncoder();
  return sameBytes(encoder.encode(await hashSecret(presented)), encoder.encode(hashHex));
}
