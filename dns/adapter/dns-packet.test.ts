/**
 * @module The dns-packet adapter agrees, octet for octet, with a field-by-field codec of the same layout
 * (so using dns-packet for DS/CDS and TLSA/SMIMEA changes nothing), and short rdata fails with
 * `RdataError` rather than dns-packet's RangeError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineRdata } from "../rdata/codec.ts";
import { hexToEnd, u16, u8 } from "../rdata/field.ts";
import { RdataError } from "../rdata/rdata-error.ts";
import { decodeDs, decodeTlsa, encodeDs, encodeTlsa } from "./dns-packet.ts";

const dsFields = defineRdata("DS", { keyTag: u16("key tag"), algorithm: u8("algorithm"), digestType: u8("digest type"), digest: hexToEnd("digest") });
const tlsaFields = defineRdata("TLSA", { usage: u8("usage"), selector: u8("selector"), matchingType: u8("matching type"), data: hexToEnd("data") });

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("dns-packet adapter", () => {
  it("DS: same octets as the field codec, both ways", () => {
    const value = fc.record({
      keyTag: fc.integer({ min: 0, max: 0xffff }),
      algorithm: fc.integer({ min: 0, max: 255 }),
      digestType: fc.integer({ min: 0, max: 255 }),
      digest: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(value, (v) => {
        const wire = encodeDs(v);
        expect(hex(wire)).toBe(hex(dsFields.encode(v)));
        expect(decodeDs(wire)).toEqual(dsFields.decode(wire));
      }),
      { seed: 4034, numRuns: 500 },
    );
  });

  it("TLSA: same octets as the field codec, both ways", () => {
    const value = fc.record({
      usage: fc.integer({ min: 0, max: 255 }),
      selector: fc.integer({ min: 0, max: 255 }),
      matchingType: fc.integer({ min: 0, max: 255 }),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(value, (v) => {
        const wire = encodeTlsa(v);
        expect(hex(wire)).toBe(hex(tlsaFields.encode(v)));
        expect(decodeTlsa(wire)).toEqual(tlsaFields.decode(wire));
      }),
      { seed: 6698, numRuns: 500 },
    );
  });

  it.each([
    ["DS", () => decodeDs(Uint8Array.of(1, 2, 3))],
    ["TLSA", () => decodeTlsa(Uint8Array.of(1, 2))],
    ["DS empty", () => decodeDs(new Uint8Array(0))],
  ])("%s: short rdata is an RdataError", (_what, run) => {
    expect(run).toThrow(RdataError);
  });
});
