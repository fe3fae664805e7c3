/**
 * HMAC known answers: RFC 2202 (HMAC-MD5, HMAC-SHA1) and RFC 4231 (HMAC-SHA-224/256/384/512), test
 * case 2 (key "Jefe") and, for SHA-2, test case 6 (a 131-octet key, longer than the block). Both
 * providers must give the same bytes, whole or fed in parts.
 */
import { describe, expect, it } from "vitest";
import { nodeHmac } from "./hmac.node.ts";
import type { TsigAlgorithm } from "./tsig.ts";
import { webCryptoHmac } from "./tsig.ts";
import { toHex } from "./tsig/testing.ts";

const text = (s: string) => new TextEncoder().encode(s);
const jefe = { key: text("Jefe"), data: text("what do ya want for nothing?") };
const bigKey = { key: new Uint8Array(131).fill(0xaa), data: text("Test Using Larger Than Block-Size Key - Hash Key First") };

const vectors: { algorithm: TsigAlgorithm; input: typeof jefe; mac: string; webCrypto: boolean }[] = [
  { algorithm: "hmac-md5", input: jefe, mac: "750c783e6ab0b503eaa86e310a5db738", webCrypto: false },
  { algorithm: "hmac-sha1", input: jefe, mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", webCrypto: true },
  { algorithm: "hmac-sha224", input: jefe, mac: "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44", webCrypto: false },
  { algorithm: "hmac-sha256", input: jefe, mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", webCrypto: true },
  {
    algorithm: "hmac-sha384",
    input: jefe,
    mac: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
    webCrypto: true,
  },
  {
    algorithm: "hmac-sha512",
    input: jefe,
    mac: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    webCrypto: true,
  },
  { algorithm: "hmac-sha224", input: bigKey, mac: "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e", webCrypto: false },
  { algorithm: "hmac-sha256", input: bigKey, mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", webCrypto: true },
];

describe("HMAC providers against RFC 2202 / RFC 4231", () => {
  it.each(vectors)("$algorithm → $mac", async ({ algorithm, input, mac, webCrypto }) => {
    const providers = webCrypto ? [nodeHmac, webCryptoHmac] : [nodeHmac];
    for (const provider of providers) {
      const key = await provider(algorithm, input.key);
      expect(key.size * 2).toBe(mac.length);
      expect(toHex(await key.sign([input.data]))).toBe(mac);
      // Split anywhere, the same MAC.
      const cut = 7;
      expect(toHex(await key.sign([input.data.subarray(0, cut), new Uint8Array(0), input.data.subarray(cut)]))).toBe(mac);
    }
  });
});

describe("bad keys get typed errors", () => {
  it.each([
    { provider: "node", algorithm: "hmac-sha256" as TsigAlgorithm, secret: new Uint8Array(0), code: "invalid-key" },
    { provider: "webcrypto", algorithm: "hmac-sha256" as TsigAlgorithm, secret: new Uint8Array(0), code: "invalid-key" },
    { provider: "node", algorithm: "hmac-sha3" as TsigAlgorithm, secret: new Uint8Array(8), code: "unsupported-algorithm" },
    { provider: "webcrypto", algorithm: "hmac-md5" as TsigAlgorithm, secret: new Uint8Array(8), code: "unsupported-algorithm" },
  ])("$provider, $algorithm, $secret.length-octet secret → $code", async ({ provider, algorithm, secret, code }) => {
    const hmac = provider === "node" ? nodeHmac : webCryptoHmac;
    await expect(hmac(algorithm, secret)).rejects.toMatchObject({ name: "TsigError", code });
  });
});
