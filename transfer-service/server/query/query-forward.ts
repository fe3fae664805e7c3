/**
 * @module The port-53 front's forward: a QUERY that reached the DNS listener goes in wire form to the
 * Worker's `/dns-query` (RFC 8484 POST, `application/dns-message`) over the shared keep-alive pool
 * (`worker-upstream.ts`), with the transport, the UDP size and the client's address in the forwarding
 * headers, so the one answer engine truncates for UDP exactly as it would itself (TC=1, RFC 6891 §6.2.5).
 *
 * 1. A plain query (`query-shape.ts`) whose key is in the response cache is answered from it, synchronously
 *    (`cached`: the listener sends it in the turn it read the query, with no promise in between). A plain
 *    query whose key is already on its way to the Worker waits for that forward and takes its answer
 *    (its own ID and spelling written in) when it is one the cache could keep — the same for everyone who
 *    asks; otherwise (a restricted zone's answer depends on the client) it asks for itself. So when a hot
 *    entry expires under load, one forward refills it instead of every query in flight at that moment.
 * 2. Past `maxInFlight` forwards at once, or when the Worker fails (unreachable, no answer within
 *    `timeoutMs`, an HTTP status other than 200, a body that is not the answer to this query: shorter than
 *    a header, QR clear, another ID), the front answers SERVFAIL itself (RFC 1035 §4.1.1 "server failure"),
 *    with the query's ID and question, and stays up. Two failures that mean the query never reached the
 *    Worker are asked once more first, within the same deadline: a connection lost before the answer, and
 *    wrangler dev's proxy's 503 (`LOST_CONNECTION`, `isDevProxyRetry`).
 * 3. Otherwise the Worker's answer is relayed as it came, and offered to the cache with the zones and
 *    versions the Worker named (`workers/doh/version-headers.ts`); the cache decides (`response-cache.ts`).
 * 4. With a replica (`local`, issue 27, `../replica/replica-answer.ts`), a query the cache did not answer is
 *    first offered to it: a zone held at its served version is answered by the same engine in this process
 *    (counted `replica`, and offered to the cache like a Worker answer from the second time its key is asked:
 *    `AskedOnce`); anything else goes on as above.
 * Never throws: every failure is a SERVFAIL and a count in /metrics.
 */
import { setMaxListeners } from "node:events";
import { Rcode } from "../../../dns/constants.ts";
import { HEADER_LENGTH } from "../../../dns/header.ts";
import { VERSION_AGE_HEADER, ZONE_HEADER, ZONE_VERSIONS_HEADER } from "../../../contract/forwarded-headers.ts";
import type { RequestContext, Transport } from "../request-context.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { QueryShape } from "./query-shape.ts";
import { shapeReply } from "../reply.ts";
import { type AnswerOrigin, CACHE_KEY_MAX, keySlot, type ResponseCache, udpSizeClass, writeCacheKey } from "./response-cache.ts";
import { forwardingHeaders, unmapAddress, type WorkerUpstream } from "./worker-upstream.ts";
import type { LocalAnswer, LocalAnswerer } from "../replica/replica-answer.ts";
import { type Awaitable, isPromise } from "../../../answer/awaitable.ts";
import { AskedOnce, hashKey } from "./asked-once.ts";

export interface QueryForwarderOptions {
  upstream: WorkerUpstream;
  internalToken: string;
  /** Bound on one forward, from sending to the last octet of the answer. */
  timeoutMs: number;
  /** Forwards in flight at once; past it, SERVFAIL at once. */
  maxInFlight: number;
  cache?: ResponseCache | undefined;
  metrics?: Metrics | undefined;
  log: Logger;
  now?: () => number;
  /** Issue 27: answers from the front's replica, tried before the Worker. */
  local?: LocalAnswerer | undefined;
}

