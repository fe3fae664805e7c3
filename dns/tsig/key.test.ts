/**
 * Keys as operators write them: algorithm spellings (the long hmac-md5 name included), base64 secrets,
 * and the typed errors for what cannot be a key.
 */
import { describe, expect, it } from "vitest";
import { nodeHmac } from "../hmac.node.ts";
import { Name } from "../name.ts";
import { algorithmFromWireName, algorithmInfo, parseTsigAlgorithm } from "./algorithm.ts";
import { TsigError } from "./errors.ts";
import { decodeBase64, prepareTsigKey } from "./key.ts";

describe("algorithm names", () => {
  it.each([
    ["hmac-md5", "hmac-md5"],
    ["HMAC-MD5.SIG-ALG.REG.INT", "hmac-md5"],
    ["hmac-md5.sig-alg.reg.int.", "hmac-md5"],
    ["hmac-sha1", "hmac-sha1"],
    ["hmac-sha224.", "hmac-sha224"],
    [" Hmac-Sha256 ", "hmac-sha256"],
    ["hmac-sha384", "hmac-sha384"],
    ["hmac-sha512", "hmac-sha512"],
    ["hmac-sha3", undefined],
    ["gss-tsig", undefined],
    ["hmac-md5.", "hmac-md5"], // an operator's spelling; on the wire only the long name counts (below)
  ])("%s → %s", (text, algorithm) => {
    expect(parseTsigAlgorithm(text)).toBe(algorithm);
  });

  it.each([
    ["HMAC-MD5.SIG-ALG.REG.INT.", "hmac-md5"],
    ["hmac-sha256.", "hmac-sha256"],
    ["HMAC-SHA512.", "hmac-sha512"],
    ["hmac-md5.", undefined],
    ["hmac-sha256.example.", undefined],
  ])("wire name %s → %s", (text, algorithm) => {
    expect(algorithmFromWireName(Name.parse(text))).toBe(algorithm);
  });

  it("hmac-md5 keeps its long wire name", () => {
    expect(algorithmInfo("hmac-md5").wireName.toString()).toBe("hmac-md5.sig-alg.reg.int.");
  });
});

describe("base64 secrets", () => {
  it.each([
    ["", ""],
    ["Zg==", "66"],
    ["Zg", "66"],
    ["Zm9v", "666f6f"],
    ["Zm9v\n YmFy", "666f6f626172"],
    ["+/+/", "fbffbf"],
  ])("%j → %s", (text, hexed) => {
    const bytes = decodeBase64(text)!;
    expect(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")).toBe(hexed);
  });

  it.each(["Z", "Zm9v!", "Zm9v====", "é"])("%j is not base64", (text) => {
    expect(decodeBase64(text)).toBeUndefined();
  });
});

describe("prepareTsigKey", () => {
  it.each([
    { case: "unknown algorithm", spec: { name: "k.", algorithm: "hmac-sha3", secret: "Zm9v" }, text: /unknown algorithm "hmac-sha3"/ },
    { case: "secret not base64", spec: { name: "k.", algorithm: "hmac-sha256", secret: "not base64!" }, text: /not valid base64/ },
    { case: "empty secret", spec: { name: "k.", algorithm: "hmac-sha256", secret: "" }, text: /not valid base64, or is empty/ },
    { case: "bad key name", spec: { name: "a..b", algorithm: "hmac-sha256", secret: "Zm9v" }, text: /not a domain name/ },
  ])("$case → invalid-key", async ({ spec, text }) => {
    const err = await prepareTsigKey(spec, nodeHmac).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsigError);
    expect(err).toMatchObject({ code: "invalid-key" });
    expect((err as Error).message).toMatch(text);
  });

  it("keeps no copy of the secret on the key object", async () => {
    const secret = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==";
    const key = await prepareTsigKey({ name: "K.example", algorithm: "hmac-sha256", secret }, nodeHmac);
    expect(key.name.toString()).toBe("K.example.");
    expect(JSON.stringify(key)).not.toContain(secret);
    expect(JSON.stringify(key)).not.toContain("secret-that");
  });
});
