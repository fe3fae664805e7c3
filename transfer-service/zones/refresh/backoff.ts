/**
 * @module Per-primary backoff: a primary that failed is skipped for a while, doubling from `baseMs` up to
 * `maxMs` with each consecutive failure, and forgiven at its first success. Each primary of a zone has its
 * own, so one dead primary does not slow transfers from the live ones.
 */
export class Backoff {
  /** Only once a primary failed (issue 19: a zone whose primaries answer holds no map). */
  private failures: Map<string, { count: number; until: number; reason: string }> | undefined;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** Records a failure of `peer` at `now`; returns when it may be tried again. */
  fail(peer: string, now: number, reason: string): number {
    this.failures ??= new Map();
    const count = (this.failures.get(peer)?.count ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(count - 1, 30));
    const until = now + delay;
    this.failures.set(peer, { count, until, reason });
    return until;
  }

  succeed(peer: string): void {
    if (this.failures?.delete(peer) && this.failures.size === 0) this.failures = undefined;
  }

  /** True when `peer` failed recently and its backoff has not run out. */
  waiting(peer: string, now: number): boolean {
    const f = this.failures?.get(peer);
    return f !== undefined && f.until > now;
  }

  /** Consecutive failures of `peer`. */
  count(peer: string): number {
    return this.failures?.get(peer)?.count ?? 0;
  }

  /**
   * The peers to try now, in the configured order: those not waiting; when every peer is waiting, all of
   * them (a NOTIFY or an operator's request must not be ignored because of old failures).
   */
  order(peers: readonly string[], now: number): string[] {
    if (!this.failures) return [...peers];
    const ready = peers.filter((p) => !this.waiting(p, now));
    return ready.length > 0 ? ready : [...peers];
  }
}
