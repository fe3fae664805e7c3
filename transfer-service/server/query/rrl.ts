/**
 * @module Response rate limiting for UDP answers, as BIND 9.18 defines it (ARM, "Response Rate Limiting"),
 * with Knot's and NSD's as a cross-check: an open UDP responder is an amplification weapon (a small query
 * with a forged source buys a large answer sent to the victim), so *identical responses* to one client
 * prefix are limited to a rate, and what is over it is dropped or slipped.
 *
 * 1. An account is a client prefix × a response token (`rrl-token.ts`): a positive answer counts by qname and
 *    qtype, NXDOMAIN and NODATA by the zone, a referral by the delegation, an error by the prefix alone. A
 *    resolver asking many different names is therefore never limited; an amplifier repeating one answer,
 *    or a random-subdomain flood into one zone, is.
 * 2. Clients are counted by prefix (/24 for IPv4, /56 for IPv6 by default, as BIND's `ipv4-prefix-length`
 *    and `ipv6-prefix-length`), since a forger or a botnet spreads over neighbouring addresses. An
 *    IPv4-mapped IPv6 source counts as IPv4.
 * 3. Each account is a token bucket: it earns its category's rate a second (`responses-per-second`,
 *    `nxdomains-per-second`, `nodata-per-second`, `referrals-per-second`, `errors-per-second`), holds at most
 *    one second's worth (the burst), and each answer costs one. Below zero the account is limited; the debt
 *    is floored at `window` seconds' worth (BIND's `window`, 15 s), so a flood must stop for up to that long
 *    before answers resume. A category whose rate is 0 is not limited.
 * 4. `all-per-second` (off by default, as in BIND) is a second bucket per prefix over every answer. Over it,
 *    an answer is dropped, never slipped: it is a ceiling on a prefix, not a hint to retry over TCP.
 * 5. Of the answers limited by their token, every `slip`-th is sent as an empty reply with TC=1 (BIND's
 *    `slip`, 2): a real resolver behind the prefix retries over TCP and gets its answer, while the forged
 *    victim receives a reply no larger than the query. The rest are dropped. `slip` 0 drops them all; 1
 *    slips them all.
 * 6. TCP is exempt (a TCP client has shown it owns its address), and so are the `exempt` prefixes.
 * 7. The table of accounts is an LRU of bounded size (`max-table-size`); a forgotten account starts with a
 *    full bucket.
 * 8. `logOnly` (BIND's `log-only yes`): every decision is made, counted and logged, and every answer sent.
 *    That is how operators roll RRL out.
 * An account that starts being limited is logged once per episode, with its category and token; those lines
 * are themselves rate limited (at most `logPerSecond`, with a count of the ones left out), so a flood cannot
 * fill the disk.
 */
import ipaddr from "ipaddr.js";
import { LRUCache } from "lru-cache";
import { inPrefix, type Prefix, parsePrefix } from "../../addresses.ts";
import type { Transport } from "../request-context.ts";
import { describeToken, RRL_CATEGORIES, type RrlCategory, type RrlToken } from "./rrl-token.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";

export type RrlAction = "allow" | "drop" | "slip";

/** Answers a second per account, by category (0: that category is not limited). */
export interface RrlRates {
  responses: number;
  nxdomains: number;
  nodata: number;
  referrals: number;
  errors: number;
  /** Per prefix over every category; 0 (the default) is off. */
  all: number;
}

/** Every category at `responses`, as BIND defaults the others to `responses-per-second`; `all` off. */
export function ratesOf(responses: number, over: Partial<RrlRates> = {}): RrlRates {
  return { responses, nxdomains: responses, nodata: responses, referrals: responses, errors: responses, all: 0, ...over };
}

