/** @module SecretBox: round trip, binding to the key name, and typed errors for bad keys and ciphertexts. */
import { describe, expect, it } from "vitest";
import { SecretBox, SecretBoxError } from "./secret-box.ts";

const KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)));
const secret = new TextEncoder().encode("a very secret TSIG key");

describe("SecretBox", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the ciphertext", async () => {
    const box = await SecretBox.fromBase64(KEY);
    const a = await box.seal(secret, "xfr-key");
    const b = await box.seal(secret, "xfr-key");
    expect(a).not.toEqual(b);
    expect(a.length).toBe(12 + secret.length + 16);
    expect(new TextDecoder("latin1").decode(a)).not.toContain("secret");
    expect(await box.open(a, "xfr-key")).toEqual(secret);
  });

  it.each([
    ["tampered", (s: Uint8Array) => s.map((v, i) => (i === 20 ? v ^ 1 : v)), "xfr-key"],
    ["truncated", (s: Uint8Array) => s.subarray(0, 20), "xfr-key"],
    ["too short", (s: Uint8Array) => s.subarray(0, 5), "xfr-key"],
    ["moved to another key's row", (s: Uint8Array) => s, "other-key"],
  ])("refuses a %s ciphertext with a typed error", async (_label, mangle, name) => {
    const box = await SecretBox.fromBase64(KEY);
    const sealed = mangle(await box.seal(secret, "xfr-key"));
    await expect(box.open(sealed, name)).rejects.toMatchObject({ code: "bad-ciphertext" });
  });

  it.each([
    [undefined, "missing-key"],
    ["", "missing-key"],
    ["not base64!!", "bad-key"],
    [btoa("sixteen bytes!!!"), "bad-key"],
  ])("rejects encryption key %j as %s", async (key, code) => {
    const err = await SecretBox.fromBase64(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretBoxError);
    expect((err as SecretBoxError).code).toBe(code);
  });
});
