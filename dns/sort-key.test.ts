/**
 * @module `wireSortKey` gives exactly `Name.sortKey()`: a table of awkward names, plus generated ones
 * (fast-check), and typed errors for bad wire names. And, against `Name.compare` and `isSubdomainOf` as
 * the oracle: byte order of keys is canonical order, and a key prefix is ancestry, for generated names.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes } from "./bytes.ts";
import { Name } from "./name.ts";
import { compareWireNames, keyHasPrefix, wireNameAtOrBelow, wireSortKey, WireNameError } from "./sort-key.ts";

describe("wireSortKey", () => {
  it.each([".", "example.com.", "WWW.Example.COM.", "a\\000b.example.", "\\001.\\002.example.", "*.x.example.", "a.b.c.d.e.f.g.", "\\255\\127.z."])(
    "equals Name.sortKey() for %j",
    (text) => {
      const name = Name.parse(text);
      const wire = Uint8Array.of(7, ...name.toWire(), 9);
      const { key, next } = wireSortKey(wire, 1);
      expect(key).toEqual(name.sortKey());
      expect(next).toBe(1 + name.wireLength);
    },
  );

  it("equals Name.sortKey() for generated names", () => {
    const label = fc.uint8Array({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(fc.array(label, { maxLength: 8 }), (labels) => {
        const name = Name.fromLabels(labels);
        expect(wireSortKey(name.toWire(), 0).key).toEqual(name.sortKey());
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["a compression pointer", Uint8Array.of(0xc0, 0x0c)],
    ["a bad label type", Uint8Array.of(0x41, 0x61)],
    ["a truncated label", Uint8Array.of(5, 0x61, 0x62)],
    ["no terminating root", Uint8Array.of(1, 0x61)],
  ])("throws a WireNameError for %s", (_label, wire) => {
    expect(() => wireSortKey(wire, 0)).toThrow(WireNameError);
  });

  it("keyHasPrefix is ancestry", () => {
    const apex = Name.parse("example.com.").sortKey();
    expect(keyHasPrefix(Name.parse("a.b.example.com.").sortKey(), apex)).toBe(true);
    expect(keyHasPrefix(Name.parse("example.com.").sortKey(), apex)).toBe(true);
    expect(keyHasPrefix(Name.parse("badexample.com.").sortKey(), apex)).toBe(false);
    expect(keyHasPrefix(Name.parse("com.").sortKey(), apex)).toBe(false);
  });

  it("byte order of keys is canonical order, and a key prefix is ancestry, for generated names", () => {
    // Few distinct octets (case pairs, 0x00 and 0x01, the escape's neighbours) so that names share labels.
    const octet = fc.constantFrom(0x00, 0x01, 0x02, 0x41, 0x61, 0x5a, 0x7a, 0x5b, 0xff);
    const name = fc
      .array(fc.array(octet, { minLength: 1, maxLength: 3 }), { maxLength: 4 })
      .map((labels) => Name.fromLabels(labels.map((l) => Uint8Array.from(l))));
    fc.assert(
      fc.property(name, name, (a, b) => {
        const ka = a.sortKey(), kb = b.sortKey();
        expect(Math.sign(compareBytes(ka, kb)), `${a} vs ${b}`).toBe(Math.sign(a.compare(b)));
        expect(keyHasPrefix(ka, kb), `${a} under ${b}`).toBe(a.isSubdomainOf(b));
      }),
      { seed: 4034, numRuns: 2_000 },
    );
  });
});

describe("compareWireNames and wireNameAtOrBelow", () => {
  // Labels from a small alphabet (letters in both cases, 0x00, 0x01, 0x02, 0xff) so that equal and prefix labels are common.
  const octet = fc.constantFrom(0x61, 0x41, 0x62, 0x42, 0x00, 0x01, 0x02, 0xff);
  const name = fc.array(fc.array(octet, { minLength: 1, maxLength: 4 }), { maxLength: 4 }).map((labels) => Name.fromLabels(labels.map((l) => Uint8Array.from(l))));
  const sign = (n: number) => Math.sign(n);

  it("orders two names in place exactly as their sort keys (generated names)", () => {
    fc.assert(
      fc.property(name, name, (a, b) => {
        const buf = Uint8Array.of(9, ...a.toWire(), ...b.toWire());
        expect(sign(compareWireNames(buf, 1, buf, 1 + a.wireLength))).toBe(sign(compareBytes(a.sortKey(), b.sortKey())));
      }),
      { numRuns: 2000, seed: 28 },
    );
  });

  it("tells a name at or below another as a key prefix does (generated names)", () => {
    fc.assert(
      fc.property(name, name, fc.boolean(), (a, b, nest) => {
        // Half the time, a name that is below the other by construction.
        const below = nest ? Name.fromLabels([...a.labels, ...b.labels]) : a;
        expect(wireNameAtOrBelow(Uint8Array.of(3, ...below.toWire()), 1, b.toWire())).toBe(keyHasPrefix(below.sortKey(), b.sortKey()));
      }),
      { numRuns: 2000, seed: 29 },
    );
    expect(wireNameAtOrBelow(Name.parse("xexample.com").toWire(), 0, Name.parse("example.com").toWire())).toBe(false);
    expect(wireNameAtOrBelow(Name.parse("A.EXAMPLE.com").toWire(), 0, Name.parse("example.COM").toWire())).toBe(true);
  });
});
