/**
 * @module docs/alerts/backstop.rules.yml (issue 25) is a rules file Prometheus loads: `promtool check rules`
 * accepts it, `promtool test rules` proves each rule fires on its condition and not beside it
 * (backstop.rules.test.yml), and every metric it reads is one the transfer-service exports.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../transfer-service/ops/metrics.ts";
import { ALERT_KINDS } from "../../workers/alerts/kinds.ts";
import { runTool } from "../peers/run-tool.ts";

const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../docs/alerts");

describe("docs/alerts/backstop.rules.yml", () => {
  it("promtool check rules accepts it and promtool test rules passes", async () => {
    const check = await runTool("promtool", ["check", "rules", "backstop.rules.yml"], { cwd: dir });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS: 6 rules found/);
    const unit = await runTool("promtool", ["test", "rules", "backstop.rules.test.yml"], { cwd: dir });
    expect(unit.code, unit.stdout + unit.stderr).toBe(0);
  });

  it("reads only metrics the transfer-service exports, and labels each rule with a kind Backstop knows", async () => {
    const text = await readFile(path.join(dir, "backstop.rules.yml"), "utf8");
    const rulesOnly = text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
    const exported = new Set((await new Metrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name));
    const read = new Set(rulesOnly.match(/\bbackstop_[a-z_]+/g));
    expect(read.size).toBeGreaterThanOrEqual(6);
    for (const name of read) expect(exported, name).toContain(name);
    const kinds = [...rulesOnly.matchAll(/^\s+kind: (\S+)$/gm)].map((m) => m[1]);
    for (const k of kinds) expect(ALERT_KINDS).toContain(k);
    expect(new Set(kinds)).toEqual(new Set(["failing", "stale", "expiring", "expired", "rrsig-expiring"]));
  });
});
