/**
 * @module SOA timers under clamps, as a table: what the primary says → what we use.
 */
import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";
import { effectiveTimers, expireAfter, zoneClamps, type TimerClamps } from "./soa-timers.ts";

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

describe("expireAfter: the expire time a good refresh sets, with RFC 7314's EXPIRE option", () => {
  // SOA EXPIRE 86,400 as written; clamped to the zone's range it is `clamped`.
  it.each([
    { why: "no option (PowerDNS, NSD): the SOA's EXPIRE, clamped", option: undefined, via: "transfer", left: 0, clamped: 86_400, want: 86_400 },
    { why: "no option, a clamp raised the SOA's value: the clamp stands", option: undefined, via: "up-to-date", left: 10, clamped: 100_000, want: 100_000 },
    { why: "the primary's own value (= SOA EXPIRE, §3.1): the SOA's, clamped", option: 86_400, via: "transfer", left: 0, clamped: 100_000, want: 100_000 },
    { why: "an option above the SOA's EXPIRE: the SOA's, clamped (§4 ¶4)", option: 999_999, via: "transfer", left: 0, clamped: 86_400, want: 86_400 },
    { why: "a transfer from a secondary with 600 s left: 600 s (§4 ¶3)", option: 600, via: "transfer", left: 50_000, clamped: 86_400, want: 600 },
    { why: "… and the minimum clamp does not raise it: the chain never outlives its primary", option: 600, via: "transfer", left: 0, clamped: 100_000, want: 600 },
    { why: "… but the maximum clamp still caps it", option: 80_000, via: "transfer", left: 0, clamped: 7_200, want: 7_200 },
    { why: "up to date, the upstream has more left than we do: extended to its time (§4 ¶2)", option: 5_000, via: "up-to-date", left: 1_000, clamped: 86_400, want: 5_000 },
    { why: "up to date, the upstream has less left than we do: ours is kept, never shortened (§4 ¶2)", option: 5_000, via: "up-to-date", left: 20_000.5, clamped: 86_400, want: 20_000.5 },
    { why: "up to date, ours was already at the SOA's EXPIRE: the SOA's, clamped", option: 5_000, via: "up-to-date", left: 86_400, clamped: 100_000, want: 100_000 },
    { why: "an upstream that has expired (0): a transfer expires at once", option: 0, via: "transfer", left: 40_000, clamped: 86_400, want: 0 },
  ] as const)("$why", ({ option, via, left, clamped, want }) => {
    expect(expireAfter({ soaExpire: 86_400, clampedExpire: clamped, option, via, secondsLeft: left })).toBe(want);
  });
});
