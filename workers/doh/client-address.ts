/**
 * @module Whose address a DoH request comes from: the only thing a zone's `answerAllow` list is checked
 * against (`answer/zone-select.ts`, `answer/answer-allow.ts`), so it must never be what the client says it is.
 * docs/architecture.md ("Whose address it is") and docs/security.md give the rule and its reasons; in short:
 *
 *   - On Cloudflare's edge, the address is `CF-Connecting-IP` as the edge sets it. Cloudflare documents that
 *     header as the address of the client connecting to Cloudflare and sets it itself, so a client cannot
 *     choose it (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip).
 *     The Worker believes it only when the deployment says it runs there: `TRUST_CF_CONNECTING_IP` is
 *     exactly `true`, set with `wrangler secret put` (or `--var` on deploy), never in wrangler.toml's `[vars]`,
 *     which `wrangler dev` reads too.
 *   - Anywhere else (wrangler dev, workerd, `npm start`, the workers tests) the variable is unset, and the
 *     Worker has no address it can trust: miniflare fills `CF-Connecting-IP` with the socket's address only
 *     when the client did not send one, and takes `request.cf` from a client-sent `MF-CF-Blob` header, so
 *     neither tells a spoofed address from a real one. A direct request is then asked "from nowhere": an
 *     `answerAllow` zone refuses it, unless it carries the admin token. The port-53 and HTTP/2 fronts know the
 *     socket's address and send it in `x-backstop-client` with the internal token (`forwarded.ts`), which is
 *     believed on the edge and locally alike.
 *
 * `X-Forwarded-For` and `Forwarded` are never read anywhere: whoever sends them, they are the client's words.
 * Fail-closed: a deployment that forgets the variable refuses restricted zones to direct DoH clients; it never
 * answers them to a spoofer.
 */
import type { Env } from "../env.d.ts";

/** The header Cloudflare's edge sets to the connecting client's address. */
export const EDGE_CLIENT_HEADER = "cf-connecting-ip";

/** True when the deployment says `CF-Connecting-IP` is the edge's (exactly `true`; anything else is false). */
export function trustsEdgeClientHeader(env: Env): boolean {
  return env.TRUST_CF_CONNECTING_IP === "true";
}

/** The address of a direct (not forwarded) DoH client, or undefined when the Worker cannot know it. */
export function directClientAddress(headers: Headers, env: Env): string | undefined {
  if (!trustsEdgeClientHeader(env)) return undefined;
  return headers.get(EDGE_CLIENT_HEADER)?.trim() || undefined;
}
