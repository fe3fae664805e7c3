/**
 * @module LOC (RFC 1876): a location as latitude, longitude, altitude and three precision values.
 *
 * Wire (§2): VERSION (must be 0), SIZE, HORIZ PRE, VERT PRE as "mantissa × 10^exponent centimetres" in
 * one octet each (both nibbles 0–9), then latitude and longitude as thousandths of an arc second offset by
 * 2^31 (north/east positive), and altitude in centimetres above a base 100 000 m below the WGS 84 spheroid.
 *
 * Text (§3): `d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt[m] [siz[m] [hp[m] [vp[m]]]]`, defaults 1m, 10000m,
 * 10m. Printed as BIND prints it: every field written out, seconds with three decimals.
 */
import type { Name } from "../name.ts";
import { decodeWith, encodeWith, type RdataCodec } from "./codec.ts";
import { wireCheck } from "./field.ts";
import { RdataError } from "./rdata-error.ts";
import { fieldError, TokenCursor, type Token } from "./token.ts";

export interface LocValue {
  version: number;
  size: number; // the raw precision octets
  horizontalPrecision: number;
  verticalPrecision: number;
  latitude: number; // raw 32-bit wire values
  longitude: number;
  altitude: number;
}

const EQUATOR = 2 ** 31;
const ALTITUDE_BASE = 10_000_000; // 100 000 m in cm
const MAS_PER_DEGREE = 3_600_000;

/** Digits 0–9 each; and zero only as 0×10^0, since 0×10^e for e > 0 is the same size written differently. */
function validPrecision(octet: number): boolean {
  const mantissa = octet >> 4, exponent = octet & 15;
  return mantissa <= 9 && exponent <= 9 && (mantissa > 0 || exponent === 0);
}

function precisionToText(octet: number): string {
  const mantissa = octet >> 4, exponent = octet & 15;
  if (exponent >= 2) return `${mantissa * 10 ** (exponent - 2)}m`;
  return `0.${(mantissa * 10 ** exponent).toString().padStart(2, "0")}m`;
}

function angleToText(raw: number, positive: string, negative: string): string {
  let v = raw - EQUATOR;
  const hemisphere = v < 0 ? negative : positive;
  v = Math.abs(v);
  const fraction = v % 1000;
  v = Math.floor(v / 1000);
  const seconds = v % 60;
  v = Math.floor(v / 60);
  const minutes = v % 60;
  const degrees = Math.floor(v / 60);
  return `${degrees} ${minutes} ${seconds}.${fraction.toString().padStart(3, "0")} ${hemisphere}`;
}

function altitudeToText(raw: number): string {
  const cm = raw - ALTITUDE_BASE;
  const abs = Math.abs(cm);
  return `${cm < 0 ? "-" : ""}${Math.floor(abs / 100)}.${(abs % 100).toString().padStart(2, "0")}m`;
}

/** A decimal with at most `decimals` fraction digits, scaled to an integer (`1.5`, 2 → 150). */
function scaled(token: Token, text: string, decimals: number, signed: boolean, what: string): number {
  const re = signed ? /^-?[0-9]+(\.[0-9]*)?$/ : /^[0-9]+(\.[0-9]*)?$/;
  if (token.quoted || !re.test(text)) throw fieldError("bad-text", token, `${what}: "${token.text}" is not a number`);
  const negative = text.startsWith("-");
  const [whole, frac = ""] = (negative ? text.slice(1) : text).split(".");
  if (frac.length > decimals) throw fieldError("bad-text", token, `${what}: at most ${decimals} decimals`);
  const v = Number(whole) * 10 ** decimals + Number(frac.padEnd(decimals, "0"));
  return negative ? -v : v;
}

