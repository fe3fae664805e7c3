/**
 * @module The port-53 front's response cache: answers the Worker gave, reused for up to a second.
 *
 * Key: everything in a query that can change its answer, and nothing else — the question name folded to
 * lower case (RFC 4343; the reply's copy of it is rewritten to the asker's spelling, so 0x20-randomising
 * resolvers see their own case), type and class, RD and CD, whether an OPT came and its version and DO
 * bit, and the transport class: `tcp`, or `udp` with the UDP size the Worker negotiated (512 without EDNS,
 * the client's size between 512 and 1232 otherwise), since a UDP answer is cut to that size. The ID is not
 * in the key: it is rewritten on the way out. EDNS options (cookies, padding) are not: the Worker echoes none.
 * A query with the EDNS EXPIRE option (RFC 7314) has no key: its answer carries seconds that count down.
 * The LRU holds each entry by a 30-bit hash of the key's octets (`keySlot`), with the octets in the entry to
 * compare on a hit: the front's forward looks up and stores without making the key's string (issue 27, session 11).
 *
 * Each entry remembers the zones and versions the Worker answered from (`x-backstop-zone`,
 * `x-backstop-version`) and expires one TTL (≤ 1 s) after the Worker's read of those version pointers
 * (`x-backstop-version-age-ms`, counted back from when the query was sent, so a slow round trip only
 * shortens the entry). Why no answer is served more than a second after any instance committed a newer
 * version:
 *   1. A Worker isolate reads the pointers at time r and uses them at most until r + 1 s; an answer read at
 *      r reflects every commit made before r. An entry dies at r + TTL ≤ r + 1 s, so a commit at c > r
 *      is shadowed for at most r + 1 s − c < 1 s.
 *   2. The version is part of what makes an entry valid: the cache keeps, per zone, the version of the
 *      freshest pointer read it has seen (from any answer, or from this instance's own commit), and an entry
 *      of another version is a miss. So once one answer shows a newer version, older entries are not served.
 *   3. A commit by this instance (`committed`) marks the zone and its ancestors (which may have answered for
 *      names the zone now holds): entries stored from requests sent before the commit are misses, and answers
 *      still in flight from before it are not stored.
 * Promotion from hidden to live, expiry and answerAllow changes are covered because restricted zones'
 * answers are never cached (the Worker sends no version headers for them), only NOERROR and NXDOMAIN are,
 * and whatever changes in the zone list is seen within the same second as a version change.
 */
import { LRUCache } from "lru-cache";
import { Name } from "../../../dns/name.ts";
import { answerForAsker } from "../../../dns/wire/cached-answer.ts";
import { ownCopy, Slab } from "../../../dns/wire/slab.ts";
import type { Transport } from "../request-context.ts";
import { type QueryShape, writeLowerQname } from "./query-shape.ts";
import { hashKey } from "./asked-once.ts";

/** The most an entry may live after the Worker's pointer read (the bound). */
export const MAX_CACHE_TTL_MS = 1000;

/** Where an answer came from, as the Worker's response headers tell it. */
export interface AnswerOrigin {
  /** Zone keys (lowercase absolute names, `Name.key`), as in `x-backstop-zone`. */
  zones: string[];
  versions: number[];
  /** `x-backstop-version-age-ms`. */
  ageMs: number;
}

interface Entry {
  /** The key's octets (`writeCacheKey`): the LRU holds entries by a hash of them (`keySlot`). */
  key: Uint8Array;
  wire: Uint8Array;
  zones: string[];
  versions: number[];
  expiresAt: number;
  /** The commit sequence number when the query that produced it was sent. */
  ticket: number;
}

interface ZoneState {
  /** The version of the freshest pointer read seen, and when that read was (front's clock). */
  version: number;
  readAt: number;
  /** The sequence number of this instance's last commit that concerns this zone. */
  commitSeq: number;
}

export interface ResponseCacheOptions {
  /** Most entries held (least recently used go first). */
  maxEntries: number;
  /** Entry lifetime from the pointer read, 1–1000 ms. */
  ttlMs?: number;
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  stores: number;
  size: number;
}

