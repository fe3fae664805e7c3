import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Serial, type SerialOrder } from "./serial.ts";

const MAX = 4294967295;
const HALF = 2147483648;

describe("Serial.compare (RFC 1982 §3.2)", () => {
  const cases: Array<[a: number, b: number, order: SerialOrder]> = [
    [0, 0, "eq"],
    [MAX, MAX, "eq"],
    [1, 2, "lt"],
    [2, 1, "gt"],
    [2024010101, 2024010102, "lt"],
    // Wrap-around: 4294967295 + 1 = 0 is after it.
    [MAX, 0, "lt"],
    [0, MAX, "gt"],
    [MAX - 5, 10, "lt"],
    // The examples of RFC 1982 §5.2 (SERIAL_BITS = 2) scaled to 32 bits: 0 < 1 < 2 < 3 < 0, 0 ? 2.
    [0, HALF - 1, "lt"],
    [HALF - 1, 0, "gt"],
    [0, HALF + 1, "gt"],
    [HALF + 1, 0, "lt"],
    // Exactly 2^31 apart: undefined both ways.
    [0, HALF, "undefined"],
    [HALF, 0, "undefined"],
    [100, 100 + HALF, "undefined"],
    [MAX, HALF - 1, "undefined"],
  ];
  it.each(cases)("%d vs %d → %s", (a, b, order) => {
    expect(new Serial(a).compare(new Serial(b))).toBe(order);
    expect(new Serial(a).compare(b)).toBe(order);
    expect(new Serial(a).isOlderThan(b)).toBe(order === "lt");
    expect(new Serial(a).isNewerThan(b)).toBe(order === "gt");
    expect(new Serial(a).equals(b)).toBe(order === "eq");
  });

  it("is antisymmetric, and undefined exactly at a distance of 2^31", () => {
    const flip: Record<SerialOrder, SerialOrder> = { lt: "gt", gt: "lt", eq: "eq", undefined: "undefined" };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: MAX }), (a, b) => {
        const ab = new Serial(a).compare(b);
        expect(new Serial(b).compare(a)).toBe(flip[ab]);
        expect(ab === "undefined").toBe(Math.abs(a - b) === HALF);
      }),
      { seed: 1982, numRuns: 2000 },
    );
  });
});

describe("Serial.add (RFC 1982 §3.1)", () => {
  const cases: Array<[s: number, n: number, sum: number]> = [
    [0, 0, 0],
    [1, 1, 2],
    [MAX, 1, 0],
    [MAX, 2, 1],
    [HALF, HALF - 1, MAX],
    [HALF + 1, HALF - 1, 0],
    [2024010100, 1, 2024010101],
  ];
  it.each(cases)("%d + %d = %d", (s, n, sum) => {
    expect(new Serial(s).add(n).value).toBe(sum);
  });

  it("a sum with 0 < n < 2^31 is always newer than where it started", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 1, max: HALF - 1 }), (s, n) => {
        expect(new Serial(s).add(n).compare(s)).toBe("gt");
      }),
      { seed: 1034, numRuns: 2000 },
    );
  });

  it("next() wraps 4294967295 to 0", () => {
    expect(new Serial(MAX).next().value).toBe(0);
    expect(new Serial(7).next().toString()).toBe("8");
    expect(JSON.stringify({ serial: new Serial(9) })).toBe('{"serial":9}');
  });
});

describe("Serial bad input", () => {
  const badValues: Array<[label: string, value: number]> = [
    ["negative", -1],
    ["2^32", 4294967296],
    ["fraction", 1.5],
    ["NaN", Number.NaN],
  ];
  it.each(badValues)("rejects a %s value", (_label, value) => {
    expect(() => new Serial(value)).toThrowError(RangeError);
  });

  const badIncrements: Array<[label: string, n: number]> = [
    ["negative", -1],
    ["2^31 (undefined, RFC 1982 §3.1)", HALF],
    ["above 2^31", MAX],
    ["fraction", 0.5],
  ];
  it.each(badIncrements)("rejects a %s increment", (_label, n) => {
    expect(() => new Serial(5).add(n)).toThrowError(RangeError);
  });
});
