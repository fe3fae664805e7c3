/**
 * @module The timer heap (timer-heap.ts) on Vitest's fake clock: entries fire in deadline order through one
 * timer, a moved entry fires at its new time, a cleared one never, an entry may set itself again when it
 * fires, and a deadline past what one timer may wait is reached in steps.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TimerHeap, type TimerEntry } from "./timer-heap.ts";

function entries(fired: string[], names: string[]): Map<string, TimerEntry> {
  return new Map(names.map((name) => [name, { timerAt: 0, timerIndex: -1, fire: () => fired.push(name) }]));
}

describe("TimerHeap", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("fires entries in deadline order with one timer; moved entries at their new time, cleared ones never", async () => {
    const heap = new TimerHeap();
    const fired: string[] = [];
    const e = entries(fired, ["a", "b", "c", "d", "e", "f"]);
    const t0 = Date.now();
    for (const [name, at] of [["a", 500], ["b", 100], ["c", 300], ["d", 200], ["e", 400], ["f", 600]] as const) heap.set(e.get(name)!, t0 + at);
    expect(vi.getTimerCount()).toBe(1);
    heap.set(e.get("a")!, t0 + 50); // earlier
    heap.set(e.get("b")!, t0 + 700); // later
    heap.clear(e.get("e")!);
    heap.clear(e.get("e")!); // twice: nothing
    expect(heap.size).toBe(5);
    await vi.advanceTimersByTimeAsync(250);
    expect(fired).toEqual(["a", "d"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual(["a", "d", "c", "f", "b"]);
    expect(heap.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("lets a fired entry set itself again, and reaches a deadline days away in steps", async () => {
    const heap = new TimerHeap();
    let fires = 0;
    const day = 24 * 3_600_000;
    const entry: TimerEntry = {
      timerAt: 0,
      timerIndex: -1,
      fire: () => {
        fires++;
        if (fires === 1) heap.set(entry, Date.now() + 3 * day);
      },
    };
    heap.set(entry, Date.now() + 10);
    await vi.advanceTimersByTimeAsync(10);
    expect(fires).toBe(1);
    await vi.advanceTimersByTimeAsync(3 * day - 1);
    expect(fires).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fires).toBe(2);
  });

  it("keeps its order through many random moves", () => {
    const heap = new TimerHeap();
    const fired: number[] = [];
    const list = Array.from({ length: 500 }, (_, i): TimerEntry => ({ timerAt: 0, timerIndex: -1, fire: () => fired.push(i) }));
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 5; round++) for (const entry of list) heap.set(entry, Date.now() + Math.floor(random() * 10_000));
    for (let i = 0; i < 100; i++) heap.clear(list[i * 5]!);
    vi.advanceTimersByTime(20_000);
    expect(fired).toHaveLength(400);
    const at = new Map(list.map((e, i) => [i, e.timerAt]));
    for (let i = 1; i < fired.length; i++) expect(at.get(fired[i]!)!).toBeGreaterThanOrEqual(at.get(fired[i - 1]!)!);
  });
});
