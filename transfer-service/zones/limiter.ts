/**
 * @module A counting limiter with two lanes: at most `max` refresh attempts run at once across all zones,
 * so a restart with thousands of due zones does not open thousands of connections to the primaries (BIND's
 * `transfers-in`, default 10), and an attempt asked for by a NOTIFY, a control signal or an operator goes
 * ahead of every routine one still waiting (issue 19: operators of PowerDNS secondaries with tens of
 * thousands of zones report NOTIFYs stuck behind the refresh queue). Within a lane, first come, first
 * served. A routine waiter is promoted when its zone is notified while it waits.
 *
 * Lanes are insertion-ordered Sets: taking the first and deleting (a promotion, an abort) are O(1), so
 * 100,000 waiters cost a few MB and no scans.
 */

/** A place in the queue; `promote` moves it to the urgent lane (no-op once running). */
export interface LimiterTicket {
  promote(): void;
}

interface Waiter {
  start: () => void;
  urgent: boolean;
}

export class Limiter {
  private active = 0;
  private readonly urgent = new Set<Waiter>();
  private readonly routine = new Set<Waiter>();

  constructor(private readonly max: number) {}

  get running(): number {
    return this.active;
  }

  /** Attempts waiting for a slot, by lane. */
  get waiting(): { urgent: number; routine: number } {
    return { urgent: this.urgent.size, routine: this.routine.size };
  }

  /**
   * Runs `fn` when a slot is free: urgent waiters first. `onQueued` receives the ticket when `fn` has to
   * wait (not when a slot is free at once).
   */
  async run<T>(fn: () => Promise<T>, urgent = false, onQueued?: (ticket: LimiterTicket) => void): Promise<T> {
    if (this.active >= this.max) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = { start: resolve, urgent };
        (urgent ? this.urgent : this.routine).add(waiter);
        onQueued?.({
          promote: () => {
            if (waiter.urgent || !this.routine.delete(waiter)) return;
            waiter.urgent = true;
            this.urgent.add(waiter);
          },
        });
      });
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.first(this.urgent) ?? this.first(this.routine);
      // Hand the slot straight to the next waiter, or give it back.
      if (next) next.start();
      else this.active--;
    }
  }

  private first(lane: Set<Waiter>): Waiter | undefined {
    for (const w of lane) {
      lane.delete(w);
      return w;
    }
    return undefined;
  }
}
