/**
 * @module Response rate limiting with an injected clock: prefixes (/24, /56, mapped IPv4), accounts per
 * prefix × response token (distinct names never limited, one repeated answer limited), a rate per category,
 * all-per-second, log-only, the token bucket with its one-second burst and its window of debt, slip ratios,
 * TCP and exempt prefixes, the table bound, the once-per-episode log line and its own limit, and the
 * counters in /metrics by category.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../ops/log.ts";
import { Metrics } from "../../ops/metrics.ts";
import { perProcessRates, ratesOf, ResponseRateLimiter, type RrlAction, type RrlOptions } from "./rrl.ts";
import type { RrlToken } from "./rrl-token.ts";

function limiter(over: Partial<RrlOptions> = {}, clock = { t: 1_000_000 }) {
  return new ResponseRateLimiter({
    rates: ratesOf(5),
    windowS: 3,
    slip: 2,
    ipv4PrefixLength: 24,
    ipv6PrefixLength: 56,
    exempt: [],
    tableSize: 100,
    now: () => clock.t,
    ...over,
  });
}

/** One answer, repeated: `www.example.org. A`. */
const SAME: RrlToken = { category: "response", token: "1 \x03www\x07example\x03org\x00" };

const run = (rrl: ResponseRateLimiter, address: string, n: number, transport: "udp" | "tcp" = "udp", what: RrlToken = SAME): RrlAction[] =>
  Array.from({ length: n }, () => rrl.decide(address, transport, what));

describe("prefixes", () => {
  it.each([
    { address: "198.51.100.77", v4: 24, v6: 56, prefix: "198.51.100.0/24" },
    { address: "::ffff:198.51.100.77", v4: 24, v6: 56, prefix: "198.51.100.0/24" },
    { address: "198.51.100.77", v4: 20, v6: 56, prefix: "198.51.96.0/20" },
    { address: "2001:db8:aaaa:bbcc:1::1", v4: 24, v6: 56, prefix: "2001:db8:aaaa:bb00::/56" },
    { address: "2001:db8:aaaa:bbcc:1::1", v4: 24, v6: 64, prefix: "2001:db8:aaaa:bbcc::/64" },
    { address: "::1", v4: 24, v6: 56, prefix: "::/56" },
    { address: "not-an-address", v4: 24, v6: 56, prefix: undefined },
  ])("$address with /$v4 and /$v6 → $prefix", ({ address, v4, v6, prefix }) => {
    expect(limiter({ ipv4PrefixLength: v4, ipv6PrefixLength: v6 }).prefixOf(address)).toBe(prefix);
  });
});

describe("token bucket", () => {
  it("a burst of one second's worth passes, then every 2nd limited answer slips", () => {
    const rrl = limiter();
    expect(run(rrl, "192.0.2.1", 9)).toEqual(["allow", "allow", "allow", "allow", "allow", "drop", "slip", "drop", "slip"]);
  });

  it.each([
    { slip: 0, expected: ["drop", "drop", "drop", "drop"] },
    { slip: 1, expected: ["slip", "slip", "slip", "slip"] },
    { slip: 3, expected: ["drop", "drop", "slip", "drop"] },
  ])("slip $slip", ({ slip, expected }) => {
    const rrl = limiter({ slip });
    run(rrl, "192.0.2.1", 5);
    expect(run(rrl, "192.0.2.1", 4)).toEqual(expected);
  });

  it("neighbours in the /24 share a bucket; the next /24 does not", () => {
    const rrl = limiter();
    run(rrl, "192.0.2.1", 5);
    expect(rrl.decide("192.0.2.200", "udp", SAME)).not.toBe("allow");
    expect(rrl.decide("192.0.3.1", "udp", SAME)).toBe("allow");
  });

  it("tokens come back at the rate; a flood's debt lasts up to the window", () => {
    const clock = { t: 1_000_000 };
    const rrl = limiter({}, clock);
    run(rrl, "192.0.2.1", 5); // balance 0
    clock.t += 400; // +2 tokens
    expect(run(rrl, "192.0.2.1", 3)).toEqual(["allow", "allow", "drop"]);
    // Flood on: the debt floors at window × rate = 15 answers' worth.
    run(rrl, "192.0.2.1", 1000);
    clock.t += 2_900; // 14.5 tokens: still in debt
    expect(rrl.decide("192.0.2.1", "udp", SAME)).not.toBe("allow");
    clock.t += 3_100; // debt paid and more
    expect(rrl.decide("192.0.2.1", "udp", SAME)).toBe("allow");
  });

  it("never more than one second's burst, however long the quiet", () => {
    const clock = { t: 1_000_000 };
    const rrl = limiter({}, clock);
    rrl.decide("192.0.2.1", "udp", SAME);
    clock.t += 3_600_000;
    expect(run(rrl, "192.0.2.1", 6).filter((a) => a === "allow")).toHaveLength(5);
  });
});

