/**
 * @module A counting limiter: at most `max` transfers run at once across all zones, so a restart with
 * thousands of due zones does not open thousands of connections to the primaries (BIND's
 * `transfers-in`, default 10). Waiters are served first come, first served.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  get running(): number {
    return this.active;
  }

  /** Runs `fn` when a slot is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter, or give it back.
      if (next) next();
      else this.active--;
    }
  }
}
