/**
 * @module SOA serial numbers and their RFC 1982 arithmetic (SERIAL_BITS = 32).
 *
 * Serials wrap around: 1 is "after" 4294967295. RFC 1982 §3.2 defines s1 < s2 only when the two are less
 * than 2^31 apart going forwards; when they are exactly 2^31 apart the comparison is undefined, and this
 * type says so (`"undefined"`) instead of picking an answer, so the refresh logic must decide explicitly
 * (RFC 1982 §3.2: "it is not possible to determine which is greater").
 *
 * This is the one place in Backstop that compares or increments serials. Everything else (refresh, IXFR
 * chains, NOTIFY handling, the store) goes through `Serial`; never compare two serial numbers with `<`.
 */

export type SerialOrder = "lt" | "eq" | "gt" | "undefined";

const HALF = 0x80000000; // 2^31
const MODULUS = 0x100000000; // 2^32

/** A 32-bit SOA serial number. Immutable. */
export class Serial {
  /** The largest increment RFC 1982 §3.1 allows in one addition: 2^31 - 1. */
  static readonly MAX_INCREMENT = HALF - 1;

  /** @throws RangeError unless `value` is an integer in 0 – 2^32-1. */
  constructor(readonly value: number) {
    if (!Number.isInteger(value) || value < 0 || value >= MODULUS) {
      throw new RangeError(`serial ${value} is outside 0–4294967295`);
    }
  }

  static of(value: number): Serial {
    return new Serial(value);
  }

  /**
   * RFC 1982 §3.2 order of this serial relative to `other`:
   * - `"eq"` when equal;
   * - `"lt"` when `other` is less than 2^31 ahead of this one (counting forwards, wrapping at 2^32);
   * - `"gt"` when this one is less than 2^31 ahead of `other`;
   * - `"undefined"` when they are exactly 2^31 apart.
   */
  compare(other: Serial | number): SerialOrder {
    const b = typeof other === "number" ? new Serial(other).value : other.value;
    const a = this.value;
    if (a === b) return "eq";
    // How far `b` lies ahead of `a`, going forwards modulo 2^32.
    const ahead = (b - a + MODULUS) % MODULUS;
    if (ahead === HALF) return "undefined";
    return ahead < HALF ? "lt" : "gt";
  }

  /** True when this serial is strictly greater than `other` in RFC 1982 terms (false when undefined). */
  isNewerThan(other: Serial | number): boolean {
    return this.compare(other) === "gt";
  }

  /** True when this serial is strictly less than `other` in RFC 1982 terms (false when undefined). */
  isOlderThan(other: Serial | number): boolean {
    return this.compare(other) === "lt";
  }

  equals(other: Serial | number): boolean {
    return this.compare(other) === "eq";
  }

  /**
   * RFC 1982 §3.1 addition: (s + n) mod 2^32, for 0 ≤ n ≤ 2^31 - 1. Larger additions are undefined.
   * @throws RangeError for `n` outside that range.
   */
  add(n: number): Serial {
    if (!Number.isInteger(n) || n < 0 || n > Serial.MAX_INCREMENT) {
      throw new RangeError(`serial increment ${n} is outside 0–${Serial.MAX_INCREMENT} (RFC 1982 §3.1)`);
    }
    return new Serial((this.value + n) % MODULUS);
  }

  /** The next serial, wrapping 4294967295 to 0. */
  next(): Serial {
    return this.add(1);
  }

  toString(): string {
    return String(this.value);
  }

  toJSON(): number {
    return this.value;
  }
}
