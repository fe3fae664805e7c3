/**
 * @module DNS over HTTPS (RFC 8484) at `/dns-query`, plus the DNS JSON API, all answered by the one engine
 * (`answer/engine.ts`).
 *
 *   - POST with `Content-Type: application/dns-message`, the query as the body (RFC 8484 §4.1);
 *   - GET with `?dns=` the query in unpadded base64url (§4.1, §6);
 *   - GET with `Accept: application/dns-json` and `?name=&type=&do=&cd=` (`dns-json.ts`).
 * Every DNS outcome, SERVFAIL and REFUSED included, is HTTP 200 (§4.2.1). HTTP errors are for HTTP faults
 * only, each with a one-line plain-text reason: 400 (no or bad `dns`, not a DNS message, bad JSON
 * parameters), 413 (a POST body over 65535 octets, the largest DNS message), 414 (a `dns` parameter that
 * decodes past 65535 octets: the GET's target is what is too long, RFC 9110 §15.5.15), 415 (a POST of
 * another media type), 405 (another method). HEAD is a GET without the body (RFC 9110 §9.3.2; hono answers
 * it), as on the HTTP/2 front. `Cache-Control` follows `cache-control.ts`.
 *
 * Who is asking (`client-address.ts`): on Cloudflare's edge, `CF-Connecting-IP` as the edge sets it; locally,
 * nobody, since wrangler dev passes a client's own `CF-Connecting-IP` through. A request carrying the
 * internal token (resolved to a principal as on every route, `http/auth`) was forwarded by the port-53 or
 * HTTP/2 front, and `forwarded.ts` says the transport, the UDP limit and the client's socket address; its
 * answers then say which zone versions they came from (`version-headers.ts`), for the front's cache. The admin
 * token opens restricted zones.
 *
 * NSID (RFC 5001): the `NSID` var (wrangler.toml [vars], empty by default: off) is added to a wire answer
 * to a query that asks for it, after the answer cache (the cache never holds an identity) — but never to a
 * query the port-53 front forwarded: the front adds its own `BACKSTOP_NSID`, so an answer names the server
 * the client spoke to, whether it came from the front's cache or from here.
 *
 * Hot path: the Worker's entry hands GET and POST of `/dns-query` straight to {@link createDohHandler}, a
 * plain `(Request, Env) → Response` without hono's router, context and middleware (they cost more per query
 * than the answer itself: docs/benchmarks.md, "Where the time goes"); `createDoh` wraps the same handler
 * as a hono sub-app for the other methods and for tests. Wire answers go through the isolate's answer
 * cache (`answer/answer-cache.ts`), one per store; the JSON API asks the engine directly. A GET whose URL
 * the answer cache has already served is answered from a prebuilt response (`prebuilt-answers.ts`: body and
 * headers kept, checked against the store's epoch), before any URL parsing or `await`.
 */
import { Hono } from "hono";
import { concatBytes } from "../../dns/bytes.ts";
import { EdnsOptionCode } from "../../dns/edns.ts";
import { appendEdnsOption, OPTION_NSID, queryOptions } from "../../dns/wire/opt-scan.ts";
import { AnswerCache } from "../../answer/answer-cache.ts";
import { answerQuery, type EngineResponse, NotDnsMessage, type QueryContext } from "../../answer/engine.ts";
import type { ZoneStore } from "../../answer/zone-store.ts";
import type { Env } from "../env.d.ts";
import { principalOf } from "../http/auth/index.ts";
import { fromBase64Url } from "./base64url.ts";
import { cacheControl } from "./cache-control.ts";
import { directClientAddress } from "./client-address.ts";
import { DNS_JSON, JsonQueryError, jsonQueryWire, toJson } from "./dns-json.ts";
import { readForwarded } from "./forwarded.ts";
import { PrebuiltAnswers } from "./prebuilt-answers.ts";
import { queryParam } from "./request-url.ts";
import { versionHeaders } from "./version-headers.ts";

export const DNS_MESSAGE = "application/dns-message";
/** The largest DNS message (a 16-bit length over TCP, RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;
/**
 * The longest `dns` parameter that can hold a message of at most MAX_MESSAGE octets (unpadded base64url of n
 * octets is ceil(4n/3) characters), so a longer one decodes past it.
 */