/** The key's fixed fields before the name: size class, flag bits, OPT, version, type, class (2+2+1+1+2+2). */
const KEY_FIELDS = 10;
/** The longest key: the fixed fields and a name of 255 octets. */
export const CACHE_KEY_MAX = KEY_FIELDS + 255;
/** One buffer for every key: a key is built in it and read out (or hashed) before the next is built. */
const keyScratch = Buffer.allocUnsafe(CACHE_KEY_MAX);
/** `hashKey`'s output for the string forms of `get` and `put`. */
const scratchHashes = new Int32Array(2);

/**
 * Where the LRU holds a key's entry: 30 bits of its two hashes (`asked-once.ts` `hashKey`), a small integer, so
 * the LRU's Map hashes no string (issue 27, session 11). Two live keys on one slot are as rare as a 30-bit
 * collision among the entries held; then the later one replaces the earlier (a miss the next time, never a
 * wrong answer: the entry's own key octets are compared on every hit).
 */
export function keySlot(h1: number, h2: number): number {
  return (h1 ^ h2) & 0x3fffffff;
}

/** True when `entry` is `length` octets of `key`. */
function sameKey(entry: Uint8Array, key: Uint8Array, length: number): boolean {
  if (entry.length !== length) return false;
  for (let i = length - 1; i >= 0; i--) if (entry[i] !== key[i]) return false;
  return true;
}

/** Writes a key string's octets into the scratch and their hashes into `scratchHashes`; returns the length. */
function scratchKey(key: string): number {
  const length = keyScratch.write(key, 0, "latin1");
  hashKey(keyScratch, length, scratchHashes);
  return length;
}

/**
 * The key of a query (see the module comment); undefined when the query is not plain. Built as octets and
 * read out as one latin1 string (one character per octet, so distinct octets make distinct keys): every
 * query builds one, and concatenating it field by field and character by character cost several times more.
 */
export function cacheKey(wire: Uint8Array, shape: QueryShape, transport: Transport): string | undefined {
  const length = writeCacheKey(wire, shape, transport, keyScratch);
  return length < 0 ? undefined : keyScratch.toString("latin1", 0, length);
}

/**
 * `cacheKey` as octets, written into `into` (at least `CACHE_KEY_MAX` long): their count, or −1 when the query
 * has no key. The forward hashes these once, for the LRU (`keySlot`) and its doorkeeper both, and makes the string
 * only for a forward to the Worker (`query-forward.ts`, issue 27, session 11).
 */
export function writeCacheKey(wire: Uint8Array, shape: QueryShape, transport: Transport, into: Uint8Array): number {
  // Issue 21: an EDNS EXPIRE answer (RFC 7314) counts down every second; it always comes from the Worker.
  if (!shape.plain || shape.edns?.expire) return -1;
  const k = into;
  // TCP answers are never cut: 0xffff, above any UDP size class.
  const size = transport === "tcp" ? 0xffff : udpSizeClass(shape);
  // RD (0x0100) and CD (0x0010) are copied into the answer; other query bits change nothing the Worker says.
  const bits = shape.flags & 0x0110;
  const edns = shape.edns;
  k[0] = size >> 8;
  k[1] = size & 0xff;
  k[2] = bits >> 8;
  k[3] = bits & 0xff;
  k[4] = edns === undefined ? 0 : edns.dnssecOk ? 2 : 1;
  k[5] = edns === undefined ? 0 : edns.version;
  k[6] = shape.qtype >> 8;
  k[7] = shape.qtype & 0xff;
  k[8] = shape.qclass >> 8;
  k[9] = shape.qclass & 0xff;
  return writeLowerQname(wire, shape, k, KEY_FIELDS);
}

/** The UDP size the Worker's answer is cut to (RFC 6891 §6.2.5, capped at the engine's 1232). */
export function udpSizeClass(shape: QueryShape): number {
  return shape.edns ? Math.max(512, Math.min(shape.edns.udpSize, 1232)) : 512;
}

