/**
 * dns/tsig inside workerd: the runtime-neutral TSIG core with the Web Crypto HMAC, as a Worker would use
 * it. BIND 9's known hmac-sha1 answer (via the Kea TSIG tests), round trips and a signed stream for the
 * SHA-2 algorithms, and the typed refusal of hmac-md5 and hmac-sha224, which Web Crypto lacks.
 */
import { describe, expect, it } from "vitest";
import { RRType } from "../dns/constants.ts";
import type { TsigAlgorithm } from "../dns/tsig.ts";
import {
  TsigError,
  TsigStreamSigner,
  TsigStreamVerifier,
  prepareTsigKey,
  signRequest,
  verifyRequest,
  webCryptoHmac,
} from "../dns/tsig.ts";
import { aRecord, buildMessage, fixedClock, toHex } from "../dns/tsig/testing.ts";

const query = (id: number) => buildMessage({ id, flags: 0x0100, question: { name: "www.example.com", type: RRType.A } });

describe("TSIG with Web Crypto in workerd", () => {
  it("computes BIND 9's hmac-sha1 MAC for a dig -y query", async () => {
    const key = await prepareTsigKey({ name: "www.example.com", algorithm: "hmac-sha1", secret: "MA+QDhXbyqUak+qnMFyTyEirzng=" }, webCryptoHmac);
    const signed = await signRequest(query(0x0967), key, { now: fixedClock(0x4dae7d5f) });
    expect(toHex(signed.mac)).toBe("415340c7daf824ed684ee586f7b5a67a2febc0d3");
  });

  it.each(["hmac-sha256", "hmac-sha384", "hmac-sha512"] as TsigAlgorithm[])("%s: request and a 20-message stream verify", async (algorithm) => {
    const now = fixedClock(1_700_000_000);
    const key = await prepareTsigKey({ name: "xfr.example.", algorithm, secret: "d29ya2VyZC13ZWItY3J5cHRvLXRzaWctdGVzdA==" }, webCryptoHmac);
    const req = await signRequest(query(7), key, { now });
    expect((await verifyRequest(req.message, [key], { now }))!.mac).toEqual(req.mac);
    const signer = new TsigStreamSigner(key, req.mac, { now, signEvery: 7 });
    const verifier = new TsigStreamVerifier(key, req.mac, { now });
    for (let i = 0; i < 20; i++) {
      const m = buildMessage({ id: 7, flags: 0x8400, answers: [aRecord(`h${i}.example.com`, `192.0.2.${i}`)] });
      await verifier.next(await signer.next(m, { last: i === 19 }));
    }
    verifier.finish();
    expect(verifier.messages).toBe(20);
  });

  it.each(["hmac-md5", "hmac-sha224"])("%s is refused with a typed error", async (algorithm) => {
    const err = await prepareTsigKey({ name: "k.", algorithm, secret: "Zm9vYmFy" }, webCryptoHmac).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsigError);
    expect(err).toMatchObject({ code: "unsupported-algorithm" });
  });
});
