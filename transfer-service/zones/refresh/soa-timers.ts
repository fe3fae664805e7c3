/**
 * @module The SOA's REFRESH, RETRY and EXPIRE (RFC 1035 §3.3.13, RFC 1912 §2.2) clamped to operator
 * bounds, like BIND's min-/max-refresh-time and min-/max-retry-time and Knot's expire bounds: a primary
 * that says "refresh every second" or "expire after 100 years" cannot make us hammer it or serve a dead
 * zone forever. EXPIRE is also kept at least REFRESH + RETRY (BIND does the same), so a zone can never
 * expire before it has been retried once.
 *
 * `expireAfter` is the one rule for the expire time a successful refresh sets, the EDNS EXPIRE option
 * (RFC 7314 §4) included.
 */

/** Inclusive bounds, seconds. */
export interface Clamp {
  min: number;
  max: number;
}

export interface TimerClamps {
  refresh: Clamp;
  retry: Clamp;
  expire: Clamp;
}

export interface EffectiveTimers {
  /** Seconds. */
  refresh: number;
  retry: number;
  expire: number;
}

function clamp(value: number, c: Clamp): number {
  return Math.min(Math.max(value, c.min), c.max);
}

/** The timers to use, in seconds, from the SOA's values and the clamps. */
export function effectiveTimers(soa: { refresh: number; retry: number; expire: number }, clamps: TimerClamps): EffectiveTimers {
  // RFC 2181 §8 style: values with the top bit set are nonsense from a 32-bit field; treat as the max.
  const sane = (v: number) => (v >= 0x80000000 ? Number.MAX_SAFE_INTEGER : v);
  const refresh = clamp(sane(soa.refresh), clamps.refresh);
  const retry = clamp(sane(soa.retry), clamps.retry);
  const expire = Math.max(clamp(sane(soa.expire), clamps.expire), refresh + retry);
  return { refresh, retry, expire };
}

/** Merges per-zone clamps (seconds, any subset) over the service's defaults. */
export function zoneClamps(
  defaults: TimerClamps,
  zone: Partial<Record<"minRefresh" | "maxRefresh" | "minRetry" | "maxRetry" | "minExpire" | "maxExpire", number>> | undefined,
): TimerClamps {
  return {
    refresh: { min: zone?.minRefresh ?? defaults.refresh.min, max: zone?.maxRefresh ?? defaults.refresh.max },
    retry: { min: zone?.minRetry ?? defaults.retry.min, max: zone?.maxRetry ?? defaults.retry.max },
    expire: { min: zone?.minExpire ?? defaults.expire.min, max: zone?.maxExpire ?? defaults.expire.max },
  };
}

/** What a successful refresh knows about expiry (`expireAfter`). */
export interface ExpireInput {
  /** The SOA's EXPIRE as the primary wrote it, seconds. */
  soaExpire: number;
  /** The SOA's EXPIRE clamped (`effectiveTimers`), seconds. */
  clampedExpire: number;
  /** The EDNS EXPIRE option of the answer (RFC 7314 §3), seconds; undefined when the answer had none. */
  option: number | undefined;
  /** How the refresh ended: a transfer (AXFR/IXFR) was stored, or the SOA answer said "up to date". */
  via: "transfer" | "up-to-date";
  /** Seconds our zone had left before this refresh (0 when it had none, or no expire time yet). */
  secondsLeft: number;
}

/**
 * Seconds from now until the zone expires, after a successful refresh: RFC 7314 §4, as knotd applies it
 * (`refresh.c`: `consume_edns_expire`, `finalize_edns_expire`, and its expire clamps only for the SOA's
 * own value).
 * - No option (the upstream does not speak RFC 7314, like PowerDNS and NSD): the SOA's EXPIRE, clamped.
 * - An option of at least the SOA's EXPIRE: the upstream is the primary (§3.1), or a copy as fresh: the
 *   same, the SOA's EXPIRE, clamped.
 * - A smaller option: the upstream is a secondary with that long left (§3.2). After a transfer it is our
 *   expire time (§4 ¶3); after an "up to date" SOA answer it only ever extends the time we had left (§4 ¶2).
 *   Never above the clamped EXPIRE (§4 ¶4), and never raised by the minimum clamp: a chain of secondaries
 *   serves no longer than its primary allows, however the operator clamped this one.
 */
export function expireAfter(input: ExpireInput): number {
  const { option, soaExpire, clampedExpire } = input;
  if (option === undefined || option >= soaExpire) return clampedExpire;
  const offered = input.via === "transfer" ? option : Math.max(option, input.secondsLeft);
  return offered >= soaExpire ? clampedExpire : Math.min(offered, clampedExpire);
}
