/**
 * @module The serial-query rate with a fake clock: a restart with 100 zones due at once starts their
 * attempts 1/rate apart, in order, never more than `rate` in any second; 0 means no limit; a caller that
 * stops while waiting is released.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { SerialQueryRate } from "./serial-query-rate.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("SerialQueryRate", () => {
  it("100 zones due at once at 20 a second: 1 now, 21 after a second, all 100 after 4.95 s, in order", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const rate = new SerialQueryRate(20, () => Date.now());
    const started: Array<{ zone: number; at: number }> = [];
    const t0 = Date.now();
    for (let zone = 0; zone < 100; zone++) void rate.take().then(() => started.push({ zone, at: Date.now() - t0 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toHaveLength(21);
    await vi.advanceTimersByTimeAsync(3_900);
    expect(started).toHaveLength(99);
    await vi.advanceTimersByTimeAsync(50);
    expect(started).toHaveLength(100);
    expect(started.map((s) => s.zone)).toEqual([...Array(100).keys()]);
    expect(started.map((s) => s.at)).toEqual([...Array(100).keys()].map((i) => i * 50));
    // Never more than 20 in any one-second window.
    for (const s of started) expect(started.filter((o) => o.at >= s.at && o.at < s.at + 1_000).length).toBeLessThanOrEqual(20);
  });

  it("a quiet service starts a lone attempt at once, and the slots do not pile up while idle", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const rate = new SerialQueryRate(20, () => Date.now());
    let done = 0;
    void rate.take().then(() => done++);
    await vi.advanceTimersByTimeAsync(10_000);
    void rate.take().then(() => done++);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(2);
  });

  it("0 is no limit", async () => {
    const rate = new SerialQueryRate(0);
    await Promise.all(Array.from({ length: 1_000 }, () => rate.take()));
  });

  it("a zone stopped while waiting is released at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const rate = new SerialQueryRate(1, () => Date.now());
    await rate.take();
    const stop = new AbortController();
    const waiting = rate.take(stop.signal);
    stop.abort(new Error("the service is shutting down"));
    await expect(waiting).rejects.toThrow(/shutting down/);
  });
});
