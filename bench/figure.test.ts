/**
 * @module The bench's own arithmetic, as tables: a figure's ratio and verdict, nearest-rank percentiles,
 * number formatting, dnsperf's summary, and the command line's bounds.
 */
import { describe, expect, it } from "vitest";
import { describeTarget, figure, percentile, type Target } from "./figure.ts";
import { parseOptions, UsageError } from "./options.ts";
import { formatNumber } from "./report.ts";
import { parseDnsperf } from "./udp-front.ts";

describe("figure", () => {
  const rows: Array<{ backstop: number; peer?: number; target?: Target; ratio?: number; met?: boolean; words: string }> = [
    { backstop: 3, peer: 6, target: { ratioAtMost: 1 }, ratio: 0.5, met: true, words: "≤ 1× named" },
    { backstop: 6, peer: 3, target: { ratioAtMost: 1 }, ratio: 2, met: false, words: "≤ 1× named" },
    { backstop: 800, peer: 1000, target: { ratioAtLeast: 0.8 }, ratio: 0.8, met: true, words: "≥ 0.8× named" },
    { backstop: 900, peer: 400, target: { valueAtMost: 1000, ratioAtMost: 2 }, ratio: 2.25, met: false, words: "≤ 1000 ms, ≤ 2× named" },
    { backstop: 1100, peer: 1000, target: { valueAtMost: 1000, ratioAtMost: 2 }, ratio: 1.1, met: false, words: "≤ 1000 ms, ≤ 2× named" },
    { backstop: 200, target: { valueAtMost: 256 }, met: true, words: "≤ 256 ms" },
    { backstop: 5, peer: 0, target: { ratioAtMost: 1 }, met: false, words: "≤ 1× named" },
    { backstop: 5, words: "" },
  ];
  it.each(rows)("backstop $backstop vs $peer, target $target", (row) => {
    const f = figure({ bench: "t", what: "w", unit: "ms", backstop: row.backstop, peer: row.peer, peerName: "named", target: row.target });
    expect(f.ratio).toBe(row.ratio);
    expect(f.met).toBe(row.target ? row.met : undefined);
    expect(describeTarget(f)).toBe(row.words);
  });
});

describe("percentile (nearest rank)", () => {
  const values = Array.from({ length: 50 }, (_, i) => 50 - i); // 50 … 1, unsorted on purpose
  it.each([
    { p: 50, want: 25 },
    { p: 99, want: 50 },
    { p: 100, want: 50 },
    { p: 1, want: 1 },
  ])("p$p of 1…50 is $want", ({ p, want }) => expect(percentile(values, p)).toBe(want));
  it("is NaN for no values", () => expect(percentile([], 50)).toBeNaN());
});

describe("formatNumber", () => {
  it.each([
    { x: 0.000123456, want: "0.000123" },
    { x: 0.294, want: "0.294" },
    { x: 2.2058, want: "2.21" },
    { x: 26.23, want: "26.2" },
    { x: 1172.4, want: "1172" },
    { x: 0, want: "0" },
    { x: undefined, want: "–" },
    { x: Number.NaN, want: "–" },
  ])("$x → $want", ({ x, want }) => expect(formatNumber(x)).toBe(want));
});

describe("parseDnsperf", () => {
  const out = `Statistics:

  Queries sent:         47467
  Queries completed:    47467 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 47467 (100.00%)
  Average packet size:  request 41, response 57
  Run time (s):         5.007529
  Queries per second:   9479.225639

  Average Latency (s):  0.010030 (min 0.000120, max 0.103415)
  Latency StdDev (s):   0.006112
`;
  it("reads sent, completed, loss, qps and average latency", () => {
    const got = parseDnsperf(out);
    expect(got).toMatchObject({ sent: 47467, completed: 47467, lostPercent: 0, qps: 9479.225639 });
    expect(got.avgLatencyMs).toBeCloseTo(10.03, 9);
  });
  it("says what is missing from output it cannot read", () => expect(() => parseDnsperf("dnsperf: error")).toThrow(/Queries sent/));
});

describe("parseOptions", () => {
  it("has defaults for everything", () =>
    expect(parseOptions([])).toMatchObject({ records: [100_000, 1_000_000], loadRecords: 100_000, changes: 50, chainChanges: 20, ixfrRecords: 1_000_000, ixfrChanges: 1000, seconds: 5 }));
  it.each([
    { args: ["--records", "10000,100_000"], key: "records", want: [10_000, 100_000] },
    { args: ["--only", "transfer,ixfr"], key: "only", want: ["transfer", "ixfr"] },
    { args: ["--profile"], key: "profile", want: true },
    { args: ["--only", "xfr-out,chain"], key: "only", want: ["xfr-out", "chain"] },
    { args: ["--chain-changes", "5"], key: "chainChanges", want: 5 },
  ])("$args", ({ args, key, want }) => expect(parseOptions(args)[key as "records"]).toEqual(want));
  it.each([
    ["--records", "12"],
    ["--records", "1e9"],
    ["--only", "transfr"],
    ["--seconds", "0"],
    ["--chain-changes", "0"],
    ["--ixfr-records", "1000", "--ixfr-changes", "1000"],
  ])("refuses %s %s", (...args) => expect(() => parseOptions(args)).toThrow(UsageError));
});
