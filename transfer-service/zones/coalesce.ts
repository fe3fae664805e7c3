/**
 * @module Coalescing of a repeated request: any number of triggers while a run is in progress yield at most
 * one more run after it. The zone set reads the Worker's zones through it (a poll asked for during a read
 * gets one read that starts after it, since the read in flight may predate a zone just created).
 *
 * Why one and not zero: what asked during the run may depend on something the run started too early to
 * see, so one re-run must follow; nothing is dropped. Why not more: the re-run sees the latest state,
 * whatever number of triggers preceded it. A zone's own events get the same rule from zone-events.ts
 * (a request made during a run leaves one run due), where it once used this class.
 */
export class Coalescer {
  private running: Promise<void> | undefined;
  private queued = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly run: () => Promise<void>) {}

  /** True while a run is in progress. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** True when a re-run is queued behind the current one. */
  get pending(): boolean {
    return this.queued;
  }

  /** Starts a run now, or queues one (at most one) behind the run in progress. */
  trigger(): void {
    if (this.running) {
      this.queued = true;
      return;
    }
    this.running = this.loop();
  }

  /** Resolves when no run is in progress or queued. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.queued = false;
        // `run` reports its own failures; one failing run must not stop the queued re-check.
        await this.run().catch(() => undefined);
      } while (this.queued);
    } finally {
      this.running = undefined;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }
}
