/**
 * @module BIND's `$GENERATE` directive (BIND 9 ARM, "The $GENERATE Directive"), for the zone-file import of
 * primary zones (issue 22): `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs` writes one record per
 * value of the iterator. In `lhs` and `rhs`, `$` is the iterator and `${offset[,width[,base]]}` formats it
 * (base `d`, `o`, `x`, `X`, or `n`/`N` for nibbles in reverse order, as ip6.arpa names want); `\$` is a
 * literal dollar, every other escape is kept for the name and rdata parsers. The range is bounded
 * (`MAX_GENERATED` records) so one line cannot make a file of millions of records.
 */

/** Records one `$GENERATE` may write (BIND has no bound; an upload must). */
export const MAX_GENERATED = 65_536;

export interface GenerateRange {
  start: number;
  stop: number;
  step: number;
}

/** `start-stop[/step]`, or a sentence saying what is wrong with it. */
export function parseRange(text: string): GenerateRange | string {
  const m = /^(\d{1,10})-(\d{1,10})(?:\/(\d{1,10}))?$/.exec(text);
  if (!m) return `"${text}" is not a range start-stop[/step]`;
  const start = Number(m[1]), stop = Number(m[2]), step = m[3] === undefined ? 1 : Number(m[3]);
  if (start > stop) return `the range ${text} starts after it stops`;
  if (step < 1) return `the step of ${text} must be at least 1`;
  if (Math.floor((stop - start) / step) + 1 > MAX_GENERATED) return `the range ${text} makes more than ${MAX_GENERATED} records`;
  return { start, stop, step };
}

/** One value formatted as `${offset,width,base}` says. */
function format(value: number, width: number, base: string): string {
  if (base === "n" || base === "N") {
    // Nibble mode: hex digits, least significant first, dot separated, `width` digits at least.
    let hex = value.toString(16);
    if (base === "N") hex = hex.toUpperCase();
    hex = hex.padStart(Math.max(width, 1), "0");
    return [...hex].reverse().join(".");
  }
  const radix = base === "o" ? 8 : base === "x" || base === "X" ? 16 : 10;
  let text = value.toString(radix);
  if (base === "X") text = text.toUpperCase();
  return text.padStart(width, "0");
}

/**
 * `template` with the iterator put in for `value`.
 * @returns the text, or a sentence naming the bad `${…}`.
 */
export function substitute(template: string, value: number): { text: string } | { error: string } {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch === "\\" && i + 1 < template.length) {
      const next = template[i + 1]!;
      out += next === "$" ? "$" : ch + next;
      i++;
      continue;
    }
    if (ch !== "$") {
      out += ch;
      continue;
    }
    if (template[i + 1] !== "{") {
      out += String(value);
      continue;
    }
    const end = template.indexOf("}", i);
    if (end < 0) return { error: `"${template}" has a \${ without its }` };
    const spec = template.slice(i + 2, end);
    const m = /^([+-]?\d{1,10})(?:,(\d{1,2})(?:,([doxXnN]))?)?$/.exec(spec);
    if (!m) return { error: `"\${${spec}}" is not \${offset[,width[,base]]} (base d, o, x, X, n or N)` };
    const shifted = value + Number(m[1]);
    if (shifted < 0) return { error: `"\${${spec}}" makes ${shifted}, below zero` };
    out += format(shifted, m[2] === undefined ? 0 : Number(m[2]), m[3] ?? "d");
    i = end;
  }
  return { text: out };
}
