/**
 * @module An SVG bar chart of the run's ratios (Backstop ÷ peer), one bar per figure that has a peer,
 * drawn by hand (a few rectangles and labels need no library). The bar is green when the figure's target
 * is met, red when missed, grey when the figure has no target; a dashed tick marks the target ratio and
 * a solid line marks 1×. The axis is logarithmic so 0.1× and 10× are equally far from parity.
 */
import { type Figure } from "./figure.ts";
import { formatNumber } from "./report.ts";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function ratioChart(figures: readonly Figure[], title: string): string {
  const bars = figures.filter((f) => f.ratio !== undefined && f.ratio > 0);
  const labelWidth = 470;
  const plotWidth = 420;
  const rowHeight = 24;
  const top = 48;
  const height = top + bars.length * rowHeight + 40;
  const width = labelWidth + plotWidth + 200;
  // Log axis from 1/(max) to max, max a power of ten covering every ratio and target.
  const extremes = bars.flatMap((f) => [f.ratio as number, f.target?.ratioAtMost ?? 1, f.target?.ratioAtLeast ?? 1]);
  const span = Math.max(1, ...extremes.map((r) => Math.ceil(Math.abs(Math.log10(r)) + 1e-9)));
  const x = (ratio: number) => labelWidth + ((Math.log10(ratio) + span) / (2 * span)) * plotWidth;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">Backstop ÷ peer (log scale). Green: target met; red: missed; grey: no target. Dashed: target.</text>`,
  ];
  for (let p = -span; p <= span; p++) {
    const gx = x(10 ** p);
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowHeight}" stroke="${p === 0 ? "#000" : "#ddd"}"/>`);
    out.push(`<text x="${gx}" y="${top + bars.length * rowHeight + 16}" text-anchor="middle" fill="#555">${String(10 ** p)}×</text>`);
  }
  bars.forEach((f, i) => {
    const y = top + i * rowHeight;
    const ratio = f.ratio as number;
    const colour = f.met === undefined ? "#999" : f.met ? "#2a9d4b" : "#d33";
    const [a, b] = [x(1), x(ratio)].sort((m, n) => m - n) as [number, number];
    const label = `${f.bench}: ${f.what}`;
    out.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(label.length > 68 ? `${label.slice(0, 67)}…` : label)}</text>`);
    out.push(`<rect x="${a}" y="${y + 4}" width="${Math.max(1, b - a)}" height="${rowHeight - 8}" fill="${colour}"/>`);
    out.push(`<text x="${labelWidth + plotWidth + 6}" y="${y + 15}">${formatNumber(ratio)}× ${esc(f.peerName ?? "")}</text>`);
    const target = f.target?.ratioAtMost ?? f.target?.ratioAtLeast;
    if (target !== undefined) {
      const tx = x(target);
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + rowHeight - 1}" stroke="#000" stroke-dasharray="3,2" stroke-width="2"/>`);
    }
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
