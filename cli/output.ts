/**
 * @module What the CLI prints: aligned tables for people, JSON for scripts (`--json`), both to stdout;
 * progress and errors go to stderr so a pipe gets data only.
 */

export interface Out {
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processOut = (json: boolean): Out => ({
  json,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});

/** Cells as text: null and undefined are "-", arrays joined by commas, objects as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(cell).join(",");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table with a header row, columns padded to their widest cell (the last one left ragged). */
export function table(headers: string[], rows: unknown[][]): string {
  const text = [headers, ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...text.map((r) => (r[i] ?? "").length)));
  return text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}

/** Key: value lines, keys padded. */
export function fields(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${cell(v)}`).join("\n") + "\n";
}

export function printJson(out: Out, value: unknown): void {
  out.stdout(JSON.stringify(value, null, 2) + "\n");
}
