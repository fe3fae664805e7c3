/**
 * @module The bench's outputs: the Markdown table (printed and written beside the JSON) and the JSON
 * record of a run: when, on what machine and how loaded, with which options, every figure, and every
 * benchmark that was skipped or failed with its reason.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { describeTarget, type Figure } from "./figure.ts";
import type { BenchOptions } from "./options.ts";

export interface Outcome {
  bench: string;
  status: "ran" | "skipped" | "failed";
  reason?: string;
  seconds: number;
}

export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: BenchOptions;
  outcomes: Outcome[];
  figures: Figure[];
}

export function machineAtStart(): Omit<RunRecord["machine"], "loadAverageAtEnd"> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/** Three significant digits, no exponent: 0.000123 → "0.000123", 123456 → "123456". */
export function formatNumber(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return "–";
  if (x === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(digits, 6));
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function markdownTable(figures: readonly Figure[]): string {
  const rows = [
    "| bench | what | Backstop | peer | ratio | target | met |",
    "|---|---|---:|---:|---:|---|:---:|",
  ];
  for (const f of figures) {
    const peer = f.peer === undefined ? "–" : `${formatNumber(f.peer)} ${f.unit} (${f.peerName})`;
    const met = f.met === undefined ? "" : f.met ? "yes" : "**no**";
    rows.push(
      `| ${f.bench} | ${cell(f.what)}${f.note ? ` <br><sub>${cell(f.note)}</sub>` : ""} | ${formatNumber(f.backstop)} ${f.unit} | ${peer} | ${f.ratio === undefined ? "–" : `${formatNumber(f.ratio)}×`} | ${cell(describeTarget(f))} | ${met} |`,
    );
  }
  return rows.join("\n");
}

export function markdownReport(run: RunRecord): string {
  const lines = [
    `# Backstop bench, ${run.startedAt}`,
    "",
    `${run.machine.cpus} × ${run.machine.cpuModel}, ${run.machine.memoryMiB} MiB, Node ${run.machine.node}; ` +
      `load average ${run.machine.loadAverageAtStart.join(" ")} at start, ${run.machine.loadAverageAtEnd.join(" ")} at end. ` +
      "Ratios are Backstop ÷ peer, measured in the same run.",
    "",
    markdownTable(run.figures),
    "",
  ];
  const notRun = run.outcomes.filter((o) => o.status !== "ran");
  if (notRun.length) {
    lines.push("Not measured:", "");
    for (const o of notRun) lines.push(`- **${o.bench}** ${o.status}: ${o.reason}`);
    lines.push("");
  }
  return lines.join("\n");
}
