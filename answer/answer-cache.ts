/**
 * @module An in-isolate cache of whole answers, in front of the engine (`engine.ts`). The engine over the
 * D1 store's block cache still decodes the query, selects the zone, walks the nodes, respells and encodes
 * for every query; a hot name's answer is the same octets every time, so they are kept.
 *
 * What an answer depends on, and how each is covered:
 *   1. the query's octets after the ID (flags, counts, question, OPT with DO/version/payload, any other
 *      record): all of them are the key, the question name ASCII-lowercased (RFC 4343 §3), so nothing the
 *      engine reads can differ between two queries that share an entry;
 *   2. the transport and the front's UDP limit (they set the truncation size): in the key;
 *   3. the zones `findZone` handed out (one, or two for DS at a child apex; none → REFUSED, never stored): each lookup is
 *      recorded with the zone's id and version (or "none"), and a hit repeats the same lookups against
 *      the store's current pointers (the D1 store's are ≤ 1 s old, so a commit is seen exactly as soon as
 *      without the cache) and is served only when every one gives the same zone at the same version;
 *      zone data is keyed by version and never changes under it, so the lookup would read the same nodes;
 *   4. the client (answerAllow, the admin token): an answer that involved a zone with an answerAllow list
 *      is never stored, and a hit whose zone has gained one is not served, so a restricted answer never
 *      crosses clients; without such a list neither the address nor the admin token changes anything;
 *   5. the clock (expiry, RFC 1035 §3.3.13): answers are stored only from zones that are servable, and a
 *      hit re-checks every zone's `expiresAt` against `now`, so an expired zone is never served from here.
 * Answers after a store failure, SERVFAIL and the other error rcodes are not stored (passing faults, or
 * answers decided before any lookup that cost nothing to redo).
 *
 * A hit copies the stored octets, writes the query's ID and the asker's spelling of the question name
 * back; the rest of the message is the same whatever case was asked, because every name that carries the
 * question's case does so through a compression pointer into the question (`spelling.ts` gives suffixes
 * the first spelling seen, the encoder points at equal octets, DNAME targets are built lowercased). Only
 * pointers to offsets below 0x4000 exist, so answers that long are not stored (a name past that offset
 * could spell the question's case out in full). `answer-cache.test.ts` holds a cached answer byte for
 * byte to the engine's for a table of queries in mixed case.
 *
 * lru-cache, bounded by bytes. No copy of the engine's `Message` is kept (its records may be views into
 * the store's decoded blocks and would pin them); the caller stores what it needs from the first answer
 * (`describe`, e.g. DoH's Cache-Control) beside the octets.
 */
import { findOption } from "../dns/edns.ts";
import { EXPIRE_OPTION } from "../dns/edns-expire.ts";
import { LRUCache } from "lru-cache";
import { Rcode } from "../dns/constants.ts";
import { asciiLower, type Name } from "../dns/name.ts";
import { answerForAsker } from "../dns/wire/cached-answer.ts";
import { answerQuery, type EngineResponse, type QueryContext } from "./engine.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";

/** Queries longer than this are answered without the cache (a normal query is under 100 octets). */
const MAX_KEYED_QUERY = 512;
/** Compression pointers reach offsets below 0x4000 only (RFC 1035 §4.1.4); see the module comment. */
const MAX_STORED_ANSWER = 0x3fff;
/**
 * Answers stored: the error rcodes are not (see the module comment), and neither is REFUSED: a flood of
 * names under no zone would otherwise fill the cache with one entry per name and evict the hot answers
 * (issue 19). A REFUSED costs no D1 query to redo: the store remembers names under no zone apart, compactly
 * (`store/zone-directory.ts`).
 */
const STORED_RCODES: ReadonlySet<number> = new Set([Rcode.NOERROR, Rcode.NXDOMAIN]);

/** One `findZone` the engine made, and what it gave: a zone's id and version, or nothing (`id` null). */
interface ZoneLookup {
  name: Name;
  id: number | null;
  version: number | null;
}

interface Entry<T> {
  wire: Uint8Array;
  lookups: ZoneLookup[];
  described: T;
}

export interface AnswerCacheOptions {
  /** Budget in bytes (octets of answers and keys, plus a fixed overhead per entry). Default 16 MiB. */
  maxBytes?: number;
}

/** An answer, from the cache or from the engine. */
export interface CachedAnswer<T> {
  /** The response's octets, this query's own (ID and question spelling). */
  wire: Uint8Array;
  /** What `describe` said about the answer when the engine made it. */
  described: T;
  /** The zones `findZone` handed out for it, as the store holds them now, in the engine's order. */
  zones: ZoneInfo[];
  /** Served from the cache. */
  hit: boolean;
  /** The engine's response (absent on a hit). */
  engine?: EngineResponse;
}

/**
 * The cache key of `wire` (see the module comment), or undefined for a query the cache does not take: not
 * a QUERY with one question, a question name with a pointer or a bad label, or longer than 512 octets.
 * `qnameEnd` is the offset just past the question name.
 */
