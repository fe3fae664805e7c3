/**
 * @module The report step as a table: one row per rule of the refresh diagram's last line (report.ts). Each
 * row gives what the zone knew, the attempt's outcome and the clock, and the report and state that must
 * follow. The first-contact retries (5 s doubling up to RETRY), which once needed a silent socket and
 * real waits, are rows here too.
 */
import { describe, expect, it } from "vitest";
import { RRType } from "../../../dns/constants.ts";
import { Name } from "../../../dns/name.ts";
import type { SoaAnswer } from "../../remote/soa-query.ts";
import type { XfrResult } from "../../remote/xfr-in.ts";
import type { ZoneStatus } from "../../worker/worker-api.ts";
import { reportFor, type ReportedOutcome, transferSize, type ZoneBefore } from "./report.ts";
import type { EffectiveTimers, TimerClamps } from "./soa-timers.ts";

const NOW = Date.UTC(2026, 11, 7, 3, 0, 0);
const S = 1000;
const PEER = "192.0.2.1:53";
const ZONE = Name.parse("example.test.");

/** Clamps that let the SOA's values through (1 s … 2^31-1 s). */
const OPEN: TimerClamps = { refresh: { min: 1, max: 2 ** 31 - 1 }, retry: { min: 1, max: 2 ** 31 - 1 }, expire: { min: 1, max: 2 ** 31 - 1 } };
/** The defaults of config.ts (BIND's min-refresh-time 300 s, min-retry-time 500 s, Knot's 1 h expire floor). */
const DEFAULTS: TimerClamps = { refresh: { min: 300, max: 2_419_200 }, retry: { min: 500, max: 1_209_600 }, expire: { min: 3_600, max: 14_515_200 } };

function soa(serial: number, timers: { refresh: number; retry: number; expire: number } = { refresh: 3600, retry: 600, expire: 86_400 }): SoaAnswer {
  return { record: { name: ZONE, type: RRType.SOA, class: 1, ttl: 3600, rdata: new Uint8Array(22) }, serial, ...timers, minimum: 300, transport: "udp" };
}

function xfr(serial: number, style: XfrResult["style"] = "axfr"): XfrResult {
  return { style, soa: soa(serial).record, serial, records: 40, bytes: 1_200, messages: 1, changesets: 0, durationMs: 12 };
}

const SEEN: EffectiveTimers = { refresh: 3600, retry: 600, expire: 86_400 };
const NO_DATA: ZoneBefore = { serial: null, expiresAt: null, timers: null, bootstrapFailures: 0 };
const SERVED: ZoneBefore = { serial: 7, expiresAt: NOW + 3_600 * S, timers: SEEN, bootstrapFailures: 0 };
const silent: ReportedOutcome = { kind: "failed", detail: `${PEER}: no answer to our SOA query` };

interface Row {
  name: string;
  zone: ZoneBefore;
  outcome: ReportedOutcome;
  clamps?: TimerClamps;
  /** RETRY before any SOA was seen (the service's min-retry-time); 500 s unless given. */
  fallbackRetryS?: number;
  status: ZoneStatus;
  /** nextRefreshAt - NOW. */
  next: number;
  /** The stored expiry after the report: a time, or null for "unchanged". */
  expiresAt: number | null;
  lastCheckAt: number | null;
  /** The serial the zone serves afterwards (unchanged unless a primary confirmed the zone). */
  serial: number | null;
  bootstrapFailures: number;
  detail: RegExp;
}

