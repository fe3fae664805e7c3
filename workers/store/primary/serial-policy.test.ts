/**
 * @module The serial policies as a table (issue 22): each step is newer than the last in RFC 1982 terms,
 * wraps past 4294967295 (skipping 0), and the clock policies fall back to plus one when the clock would not
 * move the serial forward (an edit in the same second, a hundredth edit in a day, a clock behind the serial).
 */
import { describe, expect, it } from "vitest";
import { Serial } from "../../../dns/serial.ts";
import { dateSerialOf, firstSerial, nextSerial } from "./serial-policy.ts";

const T = Date.UTC(2026, 11, 7, 8, 30, 0); // 2026-12-07T08:30:00Z
const unix = Math.floor(T / 1000);

describe("serial policies", () => {
  it.each<[string, "increment" | "unixtime" | "dateserial", number, number, number]>([
    ["increment: plus one", "increment", 41, T, 42],
    ["increment: wraps past 2^32 - 1, skipping 0", "increment", 4294967295, T, 1],
    ["increment: 2^31 - 1 to 2^31", "increment", 2147483647, T, 2147483648],
    ["unixtime: the clock's seconds", "unixtime", 5, T, unix],
    ["unixtime: same second again is plus one", "unixtime", unix, T, unix + 1],
    ["unixtime: serial ahead of the clock is plus one", "unixtime", unix + 100, T, unix + 101],
    ["unixtime: a serial 2^31 away (RFC 1982 undefined) is plus one", "unixtime", (unix + 2 ** 31) % 2 ** 32, T, ((unix + 2 ** 31) % 2 ** 32) + 1],
    ["dateserial: today's 00", "dateserial", 2026120599, T, 2026120700],
    ["dateserial: second edit today", "dateserial", 2026120700, T, 2026120701],
    ["dateserial: the hundredth edit runs into tomorrow's numbers", "dateserial", 2026120799, T, 2026120800],
    ["dateserial: from a unixtime-sized serial (newer by RFC 1982) is plus one", "dateserial", 4000000000, T, 4000000001],
    ["dateserial: from 2^32 - 1, today's date is newer across the wrap (RFC 1982)", "dateserial", 4294967295, T, 2026120700],
  ])("%s", (_why, policy, old, now, expected) => {
    const next = nextSerial(policy, old, now);
    expect(next).toBe(expected);
    expect(new Serial(next).isNewerThan(old)).toBe(true);
  });

  it("gives a new zone 1, the clock's seconds, or today's 00", () => {
    expect(firstSerial("increment", T)).toBe(1);
    expect(firstSerial("unixtime", T)).toBe(unix);
    expect(firstSerial("dateserial", T)).toBe(2026120700);
    expect(dateSerialOf(Date.UTC(2027, 0, 1, 0, 0, 0))).toBe(2027010100);
  });
});
