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

/**
 * Transfers from one primary at once (BIND's `transfers-per-ns`, default 2; `BACKSTOP_TRANSFERS_PER_PRIMARY`):
 * a restart or a bulk create of many zones of one primary asks it for at most this many AXFR/IXFR streams
 * together, whatever `transfers-in` allows across primaries. A primary is its address and port (two servers
 * on one host are two primaries). The slot covers the transfer from the primary only (`refresh.ts`): a small
 * zone's store into the Worker after it asks nothing of the primary.
 *
 * A primary's entry exists only while it has transfers running or waiting, so the map grows with the work
 * in flight, not with the zones or primaries ever seen. Waiters are served in order; one whose attempt is
 * stopped (`signal`) leaves the queue. `max` 0: no limit.
 */
export class PrimaryLimiter {
  private readonly primaries = new Map<string, { active: number; waiting: Set<() => void> }>();

  constructor(private readonly max: number) {}

  /** Transfers running and waiting for `primary`. */
  load(primary: string): { running: number; waiting: number } {
    const p = this.primaries.get(primary);
    return { running: p?.active ?? 0, waiting: p?.waiting.size ?? 0 };
  }

  /** Runs `fn` when `primary` has a free slot; rejects without running it when `signal` aborts first. */
  async run<T>(primary: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.max <= 0) return fn();
    let p = this.primaries.get(primary);
    if (!p) {
      p = { active: 0, waiting: new Set() };
      this.primaries.set(primary, p);
    }
    const slot = p;
    if (slot.active >= this.max) {
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(stopped(signal));
        const start = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = (): void => {
          slot.waiting.delete(start);
          this.forget(primary, slot);
          reject(stopped(signal!));
        };
        slot.waiting.add(start);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    } else {
      slot.active++;
    }
    try {
      return await fn();
    } finally {
      const next = first(slot.waiting);
      // Hand the slot straight to the next waiter, or give it back.
      if (next) next();
      else {
        slot.active--;
        this.forget(primary, slot);
      }
    }
  }

  private forget(primary: string, slot: { active: number; waiting: Set<() => void> }): void {
    if (slot.active === 0 && slot.waiting.size === 0 && this.primaries.get(primary) === slot) this.primaries.delete(primary);
  }

  /** Primaries with transfers running or waiting (what the limiter holds). */
  get size(): number {
    return this.primaries.size;
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const v of set) {
    set.delete(v);
    return v;
  }
  return undefined;
}

function stopped(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("stopped");
}
