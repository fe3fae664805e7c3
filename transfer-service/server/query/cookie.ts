/**
 * @module DNS Cookies (RFC 7873) for the port-53 front, with server cookies as RFC 9018 builds them, so that
 * every instance (and, with the same secret, any RFC 9018 server) can check a cookie another one issued.
 *
 * A client sends an 8-octet client cookie, alone the first time, then followed by the server cookie it was
 * given. A server cookie here is 16 octets: version 1, three reserved octets, a 4-octet timestamp (seconds,
 * serial arithmetic mod 2^32) and 8 octets of SipHash-2-4, keyed with the server secret, over
 * client cookie | version | reserved | timestamp | client address (4 or 16 octets). It is accepted from one
 * hour old to five minutes ahead (RFC 9018 §4.3), and issued afresh once it is older than half an hour, or
 * when it was made with the previous secret: `BACKSTOP_COOKIE_SECRET_PREVIOUS` is still accepted, never
 * issued, which is how the secret rotates without a failed answer.
 *
 * What a verdict buys is decided by the dispatcher (`dns-dispatch.ts`): a valid server cookie proves the
 * client's address and exempts it from response rate limiting, as in BIND; anything else is answered
 * normally, and only the rate limiter's slip turns into BADCOOKIE for a client that sent a cookie.
 *
 * On the hot path: the cookie is read where it sits in the query (offsets from `query-shape.ts`), the hash
 * input is assembled in one scratch buffer, and a client's address octets are remembered (parsing costs as
 * much as the hash).
 */
import ipaddr from "ipaddr.js";
import { type SipKey, sipKey, siphash24 } from "../../../dns/siphash.ts";

/** The query has no COOKIE option. */
export const COOKIE_NONE = 0;
/** A client cookie alone (8 octets): the client's first query to us, or one with no cookie of ours yet. */
export const COOKIE_CLIENT_ONLY = 1;
/** A server cookie that is not ours, not for this address, too old, too far ahead, or of another version. */
export const COOKIE_INVALID = 2;
/** A valid server cookie, made with the current secret and at most half an hour old: echoed as it came. */
export const COOKIE_VALID = 3;
/** A valid server cookie that is older than half an hour or made with the previous secret: reissued. */
export const COOKIE_VALID_RENEW = 4;
export type CookieVerdict = typeof COOKIE_NONE | typeof COOKIE_CLIENT_ONLY | typeof COOKIE_INVALID | typeof COOKIE_VALID | typeof COOKIE_VALID_RENEW;

export const CLIENT_COOKIE_LENGTH = 8;
/** A client cookie and an RFC 9018 server cookie: what the front sends back. */
export const COOKIE_OPTION_LENGTH = 24;
const VERSION = 1;
/** RFC 9018 §4.3: accepted up to an hour old and five minutes ahead, reissued past half an hour. */
export const COOKIE_MAX_AGE_S = 3_600;
export const COOKIE_MAX_AHEAD_S = 300;
export const COOKIE_REISSUE_AGE_S = 1_800;

export interface ServerCookieOptions {
  /** The 16-octet server secret cookies are made with (`BACKSTOP_COOKIE_SECRET`). */
  secret: Uint8Array;
  /** The secret before the last rotation: still accepted, never issued. */
  previous?: Uint8Array | undefined;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/** Addresses whose octets are remembered (a plain Map, emptied when full, as the rate limiter does). */
const ADDRESS_MEMO = 65_536;
const NO_ADDRESS = new Uint8Array(0);

/**
 * Whether a COOKIE option of `length` octets is well formed (RFC 7873 §5.2.2): a client cookie alone (8),
 * or with a server cookie of 8 to 32 octets (16..40). Any other length is FORMERR.
 */
export function cookieLengthValid(length: number): boolean {
  return length === CLIENT_COOKIE_LENGTH || (length >= 16 && length <= 40);
}

export class ServerCookies {
  private readonly current: SipKey;
  private readonly previous: SipKey | undefined;
  private readonly now: () => number;
  private readonly addresses = new Map<string, Uint8Array>();
  /** client cookie (8) | version (1) | reserved (3) | timestamp (4) | address (≤ 16), then the hash (8). */
  private readonly scratch = new Uint8Array(40);