export function answerKey(wire: Uint8Array, ctx: Pick<QueryContext, "transport" | "udpLimit">): { key: string; qnameEnd: number } | undefined {
  if (wire.length < 17 || wire.length > MAX_KEYED_QUERY) return undefined;
  // QR = 0 and OPCODE = QUERY (RFC 1035 §4.1.1); QDCOUNT = 1.
  if ((wire[2]! & 0xf8) !== 0 || wire[4] !== 0 || wire[5] !== 1) return undefined;
  const folded = wire.slice(2);
  let at = 12;
  for (;;) {
    const length = wire[at];
    if (length === undefined || length > 63) return undefined;
    if (length === 0) break;
    if (at + 1 + length > wire.length) return undefined;
    for (let i = at + 1; i <= at + length; i++) {
      folded[i - 2] = asciiLower(wire[i]!);
    }
    at += 1 + length;
  }
  const prefix = ctx.transport === "udp" ? `u${ctx.udpLimit ?? ""}:` : "t:";
  // Hot path: one string from the octets (lru-cache's Map wants a primitive key).
  return { key: prefix + String.fromCharCode.apply(null, folded as unknown as number[]), qnameEnd: at + 1 };
}

/** True when the octets `from`…`to` of `a` and `b` are equal ignoring ASCII case. */
function sameFolded(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (asciiLower(a[i]!) !== asciiLower(b[i]!)) return false;
  return true;
}

function unservable(zone: ZoneInfo, now: number): boolean {
  return zone.version === null || zone.answerAllow.length > 0 || (zone.expiresAt !== null && now > zone.expiresAt);
}

export class AnswerCache<T> {
  private readonly entries: LRUCache<string, Entry<T>>;
  hits = 0;
  misses = 0;

  /** `describe` keeps what the caller needs of the engine's message (it is not stored, see above). */
  constructor(
    private readonly describe: (response: EngineResponse) => T,
    options: AnswerCacheOptions = {},
  ) {
    this.entries = new LRUCache<string, Entry<T>>({
      maxSize: options.maxBytes ?? 16 * 1024 * 1024,
      sizeCalculation: (entry, key) => 128 + key.length * 2 + entry.wire.length + entry.lookups.length * 48,
    });
  }

  /** The answer to `wire`: a valid stored one, else the engine's (stored when it may be). */
  async answer(store: ZoneStore, wire: Uint8Array, ctx: QueryContext): Promise<CachedAnswer<T>> {
    const keyed = answerKey(wire, ctx);
    if (keyed) {
      const entry = this.entries.get(keyed.key);
      const zones = entry ? await this.current(store, entry.lookups, ctx.now) : undefined;
      if (entry && zones) {
        this.hits++;
        return { wire: answerForAsker(entry.wire, wire, keyed.qnameEnd), described: entry.described, zones, hit: true };
      }
    }
    this.misses++;
    const lookups: ZoneLookup[] = [];
    const zones: ZoneInfo[] = [];
    const recording: ZoneStore = {
      findZone: async (name) => {
        const zone = await store.findZone(name);
        lookups.push({ name, id: zone?.id ?? null, version: zone?.version ?? null });
        if (zone) zones.push(zone);
        return zone;
      },
      node: (zone, name) => store.node(zone, name),
      closestEncloser: (zone, name) => store.closestEncloser(zone, name),
      predecessor: (zone, name) => store.predecessor(zone, name),
      nsec3Predecessor: (zone, hashed) => store.nsec3Predecessor(zone, hashed),
    };
    const engine = await answerQuery(recording, wire, ctx);
    const described = this.describe(engine);
    if (
      keyed &&
      engine.error === undefined &&
      STORED_RCODES.has(engine.message.rcode) &&
      engine.wire.length <= MAX_STORED_ANSWER &&
      engine.wire.length >= keyed.qnameEnd &&
      sameFolded(engine.wire, wire, 12, keyed.qnameEnd) &&
      !zones.some((z) => unservable(z, ctx.now)) &&
      // Issue 21: the EDNS EXPIRE option (RFC 7314) counts down every second; such an answer is made afresh.
      findOption(engine.message.edns, EXPIRE_OPTION) === undefined
    ) {
      this.entries.set(keyed.key, { wire: engine.wire.slice(), lookups, described });
    }
    return { wire: engine.wire, described, zones, hit: false, engine };
  }

  /** The zones of `lookups` as the store holds them now, or undefined when any differs from what was stored. */
  private async current(store: ZoneStore, lookups: readonly ZoneLookup[], now: number): Promise<ZoneInfo[] | undefined> {
    const zones: ZoneInfo[] = [];
    for (const lookup of lookups) {
      const zone = await store.findZone(lookup.name);
      if (zone === null) {
        if (lookup.id !== null) return undefined;
        continue;
      }
      if (zone.id !== lookup.id || zone.version !== lookup.version || unservable(zone, now)) return undefined;
      zones.push(zone);
    }
    return zones;
  }
}
