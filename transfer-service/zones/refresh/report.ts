/**
 * @module The report step: a refresh attempt's outcome, with what the zone knew before it and the clock,
 * turned into the `ZoneReport` stored in D1 and the zone's state after it. Pure: no I/O, no timer, no
 * clock of its own, so every rule of the refresh diagram's last line is one row of a table test
 * (report.test.ts).
 *
 * - UP TO DATE / TRANSFERRED: `active`; the expire time is reset (on every good SOA check, not only
 *   after a transfer: RFC 1034 §4.3.5 counts a successful check as a refresh), to the SOA's EXPIRE or to
 *   what the primary's EDNS EXPIRE option says its own copy has left (RFC 7314, `expireAfter`); next at
 *   REFRESH.
 * - Every primary failed: `failing`, or `serial-regressed` when a primary answered with an older serial;
 *   `expired` once past `expiresAt` (the Worker already answers SERVFAIL then, from the data); next at
 *   RETRY. The expire time stays as it was (`expiresAt: null` leaves it unchanged).
 * - No data yet and no primary answered: `pending`, next after 5 s, doubling with each failure up to RETRY
 *   (`BOOTSTRAP_RETRY_FIRST_MS`).
 * Timers are the SOA's, clamped (soa-timers.ts); before any SOA was seen, RETRY is the service's lowest.
 */
import type { XfrResult } from "../../remote/xfr-in.ts";
import type { ZoneReport, ZoneStatus } from "../../worker/worker-api.ts";
import type { RefreshOutcome } from "./refresh.ts";
import { effectiveTimers, expireAfter, type EffectiveTimers, type TimerClamps } from "./soa-timers.ts";

/**
 * A zone we hold no data for yet is retried sooner than RETRY after a failure, on an interval that doubles
 * from this one up to RETRY (as Knot bootstraps a zone): the clamped RETRY (BIND's min-retry-time, 500 s)
 * would otherwise leave a newly added zone unserved for minutes after one failed first contact, while a
 * zone with data keeps serving and can afford the SOA's RETRY.
 */
export const BOOTSTRAP_RETRY_FIRST_MS = 5_000;

/** An outcome that is reported (a busy lease is not: the instance holding it reports). */
export type ReportedOutcome = Exclude<RefreshOutcome, { kind: "lease-busy" }>;

/** What the zone knew before the attempt. */
export interface ZoneBefore {
  /** Serial of the served version; null before the first transfer. */
  serial: number | null;
  expiresAt: number | null;
  /** The clamped SOA timers last seen; null before any primary answered. */
  timers: EffectiveTimers | null;
  /** Failed attempts in a row while the zone holds no data. */
  bootstrapFailures: number;
}

export interface ReportInput {
  outcome: ReportedOutcome;
  zone: ZoneBefore;
  /** The zone's clamps: the service's, with the zone's own over them (`zoneClamps`). */
  clamps: TimerClamps;
  /** RETRY in seconds when no SOA has been seen yet: the service's lowest (its `min-retry-time`). */
  fallbackRetryS: number;
  /** The operator's refresh request this attempt served, acknowledged by the report. */
  servedRequestAt: number | null;
  now: number;
}

/** What the zone knows after the attempt. */
export interface ZoneAfter {
  status: ZoneStatus;
  timers: EffectiveTimers | null;
  bootstrapFailures: number;
  /** Set when a primary confirmed the zone: the serial now served, the new expiry, the check time. */
  checked?: { serial: number | null; expiresAt: number; at: number };
}

export interface ReportStep {
  report: ZoneReport;
  zone: ZoneAfter;
}

