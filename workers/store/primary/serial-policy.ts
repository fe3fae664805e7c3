/**
 * @module How a primary zone's SOA serial moves (issue 22): every change is one step, chosen by the zone's
 * `serialPolicy`. The arithmetic is RFC 1982's, through `dns/serial.ts`, so wrap-around is the same
 * everywhere:
 * - `increment`: the old serial plus one; 4294967295 wraps to 1, skipping 0 as BIND does (some
 *   secondaries treat 0 as "no serial").
 * - `unixtime`: the clock's seconds, when that is newer than the old serial (RFC 1982), else plus one.
 * - `dateserial`: YYYYMMDDnn of the UTC date (BIND's `serial-update-method date`): today's `00` when that
 *   is newer, else plus one, so a zone edited a hundred times a day runs into tomorrow's numbers, as BIND's.
 * A pure function of (policy, old serial, clock): the tests play wrap-around and same-second edits with it.
 */
import { Serial } from "../../../dns/serial.ts";
import type { SerialPolicy } from "../../../contract/vocabulary.ts";

/** YYYYMMDD00 of the UTC day of `nowMs`. */
export function dateSerialOf(nowMs: number): number {
  const d = new Date(nowMs);
  return (d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate()) * 100;
}

/** The serial a policy gives a new zone (no serial before it). */
export function firstSerial(policy: SerialPolicy, nowMs: number): number {
  switch (policy) {
    case "increment":
      return 1;
    case "unixtime":
      return Math.floor(nowMs / 1000) >>> 0;
    case "dateserial":
      return dateSerialOf(nowMs);
  }
}

/** Plus one, wrapping past 4294967295 to 1 (never 0). */
function plusOne(old: number): number {
  const next = new Serial(old).next().value;
  return next === 0 ? 1 : next;
}

/** The serial after `old` under `policy` at `nowMs`: always newer than `old` in RFC 1982 terms. */
export function nextSerial(policy: SerialPolicy, old: number, nowMs: number): number {
  if (policy === "increment") return plusOne(old);
  const wanted = firstSerial(policy, nowMs);
  return new Serial(wanted).isNewerThan(old) ? wanted : plusOne(old);
}
