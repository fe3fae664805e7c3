/**
 * @module Response rate limiting for UDP answers, in the style of BIND's and Knot's RRL: an open UDP
 * responder is an amplification weapon (a small query with a forged source buys a large answer sent to the
 * victim), so answers to one client prefix are limited to a rate, and what is over it is dropped or slipped.
 *
 * 1. Clients are counted by prefix (/24 for IPv4, /56 for IPv6 by default, as BIND's `ipv4-prefix-length`
 *    and `ipv6-prefix-length`), since a forger or a botnet spreads over neighbouring addresses. An
 *    IPv4-mapped IPv6 source counts as IPv4.
 * 2. Each prefix has a token bucket: it earns `responsesPerSecond` tokens a second, holds at most one
 *    second's worth (the burst), and each answer costs one. Below zero the prefix is limited; the debt is
 *    floored at `window` seconds' worth (BIND's `window`, 15 s), so a flood must stop for up to that long
 *    before answers resume.
 * 3. Of the limited answers, every `slip`-th is sent as an empty reply with TC=1 (BIND's `slip`, 2): a real
 *    resolver behind the prefix retries over TCP and gets its answer, while the forged victim receives a
 *    reply no larger than the query. The rest are dropped. `slip` 0 drops them all; 1 slips them all.
 * 4. TCP is exempt (a TCP client has shown it owns its address), and so are the `exempt` prefixes.
 * 5. The table of prefixes is an LRU of bounded size; a forgotten prefix starts with a full bucket.
 * A prefix that starts being limited is logged once per episode, and those lines are themselves rate
 * limited (at most `logPerSecond`, with a count of the ones left out), so a flood cannot fill the disk.
 */
import ipaddr from "ipaddr.js";
import { LRUCache } from "lru-cache";
import { inPrefix, type Prefix, parsePrefix } from "../../addresses.ts";
import type { Transport } from "../request-context.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";

export type RrlAction = "allow" | "drop" | "slip";

export interface RrlOptions {
  /** Answers per second per prefix; 0 turns RRL off. */
  responsesPerSecond: number;
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
  private readonly rate: number;
  private readonly floor: number;
  private readonly logPerSecond: number;
  private logTokens: number;
  private logUpdatedAt: number;
  private logSuppressed = 0;

  constructor(private readonly options: RrlOptions) {
    this.rate = options.responsesPerSecond;
    this.floor = -options.responsesPerSecond * Math.max(1, options.windowS);
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

  get enabled(): boolean {
    return this.rate > 0;
  }

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

  /** What to do with one answer to `address` over `transport`; counts it in the metrics. */
  decide(address: string, transport: Transport): RrlAction {
    const action = this.judge(address, transport);
    this.options.metrics?.countRrl(action);
    return action;
  }

  private judge(address: string, transport: Transport): RrlAction {
    if (!this.enabled || transport === "tcp") return "allow";
    const who = this.classify(address);
    if (who.exempt) return "allow";
    // An address that does not parse is limited under one shared key rather than let through.
    const prefix = who.prefix ?? "unparseable";
    const now = this.now();
    let account = this.accounts.get(prefix);
    if (account === undefined) {
      account = { balance: this.rate, updatedAt: now, limited: false, limitedCount: 0 };
      this.accounts.set(prefix, account);
    } else {
      const earned = (Math.max(0, now - account.updatedAt) / 1000) * this.rate;
      account.balance = Math.min(this.rate, account.balance + earned);
      account.updatedAt = now;
    }
    account.balance = Math.max(this.floor, account.balance - 1);
    if (account.balance >= 0) {
      account.limited = false;
      account.limitedCount = 0;
      return "allow";
    }
    if (!account.limited) {
      account.limited = true;
      this.logLimited(prefix, now);
    }
    account.limitedCount++;
    const slip = this.options.slip;
    return slip > 0 && account.limitedCount % slip === 0 ? "slip" : "drop";
  }

  private logLimited(prefix: string, now: number): void {
    const log = this.options.log;
    if (!log) return;
    this.logTokens = Math.min(this.logPerSecond, this.logTokens + ((now - this.logUpdatedAt) / 1000) * this.logPerSecond);
    this.logUpdatedAt = now;
    if (this.logTokens < 1) {
      this.logSuppressed++;
      return;
    }
    this.logTokens--;
    log.warn({ prefix, rate: this.rate, suppressed: this.logSuppressed }, "response rate limit: prefix limited");
    this.logSuppressed = 0;
  }
}