/**
 * The rates one of `processes` query processes keeps (the multi-process front, `front-processes.ts`): each
 * process counts only what the kernel gave it, so each gets the host's rate divided by the number of
 * processes, rounded down, so the processes together never allow more than the host's rate. A rate below
 * the number of processes still leaves each process 1 a second (a bucket under one answer would limit
 * every answer), so such a host allows up to `processes` a second. 0 (not limited) stays 0.
 */
export function perProcessRates(rates: RrlRates, processes: number): RrlRates {
  const share = (rate: number): number => (rate === 0 || processes <= 1 ? rate : Math.max(1, Math.floor(rate / processes)));
  return {
    responses: share(rates.responses),
    nxdomains: share(rates.nxdomains),
    nodata: share(rates.nodata),
    referrals: share(rates.referrals),
    errors: share(rates.errors),
    all: share(rates.all),
  };
}

export interface RrlOptions {
  rates: RrlRates;
  /** Log and count what would be limited, limit nothing. */
  logOnly?: boolean;
  /** Seconds of debt a flooding prefix can build up (BIND's `window`). */
  windowS: number;
  /** Every n-th limited answer is slipped (TC=1); 0 never. */
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** CIDR prefixes (or single addresses) never limited. */
  exempt: readonly string[];
  /** Most prefixes tracked at once. */
  tableSize: number;
  /** Lines a second for "prefix limited" logs. Default 5. */
  logPerSecond?: number;
  now?: () => number;
  log?: Logger;
  metrics?: Metrics;
}

interface Account {
  balance: number;
  updatedAt: number;
  limited: boolean;
  /** Limited answers so far in this episode, for slip. */
  limitedCount: number;
}

/** The rate of each category, by the order of `RRL_CATEGORIES`. */
const rateOf = (rates: RrlRates): Record<RrlCategory, number> => ({
  response: rates.responses,
  nxdomain: rates.nxdomains,
  nodata: rates.nodata,
  referral: rates.referrals,
  error: rates.errors,
});

/** Addresses whose prefix is remembered. */
const CLASSIFIED_MEMO = 65_536;

interface Classified {
  prefix: string | undefined;
  exempt: boolean;
}

export class ResponseRateLimiter {
  private readonly accounts: LRUCache<string, Account>;
  private readonly classified = new Map<string, Classified>();
  private readonly exempt: Prefix[];
  private readonly now: () => number;
  private readonly rates: Record<RrlCategory, number>;
  private readonly allRate: number;
  private readonly windowS: number;
  private readonly logPerSecond: number;
  private logTokens: number;
  private logUpdatedAt: number;
  private logSuppressed = 0;

  constructor(private readonly options: RrlOptions) {
    this.rates = rateOf(options.rates);
    this.allRate = options.rates.all;
    // Read for every UDP answer (dns-dispatch.ts): a field, not a getter that walks the categories each time.
    this.enabled = this.allRate > 0 || RRL_CATEGORIES.some((c) => this.rates[c] > 0);
    this.windowS = Math.max(1, options.windowS);
    this.accounts = new LRUCache<string, Account>({ max: Math.max(1, options.tableSize) });
    this.exempt = options.exempt.map((text) => {
      const prefix = parsePrefix(text);
      if (!prefix) throw new Error(`RRL exemption "${text}" is not an address or CIDR prefix`);
      return prefix;
    });
    this.now = options.now ?? Date.now;
    this.logPerSecond = options.logPerSecond ?? 5;
    this.logTokens = this.logPerSecond;
    this.logUpdatedAt = this.now();
  }

  /** Whether any limit applies at all (every rate 0 turns RRL off): the rates are fixed, so worked out once. */
  readonly enabled: boolean;

  /** The prefix `address` is counted under (`198.51.100.0/24`), or undefined for an unparseable address. */
  prefixOf(address: string): string | undefined {
    return this.classify(address).prefix;
  }

