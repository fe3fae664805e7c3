/**
 * @module TTLs in zone files: a decimal count of seconds (RFC 1035 §5.1), or BIND's unit form
 * (`1h30m`, `2w`, case-insensitive w/d/h/m/s), which BIND and Knot both accept. RFC 2181 §8 caps TTLs
 * at 2^31 - 1.
 */

const UNITS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
export const MAX_TTL = 0x7fffffff;

/** Seconds, or undefined when the text is not a TTL. */
export function parseTtl(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) {
    const v = Number(text);
    return v <= MAX_TTL ? v : undefined;
  }
  if (!/^([0-9]+[wdhmsWDHMS])+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)([wdhmsWDHMS])/g)) total += Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return total <= MAX_TTL ? total : undefined;
}