const rows: Row[] = [
  {
    name: "first transfer ok: active, expiry and next refresh from the SOA",
    zone: { ...NO_DATA, bootstrapFailures: 3 },
    outcome: { kind: "transferred", peer: PEER, soa: soa(7), result: xfr(7), via: "axfr" },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 86_400 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^transferred serial 7 from 192\.0\.2\.1:53 by AXFR \(39 records, 1200 octets, 12 ms\)$/,
  },
  {
    name: "IXFR after a failed IXFR: the AXFR is said, and why",
    zone: SERVED,
    outcome: { kind: "transferred", peer: PEER, soa: soa(8), result: xfr(8), via: "axfr", fellBack: "NOTIMP" },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 86_400 * S,
    lastCheckAt: NOW,
    serial: 8,
    bootstrapFailures: 0,
    detail: /by AXFR .*; IXFR failed first: NOTIMP$/,
  },
  {
    name: "up to date: the expire timer restarts on a good SOA check alone",
    zone: SERVED,
    outcome: { kind: "up-to-date", peer: PEER, soa: soa(7) },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 86_400 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^up to date at serial 7 \(checked with 192\.0\.2\.1:53\)$/,
  },
  {
    name: "the SOA's timers are clamped: REFRESH 60 s waits the 300 s minimum",
    zone: SERVED,
    outcome: { kind: "up-to-date", peer: PEER, soa: soa(7, { refresh: 60, retry: 60, expire: 600 }) },
    clamps: DEFAULTS,
    status: "active",
    next: 300 * S,
    expiresAt: NOW + 3_600 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^up to date/,
  },
  {
    name: "RFC 7314: a transfer from a secondary with 600 s left expires in 600 s, not at the SOA's EXPIRE",
    zone: SERVED,
    outcome: { kind: "transferred", peer: PEER, soa: { ...soa(8), expireOption: 86_400 }, result: { ...xfr(8), expireOption: 600 }, via: "ixfr" },
    clamps: DEFAULTS,
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 600 * S,
    lastCheckAt: NOW,
    serial: 8,
    bootstrapFailures: 0,
    detail: /^transferred serial 8/,
  },
  {
    name: "RFC 7314: a transfer whose reply carried no option uses the SOA answer's",
    zone: SERVED,
    outcome: { kind: "transferred", peer: PEER, soa: { ...soa(8), expireOption: 1_000 }, result: xfr(8), via: "axfr" },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 1_000 * S,
    lastCheckAt: NOW,
    serial: 8,
    bootstrapFailures: 0,
    detail: /^transferred serial 8/,
  },
  {
    name: "RFC 7314: up to date with a secondary that has more left than we do (1 h): its time",
    zone: SERVED,
    outcome: { kind: "up-to-date", peer: PEER, soa: { ...soa(7), expireOption: 7_200 } },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 7_200 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^up to date at serial 7/,
  },
  {
    name: "RFC 7314: up to date with a secondary that has less left than we do: ours is kept",
    zone: SERVED,
    outcome: { kind: "up-to-date", peer: PEER, soa: { ...soa(7), expireOption: 60 } },
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 3_600 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^up to date at serial 7/,
  },
  {
    name: "RFC 7314: up to date with the primary itself (option = SOA EXPIRE): the full EXPIRE, clamped",
    zone: SERVED,
    outcome: { kind: "up-to-date", peer: PEER, soa: { ...soa(7, { refresh: 3600, retry: 600, expire: 600 }), expireOption: 600 } },
    clamps: DEFAULTS,
    status: "active",
    next: 3600 * S,
    expiresAt: NOW + 4_200 * S,
    lastCheckAt: NOW,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^up to date at serial 7/,
  },
  {
    name: "serial regressed: kept ours, retried at RETRY, expiry unchanged",
    zone: SERVED,
    outcome: { kind: "regressed", detail: `${PEER} serves serial 5, older than our serial 7`, soa: soa(5) },
    status: "serial-regressed",
    next: 600 * S,
    expiresAt: null,
    lastCheckAt: null,
    serial: 7,
    bootstrapFailures: 0,
    detail: /serves serial 5, older than our serial 7$/,
  },
  {
    name: "failure with data: failing, retried at the last SOA's RETRY",
    zone: SERVED,
    outcome: { kind: "failed", detail: `${PEER}: connection refused` },
    status: "failing",
    next: 600 * S,
    expiresAt: null,
    lastCheckAt: null,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^192\.0\.2\.1:53: connection refused$/,
  },
  {
    name: "failure past expiresAt: expired, and since when",
    zone: { ...SERVED, expiresAt: NOW - 1 },
    outcome: { kind: "failed", detail: `${PEER}: connection refused` },
    status: "expired",
    next: 600 * S,
    expiresAt: null,
    lastCheckAt: null,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^expired at 2026-12-07T02:59:59\.999Z with no successful check since; 192\.0\.2\.1:53: connection refused$/,
  },
  {
    name: "a regressed serial past expiresAt is expired too",
    zone: { ...SERVED, expiresAt: NOW - 1 },
    outcome: { kind: "regressed", detail: "older", soa: soa(5) },
    status: "expired",
    next: 600 * S,
    expiresAt: null,
    lastCheckAt: null,
    serial: 7,
    bootstrapFailures: 0,
    detail: /^expired at .*; older$/,
  },
  // First contact (bootstrap): the primary is silent and we hold nothing. 5 s, doubling, up to RETRY.
  ...[
    { failures: 0, fallbackRetryS: 12, next: 5 * S },
    { failures: 1, fallbackRetryS: 12, next: 10 * S },
    { failures: 2, fallbackRetryS: 12, next: 12 * S },
    { failures: 6, fallbackRetryS: 500, next: 320 * S },
    { failures: 7, fallbackRetryS: 500, next: 500 * S },
    { failures: 40, fallbackRetryS: 500, next: 500 * S },
  ].map(({ failures, fallbackRetryS, next }): Row => ({
    name: `primary silent at first contact, ${failures} failures before, RETRY ${fallbackRetryS} s: pending, next in ${next / S} s`,
    zone: { ...NO_DATA, bootstrapFailures: failures },
    outcome: silent,
    fallbackRetryS,
    status: "pending",
    next,
    expiresAt: null,
    lastCheckAt: null,
    serial: null,
    bootstrapFailures: failures + 1,
    detail: /^no transfer yet: 192\.0\.2\.1:53: no answer to our SOA query$/,
  })),
  {
    name: "first contact answered, transfer failed: pending, 5 s capped by the SOA's RETRY",
    zone: NO_DATA,
    outcome: { kind: "failed", detail: "AXFR refused", soa: soa(7, { refresh: 3600, retry: 3, expire: 86_400 }) },
    status: "pending",
    next: 3 * S,
    expiresAt: null,
    lastCheckAt: null,
    serial: null,
    bootstrapFailures: 1,
    detail: /^no transfer yet: AXFR refused$/,
  },
];

