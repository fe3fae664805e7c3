/**
 * @module One measured figure of the bench, Backstop beside the same measurement of a real peer (named,
 * knotd, or a trivial Worker on the same workerd), with their ratio and whether the target is met.
 * Targets are data, so the report, the JSON and the chart all say the same thing.
 */

/** What the figure must satisfy. `ratioAtMost`/`ratioAtLeast` compare backstop/peer; the others the value. */
export interface Target {
  ratioAtMost?: number;
  ratioAtLeast?: number;
  /** Backstop's own value must be at most this (same unit as the figure). */
  valueAtMost?: number;
}

export interface Figure {
  /** Benchmark id (`transfer`, `propagation`, …). */
  bench: string;
  /** What was measured, e.g. "AXFR 100000 records: add → last record answered". */
  what: string;
  unit: string;
  backstop: number;
  /** The same measurement of the peer; undefined when there is none (e.g. Backstop-only RSS). */
  peer?: number;
  peerName?: string;
  /** backstop / peer, when both are there. */
  ratio?: number;
  target?: Target;
  /** Undefined when the figure has no target. */
  met?: boolean;
  /** Conditions of the run worth reading beside the number (sizes, loss, machine load). */
  note?: string;
}

/** Builds a figure and judges its target. Higher-is-better figures use `ratioAtLeast`. */
export function figure(f: Omit<Figure, "ratio" | "met">): Figure {
  const ratio = f.peer !== undefined && f.peer > 0 ? f.backstop / f.peer : undefined;
  let met: boolean | undefined;
  if (f.target) {
    const checks: boolean[] = [];
    if (f.target.valueAtMost !== undefined) checks.push(f.backstop <= f.target.valueAtMost);
    if (f.target.ratioAtMost !== undefined) checks.push(ratio !== undefined && ratio <= f.target.ratioAtMost);
    if (f.target.ratioAtLeast !== undefined) checks.push(ratio !== undefined && ratio >= f.target.ratioAtLeast);
    met = checks.every(Boolean);
  }
  return { ...f, ...(ratio !== undefined ? { ratio } : {}), ...(met !== undefined ? { met } : {}) };
}

/** Target in words, for the table: "≤ 1.0× named", "≤ 256 MiB". */
export function describeTarget(f: Figure): string {
  const t = f.target;
  if (!t) return "";
  const parts: string[] = [];
  if (t.valueAtMost !== undefined) parts.push(`≤ ${t.valueAtMost} ${f.unit}`);
  if (t.ratioAtMost !== undefined) parts.push(`≤ ${t.ratioAtMost}× ${f.peerName ?? "peer"}`);
  if (t.ratioAtLeast !== undefined) parts.push(`≥ ${t.ratioAtLeast}× ${f.peerName ?? "peer"}`);
  return parts.join(", ");
}

/** Nearest-rank percentile (p in (0, 100]) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
