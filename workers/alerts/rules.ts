/**
 * @module The seven alert rules (issue 25), as one pure function of what D1 knows about a zone, the
 * thresholds and the clock: which conditions hold now, since when, in words, and how long each must hold
 * before its alert opens (damping). `evaluate.ts` gathers the facts and keeps the alert rows; nothing here
 * touches D1, so every rule is tested as a table (`rules.test.ts`) besides the real faults of `test/alerts/`.
 */
import type { ZoneModel, ZoneStatus } from "../../contract/vocabulary.ts";
import type { AlertKind } from "./kinds.ts";
import type { AlertThresholds } from "./thresholds.ts";

/** What the rules read about one zone. Times are ms since the epoch; timers are seconds after the clamps. */
export interface ZoneFacts {
  name: string;
  model: ZoneModel;
  status: ZoneStatus;
  statusDetail: string;
  serial: number | null;
  primarySerial: number | null;
  expiresAt: number | null;
  rrsigExpiresAt: number | null;
  nextRefreshAt: number | null;
  /** REFRESH, RETRY, EXPIRE as the service applies them (after the zone's clamps); null before the first check. */
  timers: { refresh: number; retry: number; expire: number } | null;
  /** The newest run of failed checks or transfers (at most `failingChecks` read), newest first. */
  failures: { count: number; oldestAt: number; lastError: string | null };
  /** The apex NS targets of the served version (lowercase, no trailing dot); null when not read. */
  apexNs: string[] | null;
  /** The record whose RRSIG expires first (`owner RRSIG TYPE`), when known. */
  rrsigRecord?: string | undefined;
}

export interface Condition {
  kind: AlertKind;
  since: number;
  message: string;
  /** How long the condition must have been seen before the alert opens. */
  holdMs: number;
}

/** Before the first check a zone has no RETRY of its own; checks then come at least this often. */
const DEFAULT_CHECK_INTERVAL_S = 60;

const iso = (ms: number) => new Date(ms).toISOString();

/** RFC 1982 §3.2: `a` is greater than `b` in serial-number arithmetic. */
export function serialAhead(a: number, b: number): boolean {
  const d = (a - b + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < 2 ** 31;
}

/** Seconds in words for messages: `90 s`, `2 h 5 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * The SOA timers the service uses, from the stored SOA values and clamps: the same rule as
 * `transfer-service/zones/refresh/soa-timers.ts` (which this runtime may not import), EXPIRE kept at
 * least REFRESH + RETRY.
 */
export function clampedTimers(z: {
  soaRefresh: number | null;
  soaRetry: number | null;
  soaExpire: number | null;
  minRefresh: number;
  maxRefresh: number;
  minRetry: number;
  maxRetry: number;
  minExpire: number;
  maxExpire: number;
}): { refresh: number; retry: number; expire: number } | null {
  if (z.soaRefresh === null || z.soaRetry === null || z.soaExpire === null) return null;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v >= 0x80000000 ? Number.MAX_SAFE_INTEGER : v, lo), hi);
  const refresh = clamp(z.soaRefresh, z.minRefresh, z.maxRefresh);
  const retry = clamp(z.soaRetry, z.minRetry, z.maxRetry);
  return { refresh, retry, expire: Math.max(clamp(z.soaExpire, z.minExpire, z.maxExpire), refresh + retry) };
}