export function reportFor(input: ReportInput): ReportStep {
  const { outcome, zone, now } = input;
  const soa = outcome.soa;
  const timers = soa ? effectiveTimers(soa, input.clamps) : zone.timers;
  const retry = (timers?.retry ?? input.fallbackRetryS) * 1000;
  const soaTimers = soa ? { refresh: soa.refresh, retry: soa.retry, expire: soa.expire, minimum: soa.minimum } : null;
  const served = input.servedRequestAt;
  switch (outcome.kind) {
    case "up-to-date":
    case "transferred": {
      const t = timers!;
      // RFC 7314: a primary that is itself a secondary says how long its copy has left (soa-timers.ts).
      const transferred = outcome.kind === "transferred";
      const expire = expireAfter({
        soaExpire: outcome.soa.expire,
        clampedExpire: t.expire,
        option: (transferred ? outcome.result.expireOption : undefined) ?? outcome.soa.expireOption,
        via: transferred ? "transfer" : "up-to-date",
        secondsLeft: zone.expiresAt === null ? 0 : Math.max(0, (zone.expiresAt - now) / 1000),
      });
      const expiresAt = now + expire * 1000;
      const serial = outcome.kind === "transferred" ? outcome.result.serial : zone.serial;
      const detail =
        outcome.kind === "up-to-date"
          ? `up to date at serial ${outcome.soa.serial} (checked with ${outcome.peer})`
          : `transferred serial ${outcome.result.serial} from ${outcome.peer} by ${outcome.via.toUpperCase()}` +
            ` (${transferSize(outcome.result)}, ${outcome.result.bytes} octets, ${outcome.result.durationMs} ms)` +
            (outcome.fellBack ? `; IXFR failed first: ${outcome.fellBack}` : "");
      return {
        report: {
          status: "active",
          statusDetail: detail,
          primarySerial: outcome.soa.serial,
          soa: soaTimers,
          expiresAt,
          lastCheckAt: now,
          nextRefreshAt: now + t.refresh * 1000,
          servedRequestAt: served,
        },
        zone: { status: "active", timers, bootstrapFailures: 0, checked: { serial, expiresAt, at: now } },
      };
    }
    case "regressed":
    case "failed": {
      const expired = zone.expiresAt !== null && now > zone.expiresAt;
      let status: ZoneStatus = outcome.kind === "regressed" ? "serial-regressed" : "failing";
      let detail = outcome.detail;
      if (expired) {
        status = "expired";
        detail = `expired at ${new Date(zone.expiresAt!).toISOString()} with no successful check since; ${detail}`;
      } else if (zone.serial === null && outcome.kind === "failed") {
        status = "pending";
        detail = `no transfer yet: ${detail}`;
      }
      let delay = retry;
      let bootstrapFailures = zone.bootstrapFailures;
      if (zone.serial === null) {
        delay = Math.min(retry, BOOTSTRAP_RETRY_FIRST_MS * 2 ** Math.min(bootstrapFailures, 20));
        bootstrapFailures++;
      }
      return {
        report: {
          status,
          statusDetail: detail,
          primarySerial: soa?.serial ?? null,
          soa: soaTimers,
          expiresAt: null,
          lastCheckAt: null,
          nextRefreshAt: now + delay,
          servedRequestAt: served,
        },
        zone: { status, timers, bootstrapFailures },
      };
    }
  }
}

/**
 * What a transfer brought, in the zone's terms rather than the wire's. The wire count (`XfrResult.records`)
 * includes the SOA copies that frame the stream, so it is not what the zone holds:
 * - AXFR (RFC 5936 §2.2): the zone's SOA, its other records, and the SOA again to close. The zone holds one
 *   record fewer than was received, which is the Worker's `recordCount` of the new version.
 * - IXFR (RFC 1995 §4): the new SOA, then per changeset the old SOA, the deletions, the new SOA and the
 *   additions, then the new SOA to close. What changed is the received count less those SOAs; the zone's
 *   size is not known from the stream, so it is not claimed.
 */
export function transferSize(result: Pick<XfrResult, "style" | "records" | "changesets">): string {
  if (result.style === "ixfr") {
    const changed = Math.max(0, result.records - 2 - 2 * result.changesets);
    return `${plural(result.changesets, "changeset")}, ${plural(changed, "record")} deleted or added`;
  }
  return plural(Math.max(0, result.records - 1), "record");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
