/**
 * @module The SOA's REFRESH, RETRY and EXPIRE (RFC 1035 §3.3.13, RFC 1912 §2.2) clamped to operator
 * bounds, like BIND's min-/max-refresh-time and min-/max-retry-time and Knot's expire bounds: a primary
 * that says "refresh every second" or "expire after 100 years" cannot make us hammer it or serve a dead
 * zone forever. EXPIRE is also kept at least REFRESH + RETRY (BIND does the same), so a zone can never
 * expire before it has been retried once.
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
