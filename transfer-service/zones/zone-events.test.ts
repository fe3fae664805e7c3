/**
 * @module The zone event scheduler's rules (zone-events.ts), on Vitest's fake clock: a schedule only moves a
 * time earlier, one event runs at a time, a request during a run leaves exactly one re-run due, `replan`
 * moves a time either way, and an event due now starts before `schedule` returns.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ZoneEvents, type ZoneEventKind } from "./zone-events.ts";

/** Handlers that record their runs and hold each one open until `finish()`. */
function recording() {
  const runs: ZoneEventKind[] = [];
  let open = 0;
  let maxOpen = 0;
  const gates: Array<() => void> = [];
  const handler = (kind: ZoneEventKind) => async () => {
    runs.push(kind);
    maxOpen = Math.max(maxOpen, ++open);
    await new Promise<void>((resolve) => gates.push(resolve));
    open--;
  };
  return {
    runs,
    get maxOpen() {
      return maxOpen;
    },
    events: new ZoneEvents({ refresh: handler("refresh"), expire: handler("expire") }, () => Date.now()),
    /** Lets the oldest held run end. */
    async finish() {
      gates.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

describe("zone events", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("runs an event due now before schedule returns", () => {
    const r = recording();
    r.events.schedule("refresh", Date.now());
    expect(r.runs).toEqual(["refresh"]);
    expect(r.events.busy).toBe(true);
  });

  it("moves a time only earlier", async () => {
    const r = recording();
    r.events.schedule("refresh", Date.now() + 10_000);
    r.events.schedule("refresh", Date.now() + 20_000);
    expect(r.events.at("refresh")).toBe(Date.now() + 10_000);
    r.events.schedule("refresh", Date.now() + 5_000);
    expect(r.events.at("refresh")).toBe(Date.now() + 5_000);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual(["refresh"]);
  });

  it("replan moves a time later too", async () => {
    const r = recording();
    r.events.schedule("refresh", Date.now() + 1_000);
    r.events.replan("refresh", Date.now() + 60_000);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual(["refresh"]);
    r.events.replan("expire", null);
    expect(r.events.at("expire")).toBeUndefined();
  });

  it("clears an event's time when it starts: what it plans afterwards is new, a request during it wins", async () => {
    const r = recording();
    r.events.schedule("refresh", Date.now());
    expect(r.events.at("refresh")).toBeUndefined();
    // Three NOTIFYs during the run: one re-run, right after it.
    for (let i = 0; i < 3; i++) r.events.schedule("refresh", Date.now());
    // The run's outcome plans the next refresh an hour away: the request, earlier, stays.
    r.events.schedule("refresh", Date.now() + 3_600_000);
    await r.finish();
    expect(r.runs).toEqual(["refresh", "refresh"]);
    await r.finish();
    expect(r.events.busy).toBe(false);
    // One time per kind: the hour-away plan gave way to the request; the re-run's own outcome plans next.
    expect(r.events.at("refresh")).toBeUndefined();
    expect(r.maxOpen).toBe(1);
  });

  it("runs one event at a time: an event that falls due during a run waits for it", async () => {
    const r = recording();
    r.events.schedule("expire", Date.now() + 100);
    r.events.schedule("refresh", Date.now());
    await vi.advanceTimersByTimeAsync(500);
    expect(r.runs).toEqual(["refresh"]);
    await r.finish();
    expect(r.runs).toEqual(["refresh", "expire"]);
    await r.finish();
    expect(r.maxOpen).toBe(1);
  });

  it("idle waits for the run asked for and for those due after it", async () => {
    const r = recording();
    r.events.schedule("refresh", Date.now());
    let idle = false;
    void r.events.idle().then(() => (idle = true));
    r.events.schedule("expire", Date.now());
    await r.finish();
    expect(idle).toBe(false);
    await r.finish();
    expect(idle).toBe(true);
  });

  it("re-arms a time further away than one timer may wait", async () => {
    const r = recording();
    const day = 24 * 3_600_000;
    r.events.schedule("expire", Date.now() + 3 * day);
    await vi.advanceTimersByTimeAsync(3 * day - 1);
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.runs).toEqual(["expire"]);
  });

  it("stop drops what is planned", async () => {
    const r = recording();
    r.events.schedule("refresh", Date.now() + 1_000);
    r.events.stop();
    r.events.schedule("refresh", Date.now());
    await vi.advanceTimersByTimeAsync(2_000);
    expect(r.runs).toEqual([]);
  });
});
