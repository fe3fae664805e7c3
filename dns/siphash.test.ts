/**
 * SipHash-2-4 against the reference vectors of the paper (Appendix A, and the reference implementation's
 * `vectors.h`): key 00 01 … 0f, messages of 0 to 63 octets 00 01 02 …; and against RFC 9018 Appendix A,
 * whose server cookies end in a SipHash-2-4 over the client cookie, version, reserved octets, timestamp and
 * client address.
 */
import { describe, expect, it } from "vitest";
import { sipKey, siphash24 } from "./siphash.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

/** Output for message length i (octets 0..i-1), as the paper prints them (the 64-bit value little-endian). */
const VECTORS = [
  "310e0edd47db6f72",
  "fd67dc93c539f874",
  "5a4fa9d909806c0d",
  "2d7efbd796666785",
  "b7877127e09427cf",
  "8da699cd64557618",
  "cee3fe586e46c9cb",
  "37d1018bf50002ab",
  "6224939a79f5f593",
  "b0e4a90bdf82009e",
  "f3b9dd94c5bb5d7a",
  "a7ad6b22462fb3f4",
  "fbe50e86bc8f1e75",
  "903d84c02756ea14",
  "eef27a8e90ca23f7",
  "e545be4961ca29a1",
  "db9bc2577fcc2a3f",
  "9447be2cf5e99a69",
  "9cd38d96f0b3c14b",
  "bd6179a71dc96dbb",
  "98eea21af25cd6be",
  "c7673b2eb0cbf2d0",
  "883ea3e395675393",
  "c8ce5ccd8c030ca8",
  "94af49f6c650adb8",
  "eab8858ade92e1bc",
  "f315bb5bb835d817",
  "adcf6b0763612e2f",
  "a5c91da7acaa4dde",
  "716595876650a2a6",
  "28ef495c53a387ad",
  "42c341d8fa92d832",
  "ce7cf2722f512771",
  "e37859f94623f3a7",
  "381205bb1ab0e012",
  "ae97a10fd434e015",
  "b4a31508beff4d31",
  "81396229f0907902",
  "4d0cf49ee5d4dcca",
  "5c73336a76d8bf9a",
  "d0a704536ba93e0e",
  "925958fcd6420cad",
  "a915c29bc8067318",
  "952b79f3bc0aa6d4",
  "f21df2e41d4535f9",
  "87577519048f53a9",
  "10a56cf5dfcd9adb",
  "eb75095ccd986cd0",
  "51a9cb9ecba312e6",
  "96afadfc2ce666c7",
  "72fe52975a4364ee",
  "5a1645b276d592a1",
  "b274cb8ebf87870a",
  "6f9bb4203de7b381",
  "eaecb2a30b22a87f",
  "9924a43cc1315724",
  "bd838d3aafbf8db7",
  "0b1a2a3265d51aea",
  "135079a3231ce660",
  "932b2846e4d70666",
  "e1915f5cb1eca46c",
  "f325965ca16d629f",
  "575ff28e60381be5",
  "724506eb4c328a95",
];

describe("siphash24", () => {
  const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
  const message = Uint8Array.from({ length: 64 }, (_, i) => i);

  it("has the 64 reference vectors", () => {
    expect(VECTORS).toHaveLength(64);
    const out = new Uint8Array(8);
    VECTORS.forEach((want, length) => {
      siphash24(key, message, 0, length, out, 0);
      expect(hex(out), `message of ${length} octets`).toBe(want);
    });
  });

  it("hashes a slice in place and writes at an offset", () => {
    const shifted = new Uint8Array(70);
    shifted.set(message.subarray(0, 63), 3);
    const out = new Uint8Array(12);
    siphash24(key, shifted, 3, 66, out, 2);
    expect(hex(out.subarray(2, 10))).toBe(VECTORS[63]);
    expect(out[0]).toBe(0);
    expect(out[10]).toBe(0);
  });

  it("gives RFC 9018 A.1's hash (the last 8 octets of its server cookie)", () => {
    // Client cookie | version 1 | reserved 0 | timestamp 1559731985 | 198.51.100.100
    const input = unhex("2464c4abcf10c957" + "01" + "000000" + "5cf79f11" + "c6336464");
    const out = new Uint8Array(8);
    siphash24(sipKey(unhex("e5e973e5a6b2a43f48e7dc849e37bfcf")), input, 0, input.length, out, 0);
    expect(hex(out)).toBe("1f8130c3eee29480");
  });

  it("refuses a key that is not 16 octets", () => {
    expect(() => sipKey(new Uint8Array(15))).toThrow(RangeError);
  });
});
