/**
 * @module Storm coalescing for a zone's refresh (RFC 1996 §4.2 lets a primary repeat NOTIFY, and an edit
 * burst sends many): any number of triggers while a refresh runs yield at most one more refresh after it.
 *
 * Why one and not zero: a NOTIFY that arrives during a transfer may announce a serial newer than the one
 * being transferred, so one re-check (an SOA query, which finds nothing to do when the zone is current)
 * must follow; a real change is never dropped. Why not more: the re-check sees the primary's latest
 * state, whatever number of NOTIFYs preceded it.
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
