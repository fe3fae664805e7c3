/**
 * @module RRSIG expiration read relative to now (RFC 4034 §3.1.5): values just before and after now, across
 * the 2^32 wrap, and the earliest of several, from rdata and from block-layout bytes.
 */
import { describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import { EarliestExpiry, resolveSignatureTime } from "./rrsig-expiry.ts";

/** RRSIG rdata with only the times filled in (signer and signature are irrelevant here). */
function rrsig(expiration: number, inception = 0): Uint8Array {
  const out = new Uint8Array(18 + 3);
  const view = new DataView(out.buffer);
  view.setUint16(0, RRType.A);
  view.setUint32(8, expiration >>> 0);
  view.setUint32(12, inception >>> 0);
  return out;
}

const NOW = 1_790_000_000; // 2026-09

describe("resolveSignatureTime", () => {
  it.each([
    ["a month ahead", NOW + 30 * 86_400, NOW + 30 * 86_400],
    ["a day ago", NOW - 86_400, NOW - 86_400],
    ["now", NOW, NOW],
    ["past the 2106 wrap, as the wire holds it", (NOW + 2 ** 31 - 10) % 2 ** 32, NOW + 2 ** 31 - 10],
    ["68 years ago rather than 68 years ahead", (NOW + 2 ** 31 + 10) % 2 ** 32, NOW - 2 ** 31 + 10],
  ])("%s", (_label, wire, expected) => {
    expect(resolveSignatureTime(wire, NOW)).toBe(expected);
  });

  it("near the wrap itself (now in 2106, a value just past 2^32)", () => {
    const now = 2 ** 32 - 100;
    expect(resolveSignatureTime(50, now)).toBe(2 ** 32 + 50);
  });
});

describe("EarliestExpiry", () => {
  it.each([
    ["no RRSIG", [[RRType.A, Uint8Array.of(192, 0, 2, 1)]], null],
    ["one RRSIG", [[RRType.RRSIG, rrsig(NOW + 100)]], (NOW + 100) * 1000],
    [
      "the earliest of several, others ignored",
      [
        [RRType.RRSIG, rrsig(NOW + 900)],
        [RRType.TXT, rrsig(NOW + 1)],
        [RRType.RRSIG, rrsig(NOW - 5)],
        [RRType.RRSIG, Uint8Array.of(1, 2, 3)],
      ],
      (NOW - 5) * 1000,
    ],
  ] as const)("%s", (_label, records, expected) => {
    const fromRdata = new EarliestExpiry(NOW * 1000);
    const fromBlock = new EarliestExpiry(NOW * 1000);
    for (const [type, rdata] of records) {
      fromRdata.record(type, rdata);
      const bytes = new Uint8Array(10 + rdata.length);
      const view = new DataView(bytes.buffer);
      view.setUint16(0, type);
      view.setUint16(8, rdata.length);
      bytes.set(rdata, 10);
      fromBlock.recordAt(view, 0);
    }
    expect(fromRdata.ms).toBe(expected);
    expect(fromBlock.ms).toBe(expected);
  });
});