/** Answers QUERY messages (already read into their shape). */
export interface QueryForwarder {
  /**
   * The response cache's answer to a plain query, rewritten for it (its ID and spelling), or undefined.
   * Synchronous, so the listener sends a hit in the same turn it read the query.
   */
  cached(wire: Uint8Array, shape: QueryShape, transport: Transport): Uint8Array | undefined;
  /**
   * The answer through the Worker, for a query `cached` did not answer in this same turn (the cache is not
   * looked at again), sharing a forward of the same key already on its way; or the replica's, at once when it
   * has one (then no promise is made). Never throws or rejects.
   */
  forward(wire: Uint8Array, shape: QueryShape, ctx: RequestContext): Awaitable<Uint8Array>;
}

/** `cached`, else `forward`: the whole answer to one query. */
export function answerQuery(forwarder: QueryForwarder, wire: Uint8Array, shape: QueryShape, ctx: RequestContext): Awaitable<Uint8Array> {
  return forwarder.cached(wire, shape, ctx.transport) ?? forwarder.forward(wire, shape, ctx);
}

const DNS_MESSAGE = "application/dns-message";
/** Keys of replica answers remembered as asked once (`AskedOnce`) before it forgets them all. */
const ASKED_ONCE_MAX = 65_536;
/** `fromReplica`'s key: the query whose key is current (`look`), its string not made yet. */
const THIS_KEY = Symbol("the current key");
const MAX_MESSAGE = 65535;

type Failure = "timeout" | "unreachable" | "status" | "bad-answer" | "busy";

class UpstreamFailure extends Error {
  constructor(readonly reason: Failure, message: string) {
    super(message);
  }
}

/**
 * undici's codes for a connection that closed or reset before the answer came: the server closed an idle
 * keep-alive connection as the query was being sent on it. `worker-upstream.ts` keeps connections for less
 * than workerd's idle timeout, so this should not happen; if some server or proxy on the way closes sooner,
 * the query is asked once more on a fresh connection. A DNS query only reads, so asking twice is harmless.
 */
const LOST_CONNECTION = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

/**
 * `wrangler dev` (and so `npm start`) runs a proxy Worker in front of ours, in a second workerd. When the
 * proxy's own keep-alive connection to our Worker is closed by workerd's 5 s idle timeout in the instant
 * the proxy sends a request on it, the proxy answers a POST with 503 and `Retry-After: 0` ("Your worker
 * restarted mid-request"; it retries only GET and HEAD itself). That hop is wrangler's, not ours, and our
 * Worker never answers 503 on /dns-query, so that answer means the query did not reach it: one more try,
 * bounded by the same deadline. Cloudflare's edge has no such proxy.
 */