export class ResponseCache {
  private readonly entries: LRUCache<number, Entry>;
  private readonly zones = new Map<string, ZoneState>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private commitSeq = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, stores: 0, size: 0 };
  /**
   * Where a hit's copy is made: views of shared slabs, not an off-heap array each for an answer over 64 octets
   * (`dns/wire/slab.ts`; issue 27, session 10). A hit is sent and dropped, so it never pins a slab for long.
   */
  private readonly slab = new Slab();
  private readonly take = (length: number): Uint8Array => this.slab.take(length);

  constructor(options: ResponseCacheOptions) {
    this.entries = new LRUCache<number, Entry>({ max: Math.max(1, options.maxEntries) });
    this.ttlMs = Math.min(MAX_CACHE_TTL_MS, Math.max(1, options.ttlMs ?? MAX_CACHE_TTL_MS));
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Taken when a query is sent upstream, handed back to `put`: commits after it make the answer unstorable. */
  ticket(): number {
    return this.commitSeq;
  }

  /**
   * The cached answer for `key`, rewritten for this query (its ID and its spelling of the question name),
   * or undefined.
   */
  get(key: string, wire: Uint8Array, shape: QueryShape): Uint8Array | undefined {
    const length = scratchKey(key);
    return this.getKeyed(keyScratch, length, keySlot(scratchHashes[0]!, scratchHashes[1]!), wire, shape);
  }

  /** `get` of the key given as its first `length` octets and its `keySlot`: no string made (the forward's path). */
  getKeyed(key: Uint8Array, length: number, slot: number, wire: Uint8Array, shape: QueryShape): Uint8Array | undefined {
    const entry = this.entries.get(slot);
    if (entry === undefined || !sameKey(entry.key, key, length) || !this.valid(entry)) {
      if (entry !== undefined && sameKey(entry.key, key, length)) this.entries.delete(slot);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return answerForAsker(entry.wire, wire, shape.qnameEnd, this.take);
  }

  private valid(entry: Entry): boolean {
    if (this.now() >= entry.expiresAt) return false;
    for (let i = 0; i < entry.zones.length; i++) {
      const state = this.zones.get(entry.zones[i]!);
      if (!state || state.version !== entry.versions[i] || state.commitSeq > entry.ticket) return false;
    }
    return true;
  }

  /**
   * Offers the Worker's answer to a query sent at `sentAt` with `ticket`. Stored only when it can be valid:
   * it expires in the future, no commit of its zones happened since the ticket, and its versions are the
   * freshest known. Returns whether it was stored.
   */
  put(key: string, answer: Uint8Array, origin: AnswerOrigin, sentAt: number, ticket: number): boolean {
    const length = scratchKey(key);
    return this.putKeyed(keyScratch, length, keySlot(scratchHashes[0]!, scratchHashes[1]!), answer, origin, sentAt, ticket);
  }

  /** `put` of the key given as its first `length` octets and its `keySlot` (the forward's path). */
  putKeyed(key: Uint8Array, length: number, slot: number, answer: Uint8Array, origin: AnswerOrigin, sentAt: number, ticket: number): boolean {
    if (origin.zones.length === 0 || origin.zones.length !== origin.versions.length) return false;
    const readAt = sentAt - Math.max(0, origin.ageMs);
    const expiresAt = readAt + this.ttlMs;
    let fresh = true;
    for (let i = 0; i < origin.zones.length; i++) {
      const zone = origin.zones[i]!;
      const version = origin.versions[i]!;
      const state = this.zones.get(zone);
      if (state === undefined) {
        this.zones.set(zone, { version, readAt, commitSeq: 0 });
      } else if (readAt > state.readAt) {
        state.version = version;
        state.readAt = readAt;
      }
      const now = this.zones.get(zone)!;
      if (now.version !== version || now.commitSeq > ticket) fresh = false;
    }
    if (!fresh || expiresAt <= this.now()) return false;
    // An answer that is a view of a shared slab (a replica answer) is copied: an entry must not pin a slab.
    this.entries.set(slot, { key: new Uint8Array(key.subarray(0, length)), wire: ownCopy(answer), zones: origin.zones, versions: origin.versions, expiresAt, ticket });
    this.stats.stores++;
    return true;
  }

  /**
   * This instance committed `version` of `zone` (absolute or not; any case): its entries, and those of its
   * ancestor zones, are not served again, and answers in flight from before now are not stored.
   */
  committed(zone: string, version: number): void {
    const name = Name.parseAbsolute(zone);
    const seq = ++this.commitSeq;
    const now = this.now();
    const own = this.zones.get(name.key);
    if (own) {
      own.version = version;
      own.readAt = now;
      own.commitSeq = seq;
    } else {
      this.zones.set(name.key, { version, readAt: now, commitSeq: seq });
    }
    for (let n = 1; n <= name.labelCount; n++) {
      const ancestor = this.zones.get(name.stripLeft(n).key);
      if (ancestor) ancestor.commitSeq = seq;
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
