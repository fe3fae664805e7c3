/**
 * @module The monitoring files (#26 item 2) name only metrics the service serves: every `backstop_*`
 * metric in the Grafana dashboard (docs/grafana/) and the Prometheus alerting rules (deploy/prometheus/)
 * must appear in the `/metrics` of the real transfer-service, started here as `npm start` starts it
 * (node with tsx's loader, environment only; the Worker unreachable, which it survives). Histograms are
 * read through their `_bucket` / `_sum` / `_count` series. Prometheus's own `up` is the one other name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../peers/index.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const read = (p: string) => readFileSync(path.join(root, p), "utf8");
const PROMETHEUS_OWN = new Set(["up"]);

let child: ChildProcess;
let output = "";
/** Metric families the service declares (`# TYPE name kind`). */
const served = new Map<string, string>();

beforeAll(async () => {
  const [dnsPort, httpPort] = await freePorts(2);
  child = spawn(process.execPath, ["--import", "tsx", path.join(root, "transfer-service/main.ts")], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      BACKSTOP_WORKER_URL: "http://127.0.0.1:9", // nothing listens
      BACKSTOP_INTERNAL_TOKEN: "dashboard-test-token-0123456789",
      BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  await waitFor("the service to listen", () => output.includes('"msg":"listening"') || child.exitCode !== null, 30_000);
  expect(child.exitCode, output).toBeNull();
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) served.set(m[1]!, m[2]!);
}, 40_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});

/** Whether a name used in PromQL is a series of a family the service serves. */
function exists(name: string): boolean {
  if (served.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m !== null && (served.get(m[1]!) === "histogram" || served.get(m[1]!) === "summary");
}

/** Metric names in PromQL expressions (label names and functions are not followed by `{`, `[` or `)` the same way, so take backstop_* and the known others). */
function metricNames(exprs: string[]): Set<string> {
  const names = new Set<string>();
  for (const e of exprs) {
    const noStrings = e.replace(/"[^"]*"/g, '""');
    for (const m of noStrings.matchAll(/\b(backstop_[a-z0-9_]+|up)\b/g)) names.add(m[1]!);
  }
  return names;
}

describe("monitoring files against the service's /metrics", () => {
  it("the service serves its metric families, process ones included", () => {
    expect(served.get("backstop_zones")).toBe("gauge");
    expect(served.get("backstop_transfer_duration_seconds")).toBe("histogram");
    expect(served.has("backstop_process_resident_memory_bytes")).toBe(true);
  });

  it("every metric of the Grafana dashboard exists", () => {
    const dash = JSON.parse(read("docs/grafana/backstop-transfer-service.json"));
    const exprs: string[] = [];
    for (const p of dash.panels) for (const t of p.targets ?? []) exprs.push(t.expr);
    for (const v of dash.templating.list) exprs.push(v.definition);
    const names = metricNames(exprs);
    expect(names.size).toBeGreaterThan(15);
    expect([...names].filter((n) => !exists(n) && !PROMETHEUS_OWN.has(n))).toEqual([]);
    // Importable: one datasource input, unique panel ids.
    expect(dash.__inputs.map((i: { name: string }) => i.name)).toEqual(["DS_PROMETHEUS"]);
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("every metric of the alerting rules exists, and the rules name the scrape job", () => {
    const rules = parseYaml(read("deploy/prometheus/backstop.rules.yml")) as {
      groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(5);
    for (const r of all) {
      expect(r.alert).toMatch(/^Backstop[A-Za-z]+$/);
      expect(r.labels.severity).toMatch(/^(page|critical|warning|info)$/);
    }
    const names = metricNames(all.map((r) => r.expr));
    expect([...names].filter((n) => !exists(n) && !PROMETHEUS_OWN.has(n))).toEqual([]);
    const scrape = parseYaml(read("deploy/prometheus/prometheus.yml")) as { rule_files: string[]; scrape_configs: { job_name: string }[] };
    const job = scrape.scrape_configs[0]!.job_name;
    for (const r of all.filter((r) => r.expr.includes("up{"))) expect(r.expr).toContain(`job="${job}"`);
    expect(scrape.rule_files).toEqual(["backstop.rules.yml"]);
  });
});