export const MAX_DNS_PARAM = Math.ceil((MAX_MESSAGE * 4) / 3);
/**
 * How far a too-large POST body is still read, and thrown away, before the 413: to its end, unless it passes
 * DRAIN_LIMIT octets or takes longer than `drainMs` (DohOptions) after MAX_MESSAGE was passed. Cancelling the
 * stream at once instead leaves the connection with unread bytes, so workerd closes it; under wrangler dev
 * its proxy was reusing that connection for other clients' queries, which then failed with 503 (issue 20,
 * item 5: 38 % of them beside a chunked POST). Reading to the end keeps the connection whole, and costs the
 * Worker no more than it costs the sender; the bounds stop a sender that never ends, which then gets its 413
 * at once, whatever that costs its own connection. Cloudflare's edge caps request bodies itself (100 MB or
 * more, by plan).
 */
const DRAIN_LIMIT = 16 << 20;
const DRAIN_MS = 5000;

export interface DohOptions {
  /** The store the engine reads, per request (the D1 store in the Worker, a memory store in tests). */
  store: (env: Env) => ZoneStore;
  /** Clock for zone expiry; Date.now by default. */
  now?: () => number;
  /** How long the rest of a too-large body is read and dropped before the stream is cancelled; 5000 ms by default. */
  drainMs?: number;
  /**
   * The store's epoch (`prebuilt-answers.ts`): a number that moves whenever a zone info it hands out may
   * have changed, undefined while its pointers are not fresh. Given, repeated GETs are answered from
   * prebuilt responses; absent (a store that cannot say), every request takes the full path.
   */
  epoch?: (env: Env) => number | undefined;
}

export { isDohUrl } from "./request-url.ts";

/**
 * `/dns-query` as a plain fetch handler: GET, POST, and 405 for anything else. A prebuilt answer is returned
 * as it is, without a promise (workerd takes either). `url` is `request.url` when the caller has read it
 * already (each read of it builds the string again).
 */
export type DohHandler = (request: Request, env: Env, url?: string) => Response | Promise<Response>;

/** What a handler has answered since the isolate started, and how (`answer-stats.ts`). */
export interface DohCounts {
  /** Wire answers from a prebuilt response (`prebuilt-answers.ts`). */
  prebuilt: number;
  /** Wire answers from the answer cache, and from the engine. */
  cacheHits: number;
  cacheMisses: number;
}

/** What a wire answer's HTTP response needs of the engine's message, kept beside a cached answer. */
interface Described {
  rcode: number;
  cacheControl: string;
}

const describe = (response: EngineResponse): Described => ({ rcode: response.message.rcode, cacheControl: cacheControl(response.message) });

function plain(status: 400 | 405 | 413 | 414 | 415, message: string, extra?: Record<string, string>): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=UTF-8", "cache-control": "no-store", ...extra } });
}

/**
 * A direct DoH client: the address matters only to a zone with an answerAllow list (zone-select.ts), so it
 * is worked out then, not on every query (a cache hit never needs it). A class, so the getter lives on the
 * prototype and each request allocates a plain three-field object.
 */
class DohClient {
  constructor(
    private readonly headers: Headers,
    private readonly env: Env,
    readonly admin: boolean,
  ) {}

  get address(): string | undefined {
    return directClientAddress(this.headers, this.env);
  }
}

/** `anonymous`: no Authorization header at all (only such requests' answers are prebuilt). */
type AskerContext = QueryContext & { forwarded: boolean; anonymous: boolean };

/**
 * Who asks and how, from the request's headers; `forwarded` when the port-53 front sent it (internal token).
 * The admin token opens restricted zones (zone-select.ts); the internal token makes the transport headers
 * (`forwarded.ts`) believed and grants nothing else. Tokens are never logged or echoed.
 */