function parseAngle(c: TokenCursor, max: number, positive: string, negative: string, what: string): number {
  const degreesToken = c.next(`${what} degrees`);
  const degrees = scaled(degreesToken, degreesToken.text, 0, false, `${what} degrees`);
  let minutes = 0, millis = 0;
  let token = c.next(`${what} hemisphere`);
  if (/^[0-9]/.test(token.text)) {
    minutes = scaled(token, token.text, 0, false, `${what} minutes`);
    if (minutes > 59) throw fieldError("bad-text", token, `${what} minutes above 59`);
    token = c.next(`${what} hemisphere`);
    if (/^[0-9]/.test(token.text)) {
      millis = scaled(token, token.text, 3, false, `${what} seconds`);
      if (millis >= 60_000) throw fieldError("bad-text", token, `${what} seconds of 60 or more`);
      token = c.next(`${what} hemisphere`);
    }
  }
  const hemisphere = token.text.toUpperCase();
  if (token.quoted || (hemisphere !== positive && hemisphere !== negative)) {
    throw fieldError("bad-text", token, `${what}: expected ${positive} or ${negative}, got "${token.text}"`);
  }
  const total = degrees * MAS_PER_DEGREE + minutes * 60_000 + millis;
  if (total > max * MAS_PER_DEGREE) throw fieldError("bad-text", degreesToken, `${what} beyond ${max} degrees`);
  return hemisphere === positive ? EQUATOR + total : EQUATOR - total;
}

function meters(token: Token, signed: boolean, what: string): number {
  const text = token.text.endsWith("m") || token.text.endsWith("M") ? token.text.slice(0, -1) : token.text;
  return scaled(token, text, 2, signed, what);
}

/** RFC 1876 §3: a size in cm written as mantissa and power of ten, rounding down to one digit. */
function precisionFromToken(token: Token, what: string): number {
  const cm = meters(token, false, what);
  if (cm > 9e9) throw fieldError("bad-text", token, `${what} above 90000000m`);
  let exponent = 0;
  let mantissa = cm;
  while (mantissa >= 10) {
    mantissa = Math.floor(mantissa / 10);
    exponent++;
  }
  return (mantissa << 4) | exponent;
}

export const loc: RdataCodec<LocValue> = {
  decode: (rdata) =>
    decodeWith(rdata, "LOC", (r) => {
      const version = r.u8();
      wireCheck(version === 0, `LOC version ${version} is not 0`, r);
      const v: LocValue = {
        version,
        size: r.u8(),
        horizontalPrecision: r.u8(),
        verticalPrecision: r.u8(),
        latitude: r.u32(),
        longitude: r.u32(),
        altitude: r.u32(),
      };
      wireCheck(validPrecision(v.size) && validPrecision(v.horizontalPrecision) && validPrecision(v.verticalPrecision), "LOC precision octet out of range", r);
      wireCheck(Math.abs(v.latitude - EQUATOR) <= 90 * MAS_PER_DEGREE, "LOC latitude beyond 90 degrees", r);
      wireCheck(Math.abs(v.longitude - EQUATOR) <= 180 * MAS_PER_DEGREE, "LOC longitude beyond 180 degrees", r);
      return v;
    }),
  encode: (v) =>
    encodeWith((w) => {
      w.u8(v.version);
      w.u8(v.size);
      w.u8(v.horizontalPrecision);
      w.u8(v.verticalPrecision);
      w.u32(v.latitude);
      w.u32(v.longitude);
      w.u32(v.altitude);
    }),
  toText: (v) =>
    `${angleToText(v.latitude, "N", "S")} ${angleToText(v.longitude, "E", "W")} ${altitudeToText(v.altitude)} ` +
    `${precisionToText(v.size)} ${precisionToText(v.horizontalPrecision)} ${precisionToText(v.verticalPrecision)}`,
  fromText: (tokens: readonly Token[], _origin: Name) => {
    const c = new TokenCursor(tokens);
    const latitude = parseAngle(c, 90, "N", "S", "latitude");
    const longitude = parseAngle(c, 180, "E", "W", "longitude");
    const altToken = c.next("altitude");
    const altitudeCm = meters(altToken, true, "altitude");
    if (altitudeCm < -ALTITUDE_BASE || altitudeCm + ALTITUDE_BASE > 0xffffffff) {
      throw fieldError("bad-text", altToken, "altitude out of range");
    }
    const optional = (fallback: number, what: string) => {
      const token = c.peek();
      if (token === undefined) return fallback;
      c.next(what);
      return precisionFromToken(token, what);
    };
    const size = optional(0x12, "size"); // 1m
    const horizontalPrecision = optional(0x16, "horizontal precision"); // 10000m
    const verticalPrecision = optional(0x13, "vertical precision"); // 10m
    c.expectEnd();
    if (tokens.length === 0) throw new RdataError("missing-field", "missing latitude");
    return { version: 0, size, horizontalPrecision, verticalPrecision, latitude, longitude, altitude: altitudeCm + ALTITUDE_BASE };
  },
};