  constructor(options: ServerCookieOptions) {
    this.current = sipKey(options.secret);
    this.previous = options.previous === undefined ? undefined : sipKey(options.previous);
    this.now = options.now ?? Date.now;
  }

  /**
   * Judges the COOKIE option whose data is `wire[at, at + length)` (a length `cookieLengthValid` accepts),
   * sent from `address`.
   */
  check(wire: Uint8Array, at: number, length: number, address: string): CookieVerdict {
    if (length === CLIENT_COOKIE_LENGTH) return COOKIE_CLIENT_ONLY;
    // Ours are 16 octets of version 1; any other server cookie was made by someone else (or an older scheme).
    if (length !== COOKIE_OPTION_LENGTH || wire[at + 8] !== VERSION) return COOKIE_INVALID;
    const stamp = ((wire[at + 12]! << 24) | (wire[at + 13]! << 16) | (wire[at + 14]! << 8) | wire[at + 15]!) >>> 0;
    // Serial arithmetic: the difference as a signed 32-bit number, so the wrap in 2106 changes nothing.
    const age = (this.seconds() - stamp) | 0;
    if (age > COOKIE_MAX_AGE_S || age < -COOKIE_MAX_AHEAD_S) return COOKIE_INVALID;
    // The first 16 octets are hashed as they came, reserved octets included (RFC 9018 §4.2, A.3).
    const input = this.scratch;
    for (let i = 0; i < 16; i++) input[i] = wire[at + i]!;
    const end = this.withAddress(address);
    if (this.matches(this.current, end, wire, at + 16)) return age > COOKIE_REISSUE_AGE_S ? COOKIE_VALID_RENEW : COOKIE_VALID;
    if (this.previous !== undefined && this.matches(this.previous, end, wire, at + 16)) return COOKIE_VALID_RENEW;
    return COOKIE_INVALID;
  }

  /**
   * The COOKIE option's data to send back for the client cookie at `wire[at, at + 8)`: the cookie as it came
   * when it is `COOKIE_VALID`, else the client cookie and a fresh server cookie (current secret, now).
   */
  option(wire: Uint8Array, at: number, address: string, verdict: CookieVerdict): Uint8Array {
    const out = new Uint8Array(COOKIE_OPTION_LENGTH);
    if (verdict === COOKIE_VALID) {
      for (let i = 0; i < COOKIE_OPTION_LENGTH; i++) out[i] = wire[at + i]!;
      return out;
    }
    // Byte loops rather than set/subarray: this runs per answer, and each subarray is an allocation.
    const input = this.scratch;
    for (let i = 0; i < CLIENT_COOKIE_LENGTH; i++) input[i] = out[i] = wire[at + i]!;
    input[8] = out[8] = VERSION;
    input[9] = input[10] = input[11] = 0;
    const stamp = this.seconds();
    input[12] = out[12] = stamp >>> 24;
    input[13] = out[13] = (stamp >>> 16) & 0xff;
    input[14] = out[14] = (stamp >>> 8) & 0xff;
    input[15] = out[15] = stamp & 0xff;
    const end = this.withAddress(address);
    siphash24(this.current, this.scratch, 0, end, out, 16);
    return out;
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000) >>> 0;
  }

  /** Writes `address`'s octets after the 16 in the scratch buffer; returns where the hash input ends. */
  private withAddress(address: string): number {
    const octets = this.addressOctets(address);
    this.scratch.set(octets, 16);
    return 16 + octets.length;
  }

  /** Whether SipHash under `key` of `scratch[0, end)` equals `wire[mac, mac + 8)`, compared in constant time. */
  private matches(key: SipKey, end: number, wire: Uint8Array, mac: number): boolean {
    const hash = this.scratch;
    siphash24(key, hash, 0, end, hash, 32);
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= hash[32 + i]! ^ wire[mac + i]!;
    return diff === 0;
  }

  /** The address as 4 or 16 octets (an IPv4-mapped IPv6 address as IPv4); none when it does not parse. */
  private addressOctets(address: string): Uint8Array {
    const known = this.addresses.get(address);
    if (known !== undefined) return known;
    let octets: Uint8Array;
    try {
      octets = Uint8Array.from(ipaddr.process(address).toByteArray());
    } catch {
      octets = NO_ADDRESS;
    }
    if (this.addresses.size >= ADDRESS_MEMO) this.addresses.clear();
    this.addresses.set(address, octets);
    return octets;
  }
}
