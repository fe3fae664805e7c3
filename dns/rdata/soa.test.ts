/**
 * @module The SOA serial (read and written in place) and MINIMUM (read) agree with the full codec, for any SOA (names of any
 * length, rdata inside a larger buffer), and nothing but the serial changes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Name } from "../name.ts";
import { RdataError } from "./rdata-error.ts";
import { soa, soaMinimum, soaSerial, withSoaSerial } from "./soa.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const name = fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { maxLength: 5 }).map((labels) => Name.fromLabels(labels));
const value = fc.record({ mname: name, rname: name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 });

describe("SOA serial", () => {
  it("soaSerial and withSoaSerial agree with the codec, for rdata anywhere in a buffer", () => {
    fc.assert(
      fc.property(value, u32, fc.nat({ max: 7 }), (v, serial, pad) => {
        const wire = soa.encode(v);
        const inside = new Uint8Array(pad + wire.length + 3);
        inside.set(wire, pad);
        const rdata = inside.subarray(pad, pad + wire.length);
        expect(soaSerial(rdata)).toBe(v.serial);
        expect(soaMinimum(rdata)).toBe(v.minimum);
        const changed = withSoaSerial(rdata, serial);
        expect(soa.decode(changed)).toEqual({ ...v, serial });
        expect(soaSerial(rdata)).toBe(v.serial); // the input is left as it was
      }),
      { seed: 1982, numRuns: 300 },
    );
  });

  it("a serial past 2^32 is written modulo 2^32", () => {
    const wire = soa.encode({ mname: Name.root, rname: Name.root, serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 });
    expect(soaSerial(withSoaSerial(wire, 2 ** 32 + 7))).toBe(7);
  });

  it.each([0, 4, 19])("rdata of %i octets has no serial: RdataError", (length) => {
    expect(() => soaSerial(new Uint8Array(length))).toThrow(RdataError);
    expect(() => withSoaSerial(new Uint8Array(length), 1)).toThrow(RdataError);
    expect(() => soaMinimum(new Uint8Array(length))).toThrow(RdataError);
  });
});