  /**
   * An address's prefix and whether it is exempt. Parsing and masking cost about a microsecond, as much as
   * the rest of a cached answer, so recent addresses are remembered (a plain Map, emptied when full:
   * cheaper than an LRU on this path).
   */
  private classify(address: string): Classified {
    const known = this.classified.get(address);
    if (known !== undefined) return known;
    let result: Classified;
    try {
      const a = ipaddr.process(address);
      const bits = a.kind() === "ipv4" ? this.options.ipv4PrefixLength : this.options.ipv6PrefixLength;
      const bytes = a.toByteArray();
      for (let i = 0; i < bytes.length; i++) {
        const keep = Math.max(0, Math.min(8, bits - i * 8));
        bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
      }
      result = {
        prefix: `${ipaddr.fromByteArray(bytes).toString()}/${bits}`,
        exempt: this.exempt.some((prefix) => inPrefix(a, prefix)),
      };
    } catch {
      result = { prefix: undefined, exempt: false };
    }
    if (this.classified.size >= CLASSIFIED_MEMO) this.classified.clear();
    this.classified.set(address, result);
    return result;
  }

  /**
   * What to do with one answer to `address` over `transport`, of category and token `what`; counts the
   * decision in the metrics by category. In log-only mode the decision is counted and logged, and "allow"
   * returned.
   */
  decide(address: string, transport: Transport, what: RrlToken): RrlAction {
    const action = this.judge(address, transport, what);
    this.options.metrics?.countRrl(action, what.category);
    return this.options.logOnly ? "allow" : action;
  }

  private judge(address: string, transport: Transport, what: RrlToken): RrlAction {
    if (transport === "tcp") return "allow";
    const rate = this.rates[what.category];
    if (rate === 0 && this.allRate === 0) return "allow";
    const who = this.classify(address);
    if (who.exempt) return "allow";
    // An address that does not parse is limited under one shared key rather than let through.
    const prefix = who.prefix ?? "unparseable";
    const now = this.now();
    if (this.allRate > 0 && this.spend(`${prefix} all`, this.allRate, now) !== undefined) {
      this.logLimited(prefix, "all", "", now);
      return "drop";
    }
    if (rate === 0) return "allow";
    const limited = this.spend(`${prefix} ${what.category} ${what.token}`, rate, now);
    if (limited === undefined) return "allow";
    if (limited.limitedCount === 1) this.logLimited(prefix, what.category, what.token, now);
    const slip = this.options.slip;
    return slip > 0 && limited.limitedCount % slip === 0 ? "slip" : "drop";
  }

  /** Takes one answer from the account `key` (rate `rate`); the account when it is limited, else undefined. */
  private spend(key: string, rate: number, now: number): Account | undefined {
    let account = this.accounts.get(key);
    if (account === undefined) {
      account = { balance: rate, updatedAt: now, limited: false, limitedCount: 0 };
      this.accounts.set(key, account);
    } else {
      const earned = (Math.max(0, now - account.updatedAt) / 1000) * rate;
      account.balance = Math.min(rate, account.balance + earned);
      account.updatedAt = now;
    }
    account.balance = Math.max(-rate * this.windowS, account.balance - 1);
    if (account.balance >= 0) {
      account.limited = false;
      account.limitedCount = 0;
      return undefined;
    }
    account.limited = true;
    account.limitedCount++;
    return account;
  }

  private logLimited(prefix: string, category: RrlCategory | "all", token: string, now: number): void {
    const log = this.options.log;
    if (!log) return;
    this.logTokens = Math.min(this.logPerSecond, this.logTokens + ((now - this.logUpdatedAt) / 1000) * this.logPerSecond);
    this.logUpdatedAt = now;
    if (this.logTokens < 1) {
      this.logSuppressed++;
      return;
    }
    this.logTokens--;
    const rate = category === "all" ? this.allRate : this.rates[category];
    log.warn({ prefix, category, response: category === "all" ? "(every answer)" : describeToken({ category, token }), rate, logOnly: this.options.logOnly === true, suppressed: this.logSuppressed }, "response rate limit: identical responses limited");
    this.logSuppressed = 0;
  }
}