/** Every condition that holds for `z` at `now`. */
export function conditionsOf(z: ZoneFacts, t: AlertThresholds, nameservers: readonly string[], now: number): Condition[] {
  // A primary zone has no primary to transfer from; none of the transfer rules apply (yet).
  if (z.model === "primary") return [];
  const out: Condition[] = [];
  const damp = (t.dampSeconds ?? z.timers?.retry ?? DEFAULT_CHECK_INTERVAL_S) * 1000;
  const last = z.statusDetail ? `; last: ${z.statusDetail}` : "";

  if (z.failures.count >= t.failingChecks) {
    const error = z.failures.lastError ?? z.statusDetail;
    out.push({
      kind: "failing",
      since: z.failures.oldestAt,
      message: `${z.failures.count} failed checks or transfers in a row since ${iso(z.failures.oldestAt)}${error ? `; last: ${error}` : ""}`,
      holdMs: damp,
    });
  }

  if (z.serial !== null && z.primarySerial !== null && serialAhead(z.primarySerial, z.serial) && z.timers) {
    out.push({
      kind: "stale",
      since: now,
      message:
        `the primary is at serial ${z.primarySerial}, Backstop serves ${z.serial}: not caught up within ` +
        `${t.staleRefreshFactor} × REFRESH (${duration(t.staleRefreshFactor * z.timers.refresh * 1000)})${last}`,
      holdMs: Math.max(damp, t.staleRefreshFactor * z.timers.refresh * 1000),
    });
  }

  if (z.serial !== null && z.expiresAt !== null) {
    if (z.expiresAt <= now) {
      out.push({
        kind: "expired",
        since: z.expiresAt,
        message: `not served since ${iso(z.expiresAt)} (SERVFAIL): no successful check within EXPIRE${last}`,
        holdMs: damp,
      });
    } else if (z.timers && z.expiresAt - now < t.expiringFraction * z.timers.expire * 1000) {
      const threshold = t.expiringFraction * z.timers.expire * 1000;
      out.push({
        kind: "expiring",
        since: z.expiresAt - threshold,
        message:
          `stops being served at ${iso(z.expiresAt)} (in ${duration(z.expiresAt - now)}, less than ` +
          `${Math.round(t.expiringFraction * 100)} % of EXPIRE ${z.timers.expire} s) unless a check succeeds first${last}`,
        holdMs: damp,
      });
    }
  }

  if (z.serial !== null && z.rrsigExpiresAt !== null) {
    const nextRefresh = Math.max(now, z.nextRefreshAt ?? now + (z.timers?.refresh ?? 0) * 1000);
    const deadline = nextRefresh + t.rrsigMarginSeconds * 1000;
    if (z.rrsigExpiresAt < deadline) {
      const what = z.rrsigRecord ? `the signature of ${z.rrsigRecord}` : "the earliest signature";
      const when = z.rrsigExpiresAt <= now ? `expired at ${iso(z.rrsigExpiresAt)}` : `expires at ${iso(z.rrsigExpiresAt)} (in ${duration(z.rrsigExpiresAt - now)})`;
      out.push({
        kind: "rrsig-expiring",
        since: now,
        message:
          `${what} in serial ${z.serial} ${when}, before the next expected refresh (${iso(nextRefresh)}) plus ` +
          `${duration(t.rrsigMarginSeconds * 1000)}: validating resolvers will answer SERVFAIL unless the primary re-signs`,
        holdMs: damp,
      });
    }
  }

  if (nameservers.length > 0 && z.apexNs !== null && z.serial !== null) {
    const apex = new Set(z.apexNs);
    const listed = z.apexNs.length > 0 ? z.apexNs.join(", ") : "none";
    if (z.model === "secondary") {
      const missing = nameservers.filter((ns) => !apex.has(ns));
      if (missing.length > 0) {
        out.push({
          kind: "ns-mismatch",
          since: now,
          message: `a live zone whose apex NS set (${listed}) omits this deployment's nameserver${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
          holdMs: damp,
        });
      }
    } else {
      const present = nameservers.filter((ns) => apex.has(ns));
      if (present.length > 0) {
        out.push({
          kind: "ns-mismatch",
          since: now,
          message: `a dark (hidden) zone whose apex NS set lists this deployment's nameserver${present.length > 1 ? "s" : ""} ${present.join(", ")}, which do not answer for it`,
          holdMs: damp,
        });
      }
    }
  }

  if (z.status === "serial-regressed") {
    out.push({
      kind: "serial-regressed",
      since: now,
      message:
        `${z.statusDetail || "the primary's serial went backwards"}. If the lower serial is intended, accept it with ` +
        `POST /api/v1/zones/${z.name}/refresh {"force":"axfr","acceptLowerSerial":true}`,
      holdMs: damp,
    });
  }
  return out;
}
