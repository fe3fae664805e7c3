/**
 * @module The injected HMAC behind TSIG, and its Web Crypto implementation.
 *
 * A provider turns a secret into an {@link HmacKey} once; the key then signs many messages. A 1M-record
 * AXFR arrives as thousands of messages, and importing the secret for each of them costs more than the
 * hash of a small message (Web Crypto, hmac-sha256: ~1 ms a 64 KiB message with an import each time,
 * 175 µs with the key prepared once; 274 vs 57 µs for 500 octets), so a key is prepared once per
 * transfer.
 *
 * `sign` takes the MAC input as a list of parts (prior MAC, header, body, TSIG variables): the TSIG
 * digest is a concatenation, and Node's incremental HMAC hashes the parts in place without copying a
 * 64 KiB message. Web Crypto has no incremental HMAC, so it joins them.
 *
 * Web Crypto supplies SHA-1, SHA-256, SHA-384 and SHA-512; HMAC-MD5 and HMAC-SHA224 come from the Node
 * provider (`dns/hmac.node.ts`), which the transfer-service injects.
 */
import { concatBytes } from "../bytes.ts";
import type { TsigAlgorithm } from "./algorithm.ts";
import { algorithmInfo } from "./algorithm.ts";
import { TsigError } from "./errors.ts";

export interface HmacKey {
  readonly algorithm: TsigAlgorithm;
  /** Output length in octets. */
  readonly size: number;
  /** HMAC over the concatenation of `parts`. The parts are only read. */
  sign(parts: readonly Uint8Array[]): Promise<Uint8Array>;
}

/** Prepares a secret for one algorithm. Throws `TsigError("unsupported-algorithm")` when it cannot. */
export type HmacProvider = (algorithm: TsigAlgorithm, secret: Uint8Array) => Promise<HmacKey>;

const webCryptoHash: Partial<Record<TsigAlgorithm, string>> = {
  "hmac-sha1": "SHA-1",
  "hmac-sha256": "SHA-256",
  "hmac-sha384": "SHA-384",
  "hmac-sha512": "SHA-512",
};


/** HMAC with `crypto.subtle`, available in workerd, browsers and Node. */
export const webCryptoHmac: HmacProvider = async (algorithm, secret) => {
  const hash = webCryptoHash[algorithm];
  if (hash === undefined) {
    throw new TsigError(
      "unsupported-algorithm",
      `${algorithm} is not available from Web Crypto; it needs the Node HMAC provider`,
    );
  }
  if (secret.length === 0) throw new TsigError("invalid-key", "an empty TSIG secret cannot key an HMAC");
  const cryptoKey = await crypto.subtle.importKey("raw", concatBytes([secret]), { name: "HMAC", hash }, false, ["sign"]);
  return {
    algorithm,
    size: algorithmInfo(algorithm).size,
    async sign(parts) {
      return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, concatBytes(parts)));
    },
  };
};
