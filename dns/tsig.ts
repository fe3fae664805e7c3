/**
 * @module TSIG (RFC 8945): transaction signatures between a primary and its secondaries.
 *
 * The pieces live in `dns/tsig/`: algorithms and their wire names, the injected HMAC, the record and
 * where it sits in a message, what the MAC covers, signing, verifying (single messages and TCP
 * streams), the clock, typed errors, and the server's error answers. The HMAC is injected:
 * `webCryptoHmac` (SHA-1/256/384/512) here, `nodeHmac` (all six, MD5 and SHA-224 included) in
 * `dns/hmac.node.ts`.
 *
 * A secondary pulling a zone:
 * ```ts
 * const key = await prepareTsigKey({ name: "xfr.", algorithm: "hmac-sha256", secret: base64 }, nodeHmac);
 * const { message, mac } = await signRequest(axfrQuery, key);
 * const verifier = new TsigStreamVerifier(key, mac, { peer: "the primary" });
 * for await (const m of messages) await verifier.next(m);
 * verifier.finish();
 * ```
 * Pass `Message.tsig?.offset` (or `null`) as `verifier.next`'s second argument when the message was
 * decoded anyway: the verifier then skips its own walk of the sections.
 *
 * What the real peers do (Debian 12; proven in test/tsig/):
 * - knotd 3.2 and named 9.18 answer bad keys, MACs and times exactly as RFC 8945 §5.2 says;
 * - nsd 4.6 takes the algorithm from the request and the secret from the key name, so a request made
 *   with the right secret under the wrong algorithm verifies and is then REFUSED by the ACL; its
 *   BADTIME answer is unsigned;
 * - PowerDNS 4.7 answers every TSIG failure with a bare NOTAUTH (no TSIG record), and looks key names
 *   up case-sensitively (`XFR.key.` is not `xfr.key.` there);
 * - kdig 3.2 rejects a response whose key name is spelled in another case than its request's (dig
 *   accepts it); responses therefore repeat the request's spelling (`signResponse(message, verified)`);
 * - knotd drops an AXFR reader that stops reading for more than ~0.5 s (named and nsd wait), so a
 *   transfer client must keep draining the socket while it verifies and ships;
 * - kdig 3.2 verifies the TSIG of the first message of a transfer only; dig checks them all. Interop
 *   tests of stream signing therefore rely on dig and on our own verifier.
 */
export type { TsigAlgorithm, TsigAlgorithmInfo } from "./tsig/algorithm.ts";
export { TSIG_ALGORITHMS, algorithmFromWireName, algorithmInfo, minimumMacSize, parseTsigAlgorithm } from "./tsig/algorithm.ts";
export type { TsigErrorCode, TsigErrorDetails } from "./tsig/errors.ts";
export { TsigError, tsigErrorName } from "./tsig/errors.ts";
export type { HmacKey, HmacProvider } from "./tsig/hmac.ts";
export { webCryptoHmac } from "./tsig/hmac.ts";
export type { TsigKey, TsigKeySpec } from "./tsig/key.ts";
export { decodeBase64, prepareTsigKey } from "./tsig/key.ts";
export type { LocatedTsig, TsigRecord } from "./tsig/record.ts";
export { findTsig } from "./tsig/record.ts";
export type { SignOptions, SignedMessage, StreamSignOptions } from "./tsig/sign.ts";
export { TsigStreamSigner, signRequest, signResponse } from "./tsig/sign.ts";
export type { Clock } from "./tsig/time.ts";
export { DEFAULT_FUDGE } from "./tsig/time.ts";
export type { TsigKeyring, VerifiedRequest, VerifyOptions } from "./tsig/verify.ts";
export { TsigStreamVerifier, verifyRequest, verifyResponse } from "./tsig/verify.ts";
export { tsigErrorResponse } from "./tsig/error-response.ts";
