/**
 * @module The EDNS EXPIRE option (RFC 7314) through a whole message: what a request carries, what an answer
 * carries, and the seconds Backstop answers for a zone.
 */
import { describe, expect, it } from "vitest";
import { Opcode, RRClass, RRType } from "./constants.ts";
import { type Edns, EdnsOptionCode } from "./edns.ts";
import { asksExpire, EXPIRE_OPTION, expireAnswer, expireFromAnswer, expireRequest, expireSecondsLeft } from "./edns-expire.ts";
import { noFlags } from "./header.ts";
import { decodeMessage, encodeMessage, type Message } from "./message.ts";
import { Name } from "./name.ts";

const base: Edns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, flags: 0, options: [] };

/** `edns` through a real message's octets and back. */
function roundTrip(edns: Edns): Edns | undefined {
  const message: Message = {
    id: 7,
    opcode: Opcode.QUERY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: Name.parseAbsolute("example.test"), type: RRType.SOA, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
    edns,
  };
  return decodeMessage(encodeMessage(message).wire).edns;
}

describe("the EXPIRE option on the wire (RFC 7314 §2, §3)", () => {
  it("a request carries it empty: option 9, length 0", () => {
    expect(EXPIRE_OPTION).toBe(EdnsOptionCode.EXPIRE);
    expect(EXPIRE_OPTION).toBe(9);
    const edns = roundTrip({ ...base, options: [expireRequest()] });
    expect(edns?.options).toEqual([{ code: 9, data: new Uint8Array(0) }]);
    expect(asksExpire(edns)).toBe(true);
    // The request's empty option is not an answer.
    expect(expireFromAnswer(edns)).toBeUndefined();
  });

  it("a query without it, or without EDNS, does not ask", () => {
    expect(asksExpire(undefined)).toBe(false);
    expect(asksExpire(roundTrip(base))).toBe(false);
    expect(asksExpire(roundTrip({ ...base, options: [{ code: EdnsOptionCode.NSID, data: new Uint8Array(0) }] }))).toBe(false);
  });

  it.each([
    [0, [0, 0, 0, 0]],
    [1_209_600, [0x00, 0x12, 0x75, 0x00]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff]],
  ])("an answer carries %i seconds as 4 octets in network order, read back the same", (seconds, octets) => {
    const option = expireAnswer(seconds);
    expect([...option.data]).toEqual(octets);
    expect(expireFromAnswer(roundTrip({ ...base, options: [option] }))).toBe(seconds);
  });

  it("keeps the seconds within 0 … 2^32 − 1, rounded down", () => {
    expect(expireFromAnswer({ ...base, options: [expireAnswer(-5)] })).toBe(0);
    expect(expireFromAnswer({ ...base, options: [expireAnswer(2 ** 40)] })).toBe(0xffffffff);
    expect(expireFromAnswer({ ...base, options: [expireAnswer(99.9)] })).toBe(99);
    expect(expireFromAnswer({ ...base, options: [expireAnswer(Number.NaN)] })).toBe(0);
  });

  it("reads the option among others, and ignores one of another length", () => {
    const cookie = { code: EdnsOptionCode.COOKIE, data: new Uint8Array(8) };
    expect(expireFromAnswer(roundTrip({ ...base, options: [cookie, expireAnswer(300)] }))).toBe(300);
    expect(expireFromAnswer({ ...base, options: [{ code: 9, data: new Uint8Array([0, 0, 1]) }] })).toBeUndefined();
    expect(expireFromAnswer({ ...base, options: [{ code: 9, data: new Uint8Array(8) }] })).toBeUndefined();
    expect(expireFromAnswer(undefined)).toBeUndefined();
  });
});

describe("expireSecondsLeft: what Backstop answers for a zone (RFC 7314 §3)", () => {
  const now = 1_800_000_000_000;
  it.each([
    { why: "no expire time (a primary zone): the SOA's EXPIRE", expiresAt: null, soa: 604_800, want: 604_800 },
    { why: "a secondary: the whole seconds left", expiresAt: now + 3_599_999, soa: 604_800, want: 3_599 },
    { why: "exactly now: 0", expiresAt: now, soa: 604_800, want: 0 },
    { why: "already past: 0, never negative", expiresAt: now - 10_000, soa: 604_800, want: 0 },
    { why: "a clamp that serves longer than the SOA says: the SOA's EXPIRE, the most any secondary may use", expiresAt: now + 3_600_000, soa: 600, want: 600 },
  ])("$why", ({ expiresAt, soa, want }) => {
    expect(expireSecondsLeft(expiresAt, soa, now)).toBe(want);
  });

  it("counts down with the clock", () => {
    const expiresAt = now + 100_000;
    expect(expireSecondsLeft(expiresAt, 3600, now)).toBe(100);
    expect(expireSecondsLeft(expiresAt, 3600, now + 1000)).toBe(99);
    expect(expireSecondsLeft(expiresAt, 3600, now + 60_500)).toBe(39);
  });
});
