/**
 * @module How a receiver knows a delivery is Backstop's: `X-Backstop-Signature: sha256=<hex>`, the
 * HMAC-SHA256 (RFC 2104) of the exact body under the webhook's secret, and `X-Backstop-Timestamp`, the
 * sending time in Unix seconds, which the JSON body carries too (so the signature covers it): a receiver
 * rejects a body whose timestamp is far from its clock, or that it has seen, and a replay gains nothing.
 */

export const SIGNATURE_HEADER = "x-backstop-signature";
export const TIMESTAMP_HEADER = "x-backstop-timestamp";

const encoder = new TextEncoder();

/** `sha256=<hex>` of `body` under `secret`. */
export async function signBody(secret: Uint8Array, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