describe("the report of a refresh attempt", () => {
  it.each(rows)("$name", (row) => {
    const step = reportFor({
      outcome: row.outcome,
      zone: row.zone,
      clamps: row.clamps ?? OPEN,
      fallbackRetryS: row.fallbackRetryS ?? 500,
      servedRequestAt: null,
      now: NOW,
    });
    const { report, zone } = step;
    expect(report.status).toBe(row.status);
    expect(zone.status).toBe(row.status);
    expect(report.nextRefreshAt - NOW).toBe(row.next);
    expect(report.expiresAt).toBe(row.expiresAt);
    expect(report.lastCheckAt).toBe(row.lastCheckAt);
    expect(report.statusDetail).toMatch(row.detail);
    expect(zone.checked?.serial ?? row.zone.serial).toBe(row.serial);
    expect(zone.bootstrapFailures).toBe(row.bootstrapFailures);
    const answered = row.outcome.soa;
    expect(report.primarySerial).toBe(answered?.serial ?? null);
    expect(report.soa).toEqual(answered ? { refresh: answered.refresh, retry: answered.retry, expire: answered.expire, minimum: 300 } : null);
  });

  it("acknowledges the operator request the attempt served, whatever its outcome", () => {
    for (const outcome of [silent, { kind: "up-to-date", peer: PEER, soa: soa(7) } as const]) {
      const { report } = reportFor({ outcome, zone: SERVED, clamps: OPEN, fallbackRetryS: 500, servedRequestAt: NOW - 5, now: NOW });
      expect(report.servedRequestAt).toBe(NOW - 5);
    }
  });

  it("keeps the last SOA timers for a failure without an answer", () => {
    const first = reportFor({ outcome: { kind: "up-to-date", peer: PEER, soa: soa(7, { refresh: 100, retry: 40, expire: 1000 }) }, zone: { ...SERVED, timers: null }, clamps: OPEN, fallbackRetryS: 500, servedRequestAt: null, now: NOW });
    const then = reportFor({ outcome: silent, zone: { ...SERVED, timers: first.zone.timers }, clamps: OPEN, fallbackRetryS: 500, servedRequestAt: null, now: NOW });
    expect(then.report.nextRefreshAt - NOW).toBe(40 * S);
  });
});

describe("the detail's record count is the zone's, not the wire's", () => {
  it.each([
    // A zone of SOA, NS and two A records: five RRs on the wire, the closing SOA repeated (RFC 5936 §2.2).
    { style: "axfr", records: 5, changesets: 0, said: "4 records" },
    { style: "axfr", records: 2, changesets: 0, said: "1 record" },
    // IXFR: SOA(new), [SOA(old) 1 deletion SOA(new) 2 additions], SOA(new): 7 on the wire, 3 changed.
    { style: "ixfr", records: 7, changesets: 1, said: "1 changeset, 3 records deleted or added" },
    { style: "ixfr", records: 10, changesets: 2, said: "2 changesets, 4 records deleted or added" },
  ] as const)("$style of $records RRs → $said", ({ style, records, changesets, said }) => {
    expect(transferSize({ style, records, changesets })).toBe(said);
  });

  it("an AXFR's detail says the count the Worker stores as recordCount", () => {
    const result: XfrResult = { ...xfr(9), records: 5 };
    const step = reportFor({
      outcome: { kind: "transferred", peer: PEER, soa: soa(9), result, via: "axfr" },
      zone: NO_DATA,
      clamps: OPEN,
      fallbackRetryS: 500,
      servedRequestAt: null,
      now: NOW,
    });
    expect(step.report.statusDetail).toContain("(4 records, ");
  });
});