describe("identical responses (BIND's accounting)", () => {
  const name = (i: number): RrlToken => ({ category: "response", token: `1 \x04n${String(i).padStart(3, "0")}\x07example\x03org\x00` });

  it("a resolver asking many different names from one prefix is never limited", () => {
    const rrl = limiter();
    const actions = Array.from({ length: 2000 }, (_, i) => rrl.decide("192.0.2.1", "udp", name(i)));
    expect(new Set(actions)).toEqual(new Set(["allow"]));
  });

  it("the same name asked again and again is limited, and the other names of the prefix are not", () => {
    const rrl = limiter();
    expect(run(rrl, "192.0.2.1", 8)).toContain("drop");
    expect(rrl.decide("192.0.2.1", "udp", name(1))).toBe("allow");
  });

  it("NXDOMAIN counts by the zone: random names under one zone share one account", () => {
    const rrl = limiter();
    const nx: RrlToken = { category: "nxdomain", token: "example.org." };
    expect(run(rrl, "192.0.2.1", 9, "udp", nx)).toEqual(["allow", "allow", "allow", "allow", "allow", "drop", "slip", "drop", "slip"]);
  });

  it.each([
    { category: "nxdomain" as const, over: { nxdomains: 2 } },
    { category: "nodata" as const, over: { nodata: 2 } },
    { category: "referral" as const, over: { referrals: 2 } },
    { category: "error" as const, over: { errors: 2 } },
  ])("$category has its own rate", ({ category, over }) => {
    const rrl = limiter({ rates: ratesOf(5, over) });
    const what: RrlToken = { category, token: category === "error" ? "" : "example.org." };
    expect(run(rrl, "192.0.2.1", 3, "udp", what)).toEqual(["allow", "allow", "drop"]);
    expect(run(rrl, "192.0.2.9", 5)).toEqual(["allow", "allow", "allow", "allow", "allow"]);
  });

  it("a category at rate 0 is not limited while the others are", () => {
    const rrl = limiter({ rates: ratesOf(5, { errors: 0 }) });
    expect(new Set(run(rrl, "192.0.2.1", 50, "udp", { category: "error", token: "" }))).toEqual(new Set(["allow"]));
    expect(run(rrl, "192.0.2.1", 6)).toContain("drop");
  });

  it("all-per-second caps a prefix over every token, by dropping (never slipping)", () => {
    const rrl = limiter({ rates: ratesOf(5, { all: 10 }), slip: 1 });
    const actions = Array.from({ length: 12 }, (_, i) => rrl.decide("192.0.2.1", "udp", name(i)));
    expect(actions).toEqual([...new Array(10).fill("allow"), "drop", "drop"]);
    expect(rrl.decide("192.0.3.1", "udp", name(0))).toBe("allow");
  });

  it("log-only limits nothing, but counts and logs what it would have done", async () => {
    const lines: Array<{ msg: string; category: string; response: string; logOnly: boolean }> = [];
    const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const metrics = new Metrics({ defaultMetrics: false });
    const rrl = limiter({ logOnly: true, metrics, log: createLogger({ level: "info", destination }) });
    expect(new Set(run(rrl, "192.0.2.1", 20))).toEqual(new Set(["allow"]));
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ category: "response", response: "www.example.org. A", logOnly: true });
    const text = (await metrics.render()).body;
    expect(text).toMatch(/backstop_rrl_responses_total\{action="allow",category="response"\} 5/);
    expect(text).toMatch(/backstop_rrl_responses_total\{action="drop",category="response"\} 8/);
    expect(text).toMatch(/backstop_rrl_responses_total\{action="slip",category="response"\} 7/);
  });
});

