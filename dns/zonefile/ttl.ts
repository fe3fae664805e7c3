/**
 * @module TTLs in zone files: a decimal count of seconds (RFC 1035 §5.1), or BIND's unit form
 * (`1h30m`, `2w`, case-insensitive w/d/h/m/s), which BIND and Knot both accept. RFC 2181 §8: a TTL above
 * 2^31 - 1 is taken as 0 (BIND does the same); one that does not fit in 32 bits at all is an error.
 */

const UNITS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
export const MAX_TTL = 0x7fffffff;

/** Seconds (0 – 2^32-1), decimal or in units; undefined when the text is neither or too large. */
export function parseDuration(text: string): number | undefined {
  let total: number;
  if (/^[0-9]+$/.test(text)) total = Number(text);
  else if (/^([0-9]+[wdhmsWDHMS])+$/.test(text)) {
    total = 0;
    for (const m of text.matchAll(/([0-9]+)([wdhmsWDHMS])/g)) total += Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  } else return undefined;
  return total > 0xffffffff ? undefined : total;
}

/** A TTL in seconds, or undefined when the text is not a TTL. */
export function parseTtl(text: string): number | undefined {
  const total = parseDuration(text);
  return total === undefined ? undefined : total > MAX_TTL ? 0 : total;
}
