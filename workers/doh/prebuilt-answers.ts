/**
 * @module Prebuilt responses for repeated DoH GETs (issue 28 item 3): the hot path of a hot name.
 *
 * RFC 8484 §4.1 asks GET clients for ID 0 so that HTTP caches can share answers, so a hot name comes back as
 * the very same URL, again and again. After the answer cache (`answer/answer-cache.ts`) has served a URL's
 * answer once (a hit: it was storable and its zones were checked), the whole HTTP response is kept here by
 * the request's URL: the body's octets (the asker's own: same URL, same ID and spelling) and the response
 * init with its `Headers` already built. A later request for that URL, without an `Authorization` header
 * (the internal token changes transport and headers; the admin token changes nothing a stored answer can
 * hold, but is kept off this path so nothing token-bearing is short-cut), is answered without parsing the
 * URL, decoding base64url, keying the answer cache or a single `await`: a Map lookup and `new Response`.
 * The profile before this (docs/benchmarks.md) spent more on building the Response and on that glue than
 * on the cached answer itself.
 *
 * What keeps an entry right is the answer cache's own rule (its points 3–5), checked in O(1):
 *   - zones: the store's *epoch* (`D1ZoneStore.answerEpoch`) is a number that changes whenever any zone
 *     info it could hand out may have changed, and is undefined whenever its pointers are not fresh (older
 *     than the pointer TTL, or dropped by a commit in this isolate). An entry holds the epoch read before
 *     and after the answer that built it (both equal, else nothing is kept), and serves only while the
 *     store's epoch is still that number: a version, an expiry or an answerAllow change, or a zone created
 *     or deleted, each comes in through the change log and moves the epoch, and a stale store sends the
 *     request down the full path, which polls. So an entry is never older than an answer-cache hit would be.
 *   - expiry: the earliest `expiresAt` of the answer's zones is kept, and checked against the clock.
 *   - NSID: the body holds the NSID option when the query asked for it, so the NSID var it was built with is
 *     kept and compared.
 * Bounded by entries (first in, first out: a Map keeps insertion order, so eviction is O(1)); an entry is a
 * body (usually a few hundred octets; never over 0x3fff, since a longer answer is not in the answer cache)
 * and one Headers object.
 */
import type { ZoneInfo } from "../../answer/zone-store.ts";
import type { Env } from "../env.d.ts";

/**
 * Entries kept; past it the oldest goes. Hot names are few, and an entry (URL, body, Headers) is about a
 * kilobyte, so this bounds the table at a few MiB beside the answer cache's 16 and the block cache's 32.
 */
const MAX_ENTRIES = 4096;

interface Prebuilt {
  body: Uint8Array;
  init: ResponseInit;
  epoch: number;
  /** The earliest expiry of the answer's zones (ms since the epoch), Infinity when none expires. */
  expiresAt: number;
  /** The NSID var the body was built with (undefined or "" when off). */
  nsid: string | undefined;
}

export interface PrebuiltAnswersOptions {
  /** The store's epoch now (see the module comment); undefined while its pointers are not fresh. */
  epoch: (env: Env) => number | undefined;
  now: () => number;
  maxEntries?: number;
}

export class PrebuiltAnswers {
  private readonly entries = new Map<string, Prebuilt>();
  private readonly maxEntries: number;
  hits = 0;

  constructor(private readonly options: PrebuiltAnswersOptions) {
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES;
  }

  /** Entries held (tests). */
  get size(): number {
    return this.entries.size;
  }

  /** The store's epoch now, for an answer that may be kept ({@link keep}). */
  epoch(env: Env): number | undefined {
    return this.options.epoch(env);
  }

  /**
   * The kept response for a GET (or HEAD) of `url` (the request's) when there is one and it is still right,
   * and the request carries no token; else undefined, and the request takes the full path.
   */
  response(request: Request, env: Env, url: string): Response | undefined {
    const entry = this.entries.get(url);
    if (entry === undefined) return undefined;
    if (entry.epoch !== this.options.epoch(env) || this.options.now() > entry.expiresAt || entry.nsid !== env.NSID) return undefined;
    if (request.headers.get("authorization") !== null) return undefined;
    this.hits++;
    return new Response(entry.body, entry.init);
  }

  /**
   * Keeps the response for `url`, built from an answer-cache hit whose zones are `zones`, when the store's
   * epoch is still `epoch`, the one read before the answer.
   */
  keep(url: string, env: Env, epoch: number, body: Uint8Array, headers: readonly [string, string][], zones: readonly ZoneInfo[]): void {
    if (this.options.epoch(env) !== epoch) return;
    let expiresAt = Infinity;
    for (const zone of zones) if (zone.expiresAt !== null && zone.expiresAt < expiresAt) expiresAt = zone.expiresAt;
    if (!this.entries.has(url) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    const init = { status: 200, headers: new Headers(headers as [string, string][]) };
    this.entries.set(url, { body: body.slice(), init, epoch, expiresAt, nsid: env.NSID });
  }
}
