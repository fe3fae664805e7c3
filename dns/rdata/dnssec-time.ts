/**
 * @module RRSIG/SIG signature times (RFC 4034 §3.2): 32-bit seconds since the epoch on the wire, and
 * `YYYYMMDDHHmmSS` in UTC in presentation. The wire value is serial-number arithmetic modulo 2^32
 * (RFC 4034 §3.1.5), so the text shows the date in the 136-year window that the value names; printing
 * uses the value as an unsigned count from 1970, as BIND and Knot do. Input also takes a plain decimal
 * count of seconds, which RFC 4034 §3.2 allows.
 */

export function timeToText(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number, w = 2) => n.toString().padStart(w, "0");
  return (
    pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) +
    pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds())
  );
}

/** Parses `YYYYMMDDHHmmSS` or a decimal seconds count; undefined when neither fits in 32 bits. */
export function timeFromText(text: string): number | undefined {
  if (/^[0-9]{14}$/.test(text)) {
    const y = Number(text.slice(0, 4)), mo = Number(text.slice(4, 6)), d = Number(text.slice(6, 8));
    const h = Number(text.slice(8, 10)), mi = Number(text.slice(10, 12)), s = Number(text.slice(12, 14));
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const check = new Date(ms);
    if (check.getUTCDate() !== d) return undefined; // 31 April and the like
    const seconds = ms / 1000;
    // Dates past 2106 wrap modulo 2^32, as RFC 4034 §3.1.5's serial arithmetic intends.
    return seconds < 0 ? undefined : seconds % 2 ** 32;
  }
  if (/^[0-9]{1,10}$/.test(text)) {
    const v = Number(text);
    return v <= 0xffffffff ? v : undefined;
  }
  return undefined;
}
