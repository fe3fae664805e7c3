/** @jsxImportSource hono/jsx */
/**
 * @module The transfer history as a server-rendered SVG chart: one column per transfer in, or failed SOA check (oldest on the
 * left), its height the duration, its shade the size in records; a failure is a red column of full height
 * with a cross, so it stands out without colour too. No script, no library; the table below the chart
 * holds the same numbers for screen readers (the SVG has a title and a description).
 */
import type { TransferRow } from "../db/queries/transfer-log.ts";

const W = 900;
const ok = (t: TransferRow) => t.result === "ok" || t.result === "up-to-date";
const H = 220;
const PAD = { left: 56, right: 12, top: 14, bottom: 30 };

export function HistoryChart(props: { transfers: readonly TransferRow[] }) {
  // Transfers in, and the SOA checks that failed (a primary that refuses us fails there first); the SOA
  // checks that found the zone up to date would only bury the transfers.
  const rows = props.transfers.filter((t) => t.direction === "in" && (t.kind !== "soa" || !ok(t))).slice().reverse();
  if (rows.length === 0) return <p class="muted">No transfer yet.</p>;
  const maxMs = Math.max(1, ...rows.map((t) => t.durationMs ?? 0));
  const maxRecords = Math.max(1, ...rows.map((t) => t.records ?? 0));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / rows.length;
  const bar = Math.max(2, Math.min(28, step * 0.7));
  const failures = rows.filter((t) => !ok(t)).length;
  const desc = `${rows.length} transfers, ${failures} failed; the longest took ${maxMs} ms; the largest carried ${maxRecords} records.`;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-labelledby="chart-title chart-desc">
      <title id="chart-title">Transfer history: duration per transfer</title>
      <desc id="chart-desc">{desc}</desc>
      <line x1={PAD.left} y1={PAD.top + plotH} x2={W - PAD.right} y2={PAD.top + plotH} stroke="#4a5360" />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={PAD.top + plotH} stroke="#4a5360" />
      <text x={PAD.left - 6} y={PAD.top + 10} text-anchor="end" font-size="11" fill="#1b1f24">
        {`${maxMs} ms`}
      </text>
      <text x={PAD.left - 6} y={PAD.top + plotH} text-anchor="end" font-size="11" fill="#1b1f24">
        0
      </text>
      <text x={PAD.left} y={H - 8} font-size="11" fill="#1b1f24">
        {`oldest → newest · bar height: duration · darker: more records · red ✕: failed`}
      </text>
      {rows.map((t, i) => {
        const x = PAD.left + i * step + (step - bar) / 2;
        const failed = !ok(t);
        const h = failed ? plotH : Math.max(2, ((t.durationMs ?? 0) / maxMs) * plotH);
        const y = PAD.top + plotH - h;
        const shade = 0.35 + 0.65 * ((t.records ?? 0) / maxRecords);
        const label = `${new Date(t.at).toISOString()} ${t.kind} ${t.result}${t.durationMs != null ? `, ${t.durationMs} ms` : ""}${t.records != null ? `, ${t.records} records` : ""}${t.bytes != null ? `, ${t.bytes} octets` : ""}`;
        return failed ? (
          <g>
            <title>{label}</title>
            <rect x={x} y={y} width={bar} height={h} fill="#f6c9c9" stroke="#a61b1b" />
            <line x1={x} y1={y} x2={x + bar} y2={y + h} stroke="#a61b1b" stroke-width="2" />
            <line x1={x + bar} y1={y} x2={x} y2={y + h} stroke="#a61b1b" stroke-width="2" />
          </g>
        ) : (
          <rect x={x} y={y} width={bar} height={h} fill="#0b5cad" fill-opacity={shade.toFixed(2)}>
            <title>{label}</title>
          </rect>
        );
      })}
    </svg>
  );
}
