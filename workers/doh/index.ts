/**
 * @module DNS over HTTPS (RFC 8484) at `/dns-query`, plus the DNS JSON API, all answered by the one engine
 * (`workers/answer/engine.ts`).
 *
 *   - POST with `Content-Type: application/dns-message`, the query as the body (RFC 8484 §4.1);
 *   - GET with `?dns=` the query in unpadded base64url (§4.1, §6);
 *   - GET with `Accept: application/dns-json` and `?name=&type=&do=&cd=` (`dns-json.ts`).
 * Every DNS outcome, SERVFAIL and REFUSED included, is HTTP 200 (§4.2.1). HTTP errors are for HTTP faults
 * only, each with a one-line plain-text reason: 400 (no or bad `dns`, not a DNS message, bad JSON
 * parameters), 413 (a body over 65535 octets, the largest DNS message), 415 (a POST of another media type),
 * 405 (another method). `Cache-Control` follows `cache-control.ts`.
 *
 * Who is asking: `CF-Connecting-IP` (set by Cloudflare's edge) is the client, unless the request carries
 * the internal token, in which case it was forwarded by the port-53 front and `forwarded.ts` says the
 * transport, the UDP limit and the DNS client's address; its answers then say which zone versions they came
 * from (`version-headers.ts`), for the front's cache. The admin token opens restricted zones.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { answerQuery, NotDnsMessage, type QueryContext } from "../answer/engine.ts";
import type { ZoneStore } from "../answer/zone-store.ts";
import type { Env } from "../env.d.ts";
import { fromBase64Url } from "./base64url.ts";
import { cacheControl } from "./cache-control.ts";
import { credentialOf } from "./credentials.ts";
import { DNS_JSON, JsonQueryError, jsonQueryWire, toJson } from "./dns-json.ts";
import { readForwarded } from "./forwarded.ts";
import { recordingStore, versionHeaders } from "./version-headers.ts";

export const DNS_MESSAGE = "application/dns-message";
/** The largest DNS message (a 16-bit length over TCP, RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;

export interface DohOptions {
  /** The store the engine reads, per request (the D1 store in the Worker, a memory store in tests). */
  store: (env: Env) => ZoneStore;
  /** Clock for zone expiry; Date.now by default. */
  now?: () => number;
}

type DohContext = Context<{ Bindings: Env }>;

function plain(c: DohContext, status: 400 | 405 | 413 | 415, message: string): Response {
  return c.text(`${message}\n`, status, { "cache-control": "no-store" });
}

/** Who asks and how, from the request's headers; `forwarded` when the port-53 front sent it (internal token). */
function queryContext(c: DohContext, now: number): QueryContext & { forwarded: boolean } {
  const credential = credentialOf(c.req.header("authorization"), { admin: c.env.ADMIN_TOKEN, internal: c.env.INTERNAL_TOKEN });
  if (credential === "internal") {
    const fwd = readForwarded((name) => c.req.header(name));
    return { transport: fwd.transport, udpLimit: fwd.udpLimit, client: { address: fwd.clientAddress, admin: false }, now, forwarded: true };
  }
  return { transport: "tcp", client: { address: c.req.header("cf-connecting-ip"), admin: credential === "admin" }, now, forwarded: false };
}

export function createDoh(options: DohOptions): Hono<{ Bindings: Env }> {
  const now = options.now ?? Date.now;
  const app = new Hono<{ Bindings: Env }>();

  const answerWire = async (c: DohContext, wire: Uint8Array): Promise<Response> => {
    const ctx = queryContext(c, now());
    // The port-53 front caches by zone version: record which zones answered (version-headers.ts).
    const recorded = ctx.forwarded ? recordingStore(options.store(c.env)) : undefined;
    let out;
    try {
      out = await answerQuery(recorded?.store ?? options.store(c.env), wire, ctx);
    } catch (err) {
      if (err instanceof NotDnsMessage) return plain(c, 400, "the body is not a DNS message");
      throw err;
    }
    const versions = recorded && out.error === undefined ? versionHeaders(recorded.zones, out.message.rcode, now()) : undefined;
    return new Response(out.wire, {
      status: 200,
      headers: {
        "content-type": DNS_MESSAGE,
        "content-length": String(out.wire.length),
        "cache-control": cacheControl(out.message),
        ...versions,
      },
    });
  };

  const answerJson = async (c: DohContext): Promise<Response> => {
    let wire: Uint8Array;
    try {
      wire = jsonQueryWire({ name: c.req.query("name"), type: c.req.query("type"), do: c.req.query("do"), cd: c.req.query("cd") });
    } catch (err) {
      if (err instanceof JsonQueryError) return plain(c, 400, err.message);
      throw err;
    }
    const out = await answerQuery(options.store(c.env), wire, queryContext(c, now()));
    return c.json(toJson(out.message), 200, { "content-type": DNS_JSON, "cache-control": cacheControl(out.message) });
  };

  app.get("/", async (c) => {
    const dns = c.req.query("dns");
    const wantsJson = (c.req.header("accept") ?? "").toLowerCase().includes(DNS_JSON);
    if (dns === undefined && (wantsJson || c.req.query("name") !== undefined)) return answerJson(c);
    if (dns === undefined || dns === "") return plain(c, 400, "missing dns parameter (RFC 8484 §4.1)");
    if (dns.length > Math.ceil((MAX_MESSAGE * 4) / 3)) return plain(c, 413, "query larger than 65535 octets");
    const wire = fromBase64Url(dns);
    if (!wire) return plain(c, 400, "dns parameter is not unpadded base64url (RFC 8484 §6)");
    return answerWire(c, wire);
  });

  app.post(
    "/",
    bodyLimit({ maxSize: MAX_MESSAGE, onError: (c) => plain(c as DohContext, 413, "body larger than 65535 octets") }),
    async (c) => {
      const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== DNS_MESSAGE) return plain(c, 415, `Content-Type must be ${DNS_MESSAGE}`);
      const wire = new Uint8Array(await c.req.arrayBuffer());
      if (wire.length === 0) return plain(c, 400, "empty body");
      return answerWire(c, wire);
    },
  );

  app.all("/", (c) => {
    c.header("allow", "GET, POST");
    return plain(c, 405, "use GET or POST");
  });

  return app;
}
