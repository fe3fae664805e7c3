/**
 * @module One zone's event scheduler, in the manner of Knot's `zone_events` (`src/knot/events/events.c`):
 * the zone holds one time per event kind, one timer is armed for the earliest of them, and one event runs
 * at a time. Today's kinds are `refresh` (RFC 1034 §4.3.5 REFRESH, and RETRY after a failure: as in Knot,
 * a retry is the refresh event planned at RETRY, not an event of its own) and `expire` (EXPIRE); NOTIFY
 * out and verify will be two more kinds beside them, each with its own time, none with its own timer code.
 *
 * Rules:
 * - `schedule` only ever moves a time earlier. Requests (a NOTIFY, a control signal, a handler's outcome)
 *   therefore never postpone one another: a NOTIFY that arrives while a refresh runs leaves the refresh
 *   due now, so exactly one re-check follows the run, however many NOTIFYs came (RFC 1996 §4.2 storms).
 * - An event's time is cleared when it starts, so what its outcome plans afterwards (through `schedule`)
 *   is new, and a request made during the run, being earlier, wins.
 * - `replan` replaces a time, later or earlier: the zone set adopts timers stored by another instance
 *   with it (Knot's `replan_from_timers` after loading the timer database); requests never use it.
 * - Handlers never touch the scheduler's times themselves: they return, and the zone replans.
 * - An event due now starts at once (before `schedule` returns), so `idle()` right after a request waits
 *   for the run it asked for.
 */

import { TimerHeap, type TimerEntry } from "./timer-heap.ts";

/** The events a zone can have pending. */
export type ZoneEventKind = "refresh" | "expire";

/** Kinds in the order events due at the same moment run (Knot runs them in its enum order too). */
const KINDS: readonly ZoneEventKind[] = ["refresh", "expire"];

export type ZoneEventHandlers = Record<ZoneEventKind, () => Promise<void>>;

/**
 * A zone's events. Issue 19 (memory per zone): the times are two fields, not a map, and the one timer is an
 * entry of the zone set's `TimerHeap` (one `setTimeout` for every zone), so a quiet zone holds a few numbers
 * here. Without a heap given, the events arm a heap of their own (tests of one zone).
 */
export class ZoneEvents implements TimerEntry {
  private refreshAt: number | undefined;
  private expireAt: number | undefined;
  /** `TimerEntry`: the deadline armed in the heap and the place there (-1: none armed). */
  timerAt = 0;
  timerIndex = -1;
  private running: Promise<void> | undefined;
  private waiters: Array<() => void> | undefined;
  private stopped = false;
  private readonly timers: TimerHeap;

  constructor(
    private readonly handlers: ZoneEventHandlers,
    private readonly now: () => number,
    timers?: TimerHeap,
  ) {
    this.timers = timers ?? new TimerHeap(now);
  }

  /** When `kind` is due, or undefined when it is not planned. */
  at(kind: ZoneEventKind): number | undefined {
    return kind === "refresh" ? this.refreshAt : this.expireAt;
  }

  private set(kind: ZoneEventKind, at: number | undefined): void {
    if (kind === "refresh") this.refreshAt = at;
    else this.expireAt = at;
  }

  /** True while an event runs (or events due now follow it). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Plans `kind` at `at`, unless it is already planned earlier. */
  schedule(kind: ZoneEventKind, at: number): void {
    const current = this.at(kind);
    if (current !== undefined && current <= at) return;
    this.set(kind, at);
    this.plan();
  }

  /** Plans `kind` at exactly `at` (null: not at all), earlier or later than before. */
  replan(kind: ZoneEventKind, at: number | null): void {
    this.set(kind, at ?? undefined);
    this.plan();
  }

  /** Resolves when no event runs and none is due. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /** Drops every planned event; one in progress finishes (`idle()` tells when). */
  stop(): void {
    this.stopped = true;
    this.refreshAt = undefined;
    this.expireAt = undefined;
    this.timers.clear(this);
  }

  /** `TimerEntry`: the heap's timer reached our earliest time. */
  fire(): void {
    this.plan();
  }

  /** The kind due first, if any is due at `now`. */
  private due(now: number): ZoneEventKind | undefined {
    let first: ZoneEventKind | undefined;
    let firstAt = Infinity;
    for (const kind of KINDS) {
      const at = this.at(kind);
      if (at !== undefined && at <= now && at < firstAt) {
        first = kind;
        firstAt = at;
      }
    }
    return first;
  }

  /** Starts the events due now, or arms the one timer for the earliest planned. */
  private plan(): void {
    if (this.stopped || this.running) return; // the running loop plans when it ends
    if (this.due(this.now()) !== undefined) {
      this.timers.clear(this);
      this.running = this.loop();
      return;
    }
    this.arm();
  }

  private arm(): void {
    const r = this.refreshAt, e = this.expireAt;
    const next = r === undefined ? e : e === undefined ? r : Math.min(r, e);
    if (this.stopped || next === undefined) this.timers.clear(this);
    else this.timers.set(this, next);
  }

  /** Runs the events due, one after another, earliest first; then arms the timer for the next. */
  private async loop(): Promise<void> {
    try {
      for (let kind = this.due(this.now()); kind !== undefined && !this.stopped; kind = this.due(this.now())) {
        this.set(kind, undefined);
        // A handler reports its own failures; one that throws must not stop the events after it.
        await this.handlers[kind]().catch(() => undefined);
      }
    } finally {
      this.running = undefined;
      this.arm();
      const waiters = this.waiters;
      this.waiters = undefined;
      for (const w of waiters ?? []) w();
    }
  }
}
