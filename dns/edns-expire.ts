/**
 * @module The EDNS EXPIRE option (RFC 7314): how long a zone may still be served, handed along a chain of
 * secondaries so that the last one in the chain never serves the zone longer than the primary allows.
 *
 * - A request for SOA, AXFR or IXFR carries the option empty (§2): "tell me your expire timer".
 * - The answer to such a request carries it with 4 octets, seconds (§3): a primary its SOA EXPIRE (§3.1), a
 *   secondary the time left on its expire timer (§3.2). Not to a request that did not ask, and not for
 *   other query types.
 * - What a secondary does with the value it receives (§4) is a rule about its timers, so it lives with them
 *   (`transfer-service/zones/refresh/soa-timers.ts`, `expireAfter`).
 *
 * Runtime-neutral: the Worker's answer engine, the transfer-service's requests and its transfers out all
 * use this one codec.
 */
import { type Edns, type EdnsOption, EdnsOptionCode, findOption } from "./edns.ts";

/** The option's code (IANA "DNS EDNS0 Option Codes"). */
export const EXPIRE_OPTION = EdnsOptionCode.EXPIRE;

const UINT32_MAX = 0xffffffff;

/** The option a request carries (RFC 7314 §2: OPTION-LENGTH 0). */
export function expireRequest(): EdnsOption {
  return { code: EXPIRE_OPTION, data: new Uint8Array(0) };
}

/**
 * The option an answer carries: `seconds` as an unsigned 32-bit integer (RFC 7314 §3), rounded down and
 * kept within 0 … 2^32 − 1.
 */
export function expireAnswer(seconds: number): EdnsOption {
  const value = Number.isFinite(seconds) ? Math.min(UINT32_MAX, Math.max(0, Math.floor(seconds))) : 0;
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value);
  return { code: EXPIRE_OPTION, data };
}

/** True when a query asked for the option (its length is not checked: a request has none, §2). */
export function asksExpire(edns: Edns | undefined): boolean {
  return findOption(edns, EXPIRE_OPTION) !== undefined;
}

/**
 * The seconds an answer's option carries, or undefined when it has none, or one whose length is not 4
 * (a malformed option is ignored, as knotd ignores it, rather than failing the refresh).
 */
export function expireFromAnswer(edns: Edns | undefined): number | undefined {
  const option = findOption(edns, EXPIRE_OPTION);
  if (option?.data.length !== 4) return undefined;
  return new DataView(option.data.buffer, option.data.byteOffset, 4).getUint32(0);
}

/**
 * What Backstop answers in the option (RFC 7314 §3) for a zone whose expire time is `expiresAt` (ms since
 * the epoch) and whose SOA says EXPIRE `soaExpire` (seconds):
 * - `expiresAt` null (a `primary` zone, which never expires; or a secondary's first version, before its
 *   first report set a time): the SOA EXPIRE itself, as a primary answers (§3.1);
 * - otherwise the whole seconds left (§3.2), never below 0, and never above the SOA EXPIRE, the most any
 *   secondary may use (§4): a clamp that lets us serve longer than the SOA says is ours alone.
 */
export function expireSecondsLeft(expiresAt: number | null, soaExpire: number, now: number): number {
  if (expiresAt === null) return soaExpire;
  return Math.min(soaExpire, Math.max(0, Math.floor((expiresAt - now) / 1000)));
}
