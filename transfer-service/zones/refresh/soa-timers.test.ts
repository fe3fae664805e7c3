/**
 * @module SOA timers under clamps, as a table: what the primary says → what we use.
 */
import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";
import { effectiveTimers, zoneClamps, type TimerClamps } from "./soa-timers.ts";

const clamps: TimerClamps = { refresh: { min: 300, max: 86_400 }, retry: { min: 60, max: 3_600 }, expire: { min: 3_600, max: 1_209_600 } };

describe("effectiveTimers", () => {
  it.each([
    { soa: [3600, 600, 604800], want: [3600, 600, 604800], why: "within bounds: unchanged" },
    { soa: [1, 1, 1], want: [300, 60, 3600], why: "too eager: raised to the minimums" },
    { soa: [10_000_000, 10_000_000, 100_000_000], want: [86_400, 3_600, 1_209_600], why: "too lazy: lowered to the maximums" },
    { soa: [80_000, 3_000, 3_600], want: [80_000, 3_000, 83_000], why: "expire kept ≥ refresh + retry" },
    { soa: [0x80000000, 600, 604800], want: [86_400, 600, 604800], why: "a value with the top bit set is treated as huge" },
  ])("$why", ({ soa, want }) => {
    const t = effectiveTimers({ refresh: soa[0]!, retry: soa[1]!, expire: soa[2]! }, clamps);
    expect([t.refresh, t.retry, t.expire]).toEqual(want);
  });

  it("per-zone clamps override the service's defaults field by field", () => {
    const merged = zoneClamps(clamps, { minRefresh: 60, maxExpire: 7_200 });
    expect(merged).toEqual({ refresh: { min: 60, max: 86_400 }, retry: clamps.retry, expire: { min: 3_600, max: 7_200 } });
  });
});

describe("Backoff", () => {
  it.each([
    { failures: 1, delay: 10 },
    { failures: 2, delay: 20 },
    { failures: 3, delay: 40 },
    { failures: 10, delay: 100 },
  ])("after $failures failures a primary waits $delay s", ({ failures, delay }) => {
    const b = new Backoff(10_000, 100_000);
    let until = 0;
    for (let i = 0; i < failures; i++) until = b.fail("p", 0, "down");
    expect(until).toBe(delay * 1000);
    expect(b.waiting("p", delay * 1000 - 1)).toBe(true);
    expect(b.waiting("p", delay * 1000)).toBe(false);
  });

  it("orders the ready primaries first, keeps the configured order, and tries all when all wait", () => {
    const b = new Backoff(10_000, 100_000);
    b.fail("a", 0, "down");
    expect(b.order(["a", "b", "c"], 1)).toEqual(["b", "c"]);
    b.fail("b", 0, "down");
    b.fail("c", 0, "down");
    expect(b.order(["a", "b", "c"], 1)).toEqual(["a", "b", "c"]);
    b.succeed("b");
    expect(b.order(["a", "b", "c"], 1)).toEqual(["b"]);
    expect(b.count("a")).toBe(1);
  });
});