describe("exemptions", () => {
  it.each([
    { why: "TCP", address: "192.0.2.1", transport: "tcp" as const, exempt: [] },
    { why: "an exempt /24", address: "192.0.2.9", transport: "udp" as const, exempt: ["192.0.2.0/24"] },
    { why: "an exempt single address", address: "2001:db8::53", transport: "udp" as const, exempt: ["2001:db8::53"] },
    { why: "a mapped address under an IPv4 exemption", address: "::ffff:192.0.2.9", transport: "udp" as const, exempt: ["192.0.2.0/24"] },
    { why: "rate 0 turns RRL off", address: "192.0.2.1", transport: "udp" as const, exempt: [], rate: 0 },
  ])("$why is never limited", ({ address, transport, exempt, rate }) => {
    const rrl = limiter({ exempt, rates: ratesOf(rate ?? 5) });
    expect(new Set(run(rrl, address, 100, transport))).toEqual(new Set(["allow"]));
  });
});

describe("table, logs and metrics", () => {
  it("a prefix pushed out of the table comes back with a full bucket", () => {
    const rrl = limiter({ tableSize: 2 });
    run(rrl, "192.0.2.1", 6);
    rrl.decide("198.51.100.1", "udp", SAME);
    rrl.decide("203.0.113.1", "udp", SAME);
    expect(rrl.decide("192.0.2.1", "udp", SAME)).toBe("allow");
  });

  it("logs a prefix once per episode, at most logPerSecond lines, and counts every answer", async () => {
    const lines: Array<{ msg: string; prefix: string; suppressed: number }> = [];
    const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const metrics = new Metrics({ defaultMetrics: false });
    const clock = { t: 1_000_000 };
    const rrl = limiter({ log: createLogger({ level: "info", destination }), metrics, logPerSecond: 2 }, clock);
    run(rrl, "192.0.2.1", 50); // one episode: one line
    for (let i = 1; i <= 5; i++) run(rrl, `10.0.${i}.1`, 7); // five more prefixes in the same instant: two more lines
    clock.t += 1_000;
    run(rrl, "10.0.9.1", 7); // a second later: logged, with the count of those left out
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.prefix)).toEqual(["192.0.2.0/24", "10.0.1.0/24", "10.0.9.0/24"]);
    expect(lines.at(-1)!.suppressed).toBe(4);
    const text = (await metrics.render()).body;
    const value = (action: string) => Number(new RegExp(`backstop_rrl_responses_total\\{action="${action}",category="response"\\} (\\d+)`).exec(text)?.[1]);
    expect(value("allow") + value("drop") + value("slip")).toBe(50 + 5 * 7 + 7);
    expect(value("allow")).toBe(7 * 5);
    expect(value("slip")).toBe(Math.floor(45 / 2) + 6 * 1);
  });
});

describe("perProcessRates (the multi-process front)", () => {
  it("divides each rate among the processes, rounded down, at least 1; 0 stays 0; one process keeps all", () => {
    const rates = { responses: 20, nxdomains: 7, nodata: 1, referrals: 0, errors: 3, all: 100 };
    expect(perProcessRates(rates, 1)).toEqual(rates);
    expect(perProcessRates(rates, 2)).toEqual({ responses: 10, nxdomains: 3, nodata: 1, referrals: 0, errors: 1, all: 50 });
    expect(perProcessRates(rates, 3)).toEqual({ responses: 6, nxdomains: 2, nodata: 1, referrals: 0, errors: 1, all: 33 });
  });
});

describe("enabled", () => {
  it.each([
    { why: "every rate 0", rates: ratesOf(0), enabled: false },
    { why: "responses only", rates: ratesOf(0, { responses: 5 }), enabled: true },
    { why: "errors only", rates: ratesOf(0, { errors: 5 }), enabled: true },
    { why: "all-per-second only", rates: ratesOf(0, { all: 20 }), enabled: true },
    { why: "every rate 5", rates: ratesOf(5), enabled: true },
  ])("$why: $enabled", ({ rates, enabled }) => {
    expect(limiter({ rates }).enabled).toBe(enabled);
  });
});
