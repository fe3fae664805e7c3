/**
 * @module The service's own HTTP port (node:http, 127.0.0.1:9153 locally): `GET /healthz`, `GET /metrics`,
 * and `POST /control/refresh` (its body: `contract/control.ts`), where the Worker pushes webhook NOTIFYs and
 * refresh requests so they reach the service within a second (the service also polls as a fallback), and
 * `POST /control/verify`, which the Worker's `POST /api/v1/zones/:name/verify` calls (`zones/verify.ts`).
 *
 * `/control/*` takes the internal token as a bearer token, compared in constant time. Bodies are small
 * JSON, size-capped and zod-validated; a bad one gets 400 with the reason, never a crash.
 *
 * `/metrics` takes its own token (`BACKSTOP_METRICS_TOKEN`, Prometheus's `authorization` setting), so a
 * scraper never holds the internal token. Without one it answers only while the port listens on loopback;
 * bound to any other address (the container image binds 0.0.0.0) it answers 403 saying to set the token.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CONTROL_REFRESH_PATH, CONTROL_VERIFY_PATH, ControlRefresh, ControlVerify, type VerifyResult } from "../../contract/control.ts";
import { parseAddress, type ListenAddress } from "../addresses.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** A refresh request as the Worker pushes it (`contract/control.ts`), defaults applied. */
export type RefreshSignal = ControlRefresh;

/** What the HTTP port needs from the rest of the service. */
export interface ControlHandler {
  /** Is the service able to do its job (listeners bound, not shutting down)? */
  healthy(): { ok: boolean; detail?: Record<string, unknown> };
  /** Schedule a refresh; returns false when the zone is not one we serve. */
  refresh(signal: RefreshSignal): Promise<boolean> | boolean;
  /**
   * Verify (issue 24, `zones/verify.ts`): the primary's zone against the served version. Throws an error
   * with a `status` (404 not a zone here, 409 nothing to compare with) for a refusal; absent: 404.
   */
  verify?(zone: string): Promise<VerifyResult>;
}

const MAX_BODY = 16 * 1024;

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Constant-time check of `Authorization: Bearer <token>` (hashing first evens out the lengths). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** True when `host` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback), or `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  return parseAddress(host)?.range() === "loopback";
}

/**
 * Who may read `/metrics`: with a token, whoever sends it; without one, anyone who can reach a loopback
 * listener ("open"); on any other listener, nobody ("refuse": 403 saying to set the token).
 */
export function metricsAccess(listenHost: string, token: string | undefined): "token" | "open" | "refuse" {
  if (token !== undefined) return "token";
  return isLoopback(listenHost) ? "open" : "refuse";
}

function send(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) throw new BodyError(415, "content-type must be application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BodyError(413, `body exceeds ${MAX_BODY} octets`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BodyError(400, "body is not valid JSON");
  }
}

export interface HttpServerOptions {
  listen: ListenAddress;
  token: string;
  /** Bearer token for `/metrics`; without it, /metrics answers only on a loopback listener. */
  metricsToken?: string | undefined;
  handler: ControlHandler;
  metrics: Metrics;
  log: Logger;
}

/** The running HTTP port. */
export interface HttpServer {
  server: Server;
  address: ListenAddress;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { handler, metrics, log, token } = options;
  const metricsPolicy = metricsAccess(options.listen.host, options.metricsToken);
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof BodyError) {
        send(res, err.status, { error: err.message });
        return;
      }
      log.error({ err: { message: (err as Error).message }, path: req.url }, "control request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  // Slow or idle clients must not hold sockets for long: this port serves probes and the Worker only.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 256;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://service.invalid");
    const path = url.pathname;
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "use GET" });
      const health = handler.healthy();
      return send(res, health.ok ? 200 : 503, { status: health.ok ? "ok" : "unavailable", ...health.detail });
    }
    if (path === "/metrics") {
      if (metricsPolicy === "token") {
        if (!bearerMatches(req.headers.authorization, options.metricsToken!)) {
          res.setHeader("www-authenticate", 'Bearer realm="backstop-metrics"');
          return send(res, 401, { error: "missing or wrong bearer token (BACKSTOP_METRICS_TOKEN)" });
        }
      } else if (metricsPolicy === "refuse") {
        return send(res, 403, {
          error: `/metrics is served without a token only on a loopback address; this port listens on ${options.listen.host}: set BACKSTOP_METRICS_TOKEN and give it to the scraper as a bearer token`,
        });
      }
      if (req.method !== "GET") return send(res, 405, { error: "use GET" });
      const { contentType, body } = await metrics.render();
      return send(res, 200, body, contentType);
    }
    if (path === CONTROL_REFRESH_PATH) {
      if (!bearerMatches(req.headers.authorization, token)) {
        res.setHeader("www-authenticate", 'Bearer realm="backstop-control"');
        return send(res, 401, { error: "missing or wrong bearer token" });
      }
      if (req.method !== "POST") return send(res, 405, { error: "use POST" });
      const parsed = ControlRefresh.safeParse(await readJson(req));
      if (!parsed.success) {
        return send(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") });
      }
      const known = await handler.refresh(parsed.data);
      if (!known) return send(res, 404, { error: `zone ${parsed.data.zone} is not served here` });
      return send(res, 202, { accepted: true });
    }
    if (path === CONTROL_VERIFY_PATH) {
      if (!bearerMatches(req.headers.authorization, token)) {
        res.setHeader("www-authenticate", 'Bearer realm="backstop-control"');
        return send(res, 401, { error: "missing or wrong bearer token" });
      }
      if (req.method !== "POST") return send(res, 405, { error: "use POST" });
      const parsed = ControlVerify.safeParse(await readJson(req));
      if (!parsed.success) {
        return send(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") });
      }
      if (!handler.verify) return send(res, 404, { error: "this service does not verify zones" });
      try {
        return send(res, 200, await handler.verify(parsed.data.zone));
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        if (status === 404 || status === 409) return send(res, status, { error: (err as Error).message });
        throw err;
      }
    }
    return send(res, 404, { error: "not found" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.listen.host, port: options.listen.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
