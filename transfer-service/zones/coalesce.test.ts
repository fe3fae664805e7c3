/**
 * @module Storm coalescing: triggers during a run collapse into one queued re-run, and none is lost.
 */
import { describe, expect, it } from "vitest";
import { Coalescer } from "./coalesce.ts";

/** A run that waits until the test releases it, counting starts. */
function gatedRuns() {
  let starts = 0;
  let release: (() => void) | undefined;
  const run = () => {
    starts++;
    return new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  return {
    run,
    get starts() {
      return starts;
    },
    finishCurrent() {
      const r = release;
      release = undefined;
      r?.();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("Coalescer", () => {
  it.each([
    { during: 0, runs: 1 },
    { during: 1, runs: 2 },
    { during: 2, runs: 2 },
    { during: 100, runs: 2 },
  ])("1 trigger + $during during the run → $runs runs", async ({ during, runs }) => {
    const g = gatedRuns();
    const c = new Coalescer(g.run);
    c.trigger();
    for (let i = 0; i < during; i++) c.trigger();
    expect(c.pending).toBe(during > 0);
    for (let i = 0; i < 5 && c.busy; i++) {
      g.finishCurrent();
      await tick();
    }
    await c.idle();
    expect(g.starts).toBe(runs);
    expect(c.busy).toBe(false);
  });

  it("a trigger during the re-check queues one more (no change is ever dropped)", async () => {
    const g = gatedRuns();
    const c = new Coalescer(g.run);
    c.trigger();
    c.trigger(); // queued re-check
    g.finishCurrent();
    await tick();
    expect(g.starts).toBe(2);
    c.trigger(); // arrives during the re-check
    g.finishCurrent();
    await tick();
    expect(g.starts).toBe(3);
    g.finishCurrent();
    await c.idle();
    expect(g.starts).toBe(3);
  });

  it("a failing run still lets the queued re-check happen", async () => {
    let starts = 0;
    const c = new Coalescer(async () => {
      starts++;
      await tick();
      if (starts === 1) throw new Error("transfer failed");
    });
    c.trigger();
    c.trigger();
    await c.idle();
    expect(starts).toBe(2);
  });

  it("a trigger after the run ended starts a fresh run", async () => {
    let starts = 0;
    const c = new Coalescer(async () => {
      starts++;
    });
    c.trigger();
    await c.idle();
    c.trigger();
    await c.idle();
    expect(starts).toBe(2);
  });
});