export function isDevProxyRetry(status: number, retryAfter: string | undefined): boolean {
  return status === 503 && retryAfter?.trim() === "0";
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The origin headers of an answer, or undefined when absent or malformed (then it is not cached). */
export function readOrigin(get: (name: string) => string | undefined): AnswerOrigin | undefined {
  const zones = get(ZONE_HEADER)?.trim().split(/\s+/);
  const versionText = get(ZONE_VERSIONS_HEADER)?.trim().split(/\s+/);
  const ageText = get(VERSION_AGE_HEADER)?.trim();
  if (!zones || !versionText || ageText === undefined || zones.length !== versionText.length || zones[0] === "") return undefined;
  if (!/^\d{1,9}$/.test(ageText) || !versionText.every((v) => /^\d{1,15}$/.test(v))) return undefined;
  return { zones, versions: versionText.map(Number), ageMs: Number(ageText) };
}

/**
 * One deadline signal shared by the forwards that start within the same short slice of the timeout (1% of
 * it, at most 10 ms), so each forward ends within [timeoutMs − slice, timeoutMs] of its start. The profile of
 * the UDP bench's miss mix (issue 18 item 4) put `AbortSignal.timeout` (a timer and a signal per forward) at
 * about 40% of the forward's own JavaScript; shared, it is made once per slice. Hand-rolled on the hot path.
 */
export function deadlines(timeoutMs: number, now: () => number = performance.now.bind(performance)): () => AbortSignal {
  const slice = Math.min(10, timeoutMs / 100);
  let signal: AbortSignal | undefined;
  let madeAt = -Infinity;
  return () => {
    const t = now();
    if (signal === undefined || t - madeAt >= slice) {
      signal = AbortSignal.timeout(timeoutMs);
      // Every forward of the slice listens on it: no "possible leak" warning for that.
      setMaxListeners(0, signal);
      madeAt = t;
    }
    return signal;
  };
}

export function createQueryForwarder(options: QueryForwarderOptions): QueryForwarder {
  const { upstream, cache, metrics, log } = options;
  const now = options.now ?? Date.now;
  const deadline = deadlines(options.timeoutMs);
  let inFlight = 0;

  const servfail = (wire: Uint8Array, shape: QueryShape, reason: Failure): Uint8Array => {
    metrics?.frontUpstreamFailures.inc({ reason });
    return shapeReply(wire, shape, Rcode.SERVFAIL, { udpSize: udpSizeClass(shape) });
  };

  const forward = async (wire: Uint8Array, shape: QueryShape, ctx: RequestContext): Promise<{ answer: Uint8Array; origin: AnswerOrigin | undefined }> => {
    const headers = forwardingHeaders(options.internalToken, {
      transport: ctx.transport,
      client: unmapAddress(ctx.remoteAddress),
      udpSize: udpSizeClass(shape),
    });
    headers["content-type"] = DNS_MESSAGE;
    headers.accept = DNS_MESSAGE;
    const signal = deadline();
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await upstream.pool.request({ path: upstream.dohPath, method: "POST", headers, body: wire, signal });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt === 1 && !signal.aborted && code !== undefined && LOST_CONNECTION.has(code)) {
          log.debug({ code }, "connection to the Worker lost before an answer; asking once more");
          continue;
        }
        const timedOut = signal.aborted || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT";
        throw new UpstreamFailure(timedOut ? "timeout" : "unreachable", (err as Error).message);
      }
      if (attempt === 1 && isDevProxyRetry(res.statusCode, header(res.headers["retry-after"]))) {
        await res.body.dump({ limit: MAX_MESSAGE }).catch(() => undefined);
        log.debug("wrangler dev's proxy lost its connection to the Worker; asking once more");
        continue;
      }
      break;
    }
    let body: ArrayBuffer;
    try {
      const length = Number(header(res.headers["content-length"]) ?? "0");
      if (res.statusCode !== 200 || length > MAX_MESSAGE) {
        // Read off and dropped (bounded), not destroyed: a destroyed undici body emits an error nobody hears.
        await res.body.dump({ limit: MAX_MESSAGE }).catch(() => undefined);
        throw new UpstreamFailure("status", `HTTP ${res.statusCode}, ${length} octets`);
      }
      body = await res.body.arrayBuffer();
    } catch (err) {
      if (err instanceof UpstreamFailure) throw err;
      throw new UpstreamFailure(signal.aborted ? "timeout" : "unreachable", (err as Error).message);
    }
    const answer = new Uint8Array(body);
    // The answer must be a response to this very query: a header at least, QR set, the same ID.
    if (answer.length < HEADER_LENGTH || answer.length > MAX_MESSAGE || (answer[2]! & 0x80) === 0 || answer[0] !== wire[0] || answer[1] !== wire[1]) {
      throw new UpstreamFailure("bad-answer", `${answer.length} octets, not the answer to query ${shape.id}`);
    }
    return { answer, origin: readOrigin((name) => header(res.headers[name])) };
  };

  /**
   * Forwards on their way, by cache key, and what a query that joins one gets: the answer, when the Worker
   * vouched that it is the same for everyone (what the cache may keep); "failed" (it shares the SERVFAIL);
   * or "own" — an answer that may depend on who asks (a restricted zone), so the joiner asks for itself.
   */
  const pending = new Map<string, Promise<Uint8Array | "failed" | "own">>();

  const answerFor = (answer: Uint8Array, wire: Uint8Array, shape: QueryShape): Uint8Array => {
    const out = answer.slice();
    out[0] = wire[0]!;
    out[1] = wire[1]!;
    // Same key: the same question name but for ASCII case, so the same length (RFC 4343).
    out.set(wire.subarray(HEADER_LENGTH, shape.qnameEnd), HEADER_LENGTH);
    return out;
  };

  /**
   * The key of the query being answered, made once per query: `cached` makes it, and `forward`, called next in
   * the same turn for the same shape when the cache had no answer, takes it again from here (the same wire and
   * shape objects). Its octets (`keyLength` of them; −1: no key) and their two hashes are all a miss needs: the
   * cache's LRU and the doorkeeper share the hashes, and the key's string (`cacheKey`) is made only for a forward
   * to the Worker, which joins forwards by it (issue 27, session 11: before, every miss made a latin1 string,
   * hashed it into the LRU's Map, and walked it again for the doorkeeper).
   */
  const keyOctets = Buffer.alloc(CACHE_KEY_MAX);
  const keyHashes = new Int32Array(2);
  let keyWire: Uint8Array | undefined;
  let keyShape: QueryShape | undefined;
  let keyTransport: Transport | undefined;
  let keyLength = -1;
  let slot = 0;
  let keyText: string | undefined;
  /** Makes `wire`'s key current; true when it has one. */
  const look = (wire: Uint8Array, shape: QueryShape, transport: Transport): boolean => {
    if (wire !== keyWire || shape !== keyShape || transport !== keyTransport) {
      keyWire = wire;
      keyShape = shape;
      keyTransport = transport;
      keyText = undefined;
      keyLength = writeCacheKey(wire, shape, transport, keyOctets);
      if (keyLength >= 0) {
        hashKey(keyOctets, keyLength, keyHashes);
        slot = keySlot(keyHashes[0]!, keyHashes[1]!);
      }
    }
    return keyLength >= 0;
  };
  /** The current key's string (`cacheKey`), made at most once. */
  const currentKey = (): string => {
    keyText ??= keyOctets.toString("latin1", 0, keyLength);
    return keyText;
  };

  const cached = (wire: Uint8Array, shape: QueryShape, transport: Transport): Uint8Array | undefined => {
    if (!cache || !look(wire, shape, transport)) return undefined;
    const hit = cache.getKeyed(keyOctets, keyLength, slot, wire, shape);
    if (hit) metrics?.countFront("hit");
    return hit;
  };

  /**
   * Keys of replica answers asked once (issue 27): a replica answer goes into the response cache only when
   * its key was asked before (`asked-once.ts`). An answer from the replica costs the engine some 10 µs to make
   * again, and a miss mix (a resolver's traffic: each name once per TTL) would otherwise fill the cache with
   * entries that are never hit; storing each one measured ~10 µs of CPU per query (the LRU's bookkeeping and
   * the collector's work on 100,000 answers kept alive), as much as the engine itself. Worker answers are
   * stored at once, as before: a forward costs a round trip.
   */
  const askedOnce = new AskedOnce(ASKED_ONCE_MAX);

  const local = options.local;
  // Neither async nor chained when the replica answers at once (issue 27, session 9): its answer (the miss
  // path) comes back in this same call, so the listener sends it in the turn it read the query.
  const forwardQuery = (wire: Uint8Array, shape: QueryShape, ctx: RequestContext): Awaitable<Uint8Array> => {
    const keyed = cache !== undefined && look(wire, shape, ctx.transport);
    if (local === undefined) return toWorker(wire, shape, ctx, keyed ? currentKey() : undefined);
    const ticket = cache?.ticket() ?? 0;
    const madeAt = now();
    const mine = local(wire, shape, ctx);
    if (isPromise(mine)) {
      // After a wait another query's key is current: this one's string is made before, and its hashes kept.
      const key = keyed ? currentKey() : undefined;
      const h1 = keyHashes[0]!;
      const h2 = keyHashes[1]!;
      return mine.then((m) => fromReplica(m, wire, shape, ctx, key, h1, h2, ticket, madeAt));
    }
    return fromReplica(mine, wire, shape, ctx, keyed ? THIS_KEY : undefined, keyHashes[0]!, keyHashes[1]!, ticket, madeAt);
  };

  /**
   * The replica's answer (offered to the cache from the second time its key is asked), or the Worker's. `key`:
   * the query's key, `THIS_KEY` for the current one (no string made unless needed), or undefined for none;
   * `h1`, `h2` its hashes.
   */
  const fromReplica = (
    mine: LocalAnswer | undefined,
    wire: Uint8Array,
    shape: QueryShape,
    ctx: RequestContext,
    key: string | typeof THIS_KEY | undefined,
    h1: number,
    h2: number,
    ticket: number,
    madeAt: number,
  ): Awaitable<Uint8Array> => {
    if (mine === undefined) return toWorker(wire, shape, ctx, key === THIS_KEY ? currentKey() : key);
    metrics?.countFront("replica");
    if (key !== undefined && askedOnce.askedBeforeHashed(h1, h2)) {
      // Read only here: the replica works it out when asked (most answers of a miss mix are asked once).
      const origin = mine.origin;
      if (origin !== undefined) {
        if (key === THIS_KEY) cache!.putKeyed(keyOctets, keyLength, slot, mine.answer, origin, madeAt, ticket);
        else cache!.put(key, mine.answer, origin, madeAt, ticket);
      }
    }
    return mine.answer;
  };

  /** The Worker's answer, sharing a forward of the same key already on its way. */
  const toWorker = async (wire: Uint8Array, shape: QueryShape, ctx: RequestContext, key: string | undefined): Promise<Uint8Array> => {
    if (key !== undefined) {
      const leader = pending.get(key);
      if (leader) {
        const shared = await leader;
        if (shared === "failed") {
          // The leader's failure is already counted; this query shares its SERVFAIL.
          metrics?.countFront("local");
          return shapeReply(wire, shape, Rcode.SERVFAIL, { udpSize: udpSizeClass(shape) });
        }
        if (shared !== "own") {
          metrics?.countFront("joined");
          return answerFor(shared, wire, shape);
        }
        return (await forwardOnce(wire, shape, ctx, key)).reply;
      }
      const own = forwardOnce(wire, shape, ctx, key);
      pending.set(key, own.then((r) => (r.ok ? (r.shareable ? r.reply : "own") : "failed")));
      try {
        return (await own).reply;
      } finally {
        pending.delete(key);
      }
    }
    return (await forwardOnce(wire, shape, ctx, undefined)).reply;
  };

  return { cached, forward: forwardQuery };

  async function forwardOnce(
    wire: Uint8Array,
    shape: QueryShape,
    ctx: RequestContext,
    key: string | undefined,
  ): Promise<{ reply: Uint8Array; ok: boolean; shareable: boolean }> {
    if (inFlight >= options.maxInFlight) {
      metrics?.countFront("local");
      return { reply: servfail(wire, shape, "busy"), ok: false, shareable: false };
    }
    inFlight++;
    const sentAt = now();
    const ticket = cache?.ticket() ?? 0;
    const timer = metrics?.frontUpstreamSeconds.startTimer();
    try {
      const { answer, origin } = await forward(wire, shape, ctx);
      timer?.();
      const rcode = answer[3]! & 0xf;
      // Only what the Worker vouched for (version headers: NOERROR/NXDOMAIN of unrestricted, loaded zones).
      const cacheable = key !== undefined && origin !== undefined && (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN);
      // The cache keeps these octets as they are: hits are copies, and nothing writes to a sent reply.
      if (cacheable) cache!.put(key, answer, origin, sentAt, ticket);
      metrics?.countFront(key === undefined ? "uncacheable" : "miss");
      return { reply: answer, ok: true, shareable: cacheable };
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure("unreachable", String(err));
      // Never the error text at warn: it may name internal addresses. Debug keeps it for an operator.
      log.debug({ reason: failure.reason, detail: failure.message }, "forward to the Worker failed");
      metrics?.countFront("local");
      return { reply: servfail(wire, shape, failure.reason), ok: false, shareable: false };
    } finally {
      inFlight--;
    }
  }
}