function queryContext(headers: Headers, env: Env, now: number): AskerContext | Promise<AskerContext> {
  const authorization = headers.get("authorization");
  // Most DoH queries carry no token: no promise, no digest.
  if (authorization === null) return { transport: "tcp", client: new DohClient(headers, env, false), now, forwarded: false, anonymous: true };
  return principalOf(authorization, env).then((principal): AskerContext => {
    if (principal?.kind === "internal") {
      const fwd = readForwarded((name) => headers.get(name) ?? undefined);
      return { transport: fwd.transport, udpLimit: fwd.udpLimit, client: { address: fwd.clientAddress, admin: false }, now, forwarded: true, anonymous: false };
    }
    return { transport: "tcp", client: new DohClient(headers, env, principal?.kind === "admin"), now, forwarded: false, anonymous: false };
  });
}

/** The NSID var's octets, encoded once per value (an isolate sees one env). */
let nsidText = "";
let nsidOctets: Uint8Array = new Uint8Array(0);
function nsidOf(env: Env): Uint8Array | undefined {
  const text = env.NSID;
  if (!text) return undefined;
  if (text !== nsidText) {
    nsidText = text;
    nsidOctets = new TextEncoder().encode(text);
  }
  return nsidOctets;
}

/**
 * The body, or "too-large" past MAX_MESSAGE octets, with or without a Content-Length (chunked). Nothing past
 * MAX_MESSAGE is kept: the rest is read and dropped within DRAIN_LIMIT and `drainMs`, then the stream is
 * cancelled.
 */
async function readBody(request: Request, drainMs: number): Promise<Uint8Array | "too-large"> {
  const body = request.body;
  if (!body) return new Uint8Array(0);
  const declared = request.headers.get("content-length");
  // The hot path: a declared length within bounds, which HTTP/1.1 framing holds the client to.
  if (declared !== null && Number(declared) <= MAX_MESSAGE) return new Uint8Array(await request.arrayBuffer());
  if (declared !== null && Number(declared) > DRAIN_LIMIT) {
    await body.cancel();
    return "too-large";
  }
  const reader = body.getReader();
  let total = 0;
  // No Content-Length (chunked): read up to MAX_MESSAGE, keeping it. A declared length here is over it.
  if (declared === null) {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return concatBytes(chunks);
      total += value.length;
      if (total > MAX_MESSAGE) break;
      chunks.push(value);
    }
  }
  await drain(reader, total, drainMs);
  return "too-large";
}

