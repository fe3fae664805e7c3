/**
 * @module The serial-query rate (BIND's `serial-query-rate`, 20 a second by default): refresh attempts of
 * zones we hold data for, each of which begins with an SOA query (a zone with none asks for the AXFR at once:
 * refresh.ts's bootstrap), start at most this many a second across all zones. A restart with
 * a hundred zones due at once (or a hundred cut off mid-attempt) then asks its primaries over five seconds,
 * not in one burst that a primary's own rate limiting (or a firewall) may drop.
 *
 * Slots are handed out in order, evenly spaced (1/rate apart): `reserve()` takes the next one and says how
 * long until it comes, `take()` also waits for it. Nothing is queued but the promise; a zone that stops while
 * waiting gives its slot up by abort. A rate of 0 means no limit.
 *
 * The refresh handler reserves its slot first and waits for it under the zone's lease (refresh.ts): an
 * attempt that waited its turn must not act on a zone another instance refreshed meanwhile (found by the
 * two-instance test: the second one queued, then transferred the zone again from a stale serial).
 */

export class SerialQueryRate {
  /** The earliest time (ms) the next slot may begin. */
  private nextSlot = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves the next slot; returns how long (ms) until it begins, 0 when it is now. */
  reserve(): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + 1000 / this.perSecond;
    return at - now;
  }

  /** Resolves when this caller may send its SOA query; rejects only when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    return waitSlot(this.reserve(), signal);
  }
}

/** Resolves after `ms` (at once for 0); rejects when `signal` aborts first. */
export function waitSlot(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("stopped"));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error("stopped"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