/** Reads `reader` to its end and drops what it gives, or cancels it past DRAIN_LIMIT octets or `ms`. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, already: number, ms: number): Promise<void> {
  let total = already;
  let onLate!: () => void;
  const late = new Promise<"late">((resolve) => (onLate = () => resolve("late")));
  const timer = setTimeout(onLate, ms);
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), late]);
      if (read === "late") break;
      if (read.done) return;
      total += read.value.length;
      if (total > DRAIN_LIMIT) break;
    }
    await reader.cancel();
  } finally {
    clearTimeout(timer);
  }
}

export function createDohHandler(options: DohOptions): DohHandler & { counts(): DohCounts } {
  const now = options.now ?? Date.now;
  const drainMs = options.drainMs ?? DRAIN_MS;
  // One answer cache per store (the Worker has one store per isolate; tests make several).
  const caches = new WeakMap<ZoneStore, AnswerCache<Described>>();
  const cacheOf = (store: ZoneStore): AnswerCache<Described> => {
    let cache = caches.get(store);
    if (!cache) caches.set(store, (cache = new AnswerCache(describe)));
    return cache;
  };

  const prebuilt = options.epoch ? new PrebuiltAnswers({ epoch: options.epoch, now }) : undefined;
  let cacheHits = 0;
  let cacheMisses = 0;

  /** `getUrl`: a GET's (or HEAD's) URL, whose answer may be prebuilt. */
  const answerWire = async (request: Request, env: Env, wire: Uint8Array, getUrl: string | undefined): Promise<Response> => {
    const ctxOrPromise = queryContext(request.headers, env, now());
    const ctx = ctxOrPromise instanceof Promise ? await ctxOrPromise : ctxOrPromise;
    const store = options.store(env);
    // Read before the answer: a prebuilt response is kept only when no change came in meanwhile.
    const epoch = getUrl !== undefined && ctx.anonymous ? prebuilt?.epoch(env) : undefined;
    let out;
    try {
      out = await cacheOf(store).answer(store, wire, ctx);
    } catch (err) {
      if (err instanceof NotDnsMessage) return plain(400, "the body is not a DNS message");
      throw err;
    }
    if (out.hit) cacheHits++;
    else cacheMisses++;
    let answer = out.wire;
    const nsid = ctx.forwarded ? undefined : nsidOf(env);
    if (nsid !== undefined) {
      const options = queryOptions(wire);
      if (options > 0 && (options & OPTION_NSID) !== 0) answer = appendEdnsOption(answer, EdnsOptionCode.NSID, nsid, MAX_MESSAGE);
    }
    const headers: [string, string][] = [
      ["content-type", DNS_MESSAGE],
      ["content-length", String(answer.length)],
      ["cache-control", out.described.cacheControl],
    ];
    // The port-53 front caches by zone version: say which zones answered (version-headers.ts).
    if (ctx.forwarded && out.engine?.error === undefined) {
      const versions = versionHeaders(out.zones, out.described.rcode, now());
      if (versions) for (const name in versions) headers.push([name, versions[name]!]);
    }
    if (epoch !== undefined && out.hit) prebuilt!.keep(getUrl!, env, epoch, answer, headers, out.zones);
    return new Response(answer, { status: 200, headers });
  };

  const answerJson = async (request: Request, env: Env): Promise<Response> => {
    const params = new URL(request.url).searchParams;
    let wire: Uint8Array;
    try {
      const get = (name: string) => params.get(name) ?? undefined;
      wire = jsonQueryWire({ name: get("name"), type: get("type"), do: get("do"), cd: get("cd") });
    } catch (err) {
      if (err instanceof JsonQueryError) return plain(400, err.message);
      throw err;
    }
    const out = await answerQuery(options.store(env), wire, await queryContext(request.headers, env, now()));
    return new Response(JSON.stringify(toJson(out.message)), {
      status: 200,
      headers: { "content-type": DNS_JSON, "cache-control": cacheControl(out.message) },
    });
  };

  const get = async (request: Request, env: Env, url: string): Promise<Response> => {
    const dns = queryParam(url, "dns");
    if (dns === undefined) {
      const wantsJson = (request.headers.get("accept") ?? "").toLowerCase().includes(DNS_JSON);
      if (wantsJson || queryParam(url, "name") !== undefined) return answerJson(request, env);
    }
    if (dns === undefined || dns === "") return plain(400, "missing dns parameter (RFC 8484 §4.1)");
    if (dns.length > MAX_DNS_PARAM) return plain(414, "dns parameter decodes past 65535 octets, the largest DNS message");
    const wire = fromBase64Url(dns);
    if (!wire) return plain(400, "dns parameter is not unpadded base64url (RFC 8484 §6)");
    return answerWire(request, env, wire, url);
  };

  const post = async (request: Request, env: Env): Promise<Response> => {
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== DNS_MESSAGE) return plain(415, `Content-Type must be ${DNS_MESSAGE}`);
    const wire = await readBody(request, drainMs);
    if (wire === "too-large") return plain(413, "body larger than 65535 octets");
    if (wire.length === 0) return plain(400, "empty body");
    return answerWire(request, env, wire, undefined);
  };

  const handler: DohHandler = (request, env, url = request.url) => {
    const method = request.method;
    // HEAD reaches here only through hono (createDoh), which answers it as a GET without the body.
    if (method === "GET" || method === "HEAD") return (prebuilt && prebuilt.response(request, env, url)) || get(request, env, url);
    if (method === "POST") return post(request, env);
    return Promise.resolve(plain(405, "use GET or POST", { allow: "GET, HEAD, POST" }));
  };
  return Object.assign(handler, { counts: (): DohCounts => ({ prebuilt: prebuilt?.hits ?? 0, cacheHits, cacheMisses }) });
}

/** `/dns-query` as a hono sub-app (the same handler), for `app.route` and for tests. */
export function createDoh(options: DohOptions | DohHandler): Hono<{ Bindings: Env }> {
  const handle = typeof options === "function" ? options : createDohHandler(options);
  const app = new Hono<{ Bindings: Env }>();
  app.all("/", (c) => handle(c.req.raw, c.env));
  return app;
}
