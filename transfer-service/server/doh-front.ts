/**
 * @module The HTTP/2 DoH front (issue 7, item 5). workerd serves HTTP/1.1 only, while `dig +https` and
 * `kdig +https` speak DoH over HTTP/2 (RFC 8484 §5.2: "HTTP/2 is the minimum RECOMMENDED version"). This
 * front listens with TLS (HTTP/2, and HTTP/1.1 via ALPN for older clients) and optionally with h2c
 * (cleartext HTTP/2, prior knowledge), and proxies `/dns-query` to the Worker over a pool of keep-alive
 * HTTP/1.1 connections (undici `Pool`).
 *
 * What crosses: method, query string, POST body, `content-type`, `accept`; back: status, `content-type`,
 * `cache-control`, and always `content-length` (dig aborts a DoH answer without one). When the front holds
 * the internal token it sends it with `x-backstop-client` (the DoH client's address, for a zone's
 * answerAllow list) and `x-backstop-transport: tcp` (`workers/doh/forwarded.ts`); those headers are
 * believed only with the token, so the front never sends them without it. A client's own
 * `Authorization` (the admin token, to verify a hidden zone) is passed through instead, untouched.
 *
 * Faults: other paths are 404, other methods 405, a body over 65535 octets 413 (the Worker would say the
 * same; the front stops reading early), an unreachable, slow or failing Worker 502 — each with a one-line
 * plain reason. Every wait is bounded: upstream headers and body by `timeoutMs`, idle client sessions too.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http2 from "node:http2";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createWorkerUpstream, DOH_PATH, forwardingHeaders, unmapAddress } from "./query/worker-upstream.ts";

export { DOH_PATH };
/** The largest DNS message (a 16-bit length over TCP, RFC 1035 §4.2.2). */
const MAX_MESSAGE = 65535;
/** The largest upstream body the front relays: a DNS message, or a DNS JSON rendering of one. */
const MAX_UPSTREAM_BODY = 1 << 20;

export interface DohFrontOptions {
  /** The Worker's base URL (origin, optionally with a path prefix), e.g. `http://127.0.0.1:8787`. */
  workerUrl: string;
  /** Address to bind; 127.0.0.1 by default. */
  host?: string | undefined;
  /** TLS port (HTTP/2 and HTTP/1.1); 8443 by default, 0 for any free port. */
  port?: number | undefined;
  /** h2c port (cleartext HTTP/2 with prior knowledge); no h2c listener when undefined. 0 for any free port. */
  h2cPort?: number | undefined;
  /** PEM certificate and key paths; a self-signed pair for 127.0.0.1/localhost is generated when absent. */
  tls?: { certPath: string; keyPath: string } | undefined;
  /** The Worker's internal token; when set, the client's address is forwarded (`forwarded.ts`). */
  internalToken?: string | undefined;
  /** Bound on each upstream wait (headers, then body) and on idle client sessions; 5000 ms by default. */
  timeoutMs?: number | undefined;
  /** Keep-alive connections to the Worker; 16 by default. */
  connections?: number | undefined;
}

export interface DohFront {
  /** The TLS port actually bound. */
  port: number;
  /** The h2c port actually bound, when one was asked for. */
  h2cPort: number | undefined;
  close(): Promise<void>;
}

type Request = http2.Http2ServerRequest | IncomingMessage;
type Response = http2.Http2ServerResponse | ServerResponse;

class BodyTooLarge extends Error {}

/**
 * A self-signed P-256 certificate for 127.0.0.1 and localhost, valid 30 days, made by the `openssl` CLI
 * (Node has no X.509 writer). The key never leaves memory after the temp directory is removed.
 */
export async function selfSignedCertificate(): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-doh-cert-"));
  try {
    const certPath = path.join(dir, "cert.pem");
    const keyPath = path.join(dir, "key.pem");
    await promisify(execFile)(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        "-keyout", keyPath, "-out", certPath,
      ],
      { timeout: 15_000 },
    );
    return { cert: await readFile(certPath), key: await readFile(keyPath) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads a request body, failing with BodyTooLarge as soon as it passes `limit` octets. */
async function readBody(req: Request, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The client's address as the Worker's answerAllow list expects it (no IPv4-mapped IPv6 prefix). */
function clientAddress(req: Request): string | undefined {
  const addr = req.socket.remoteAddress;
  return addr === undefined ? undefined : unmapAddress(addr);
}

/**
 * Sends a complete response, or drops the stream when that is no longer possible (the client went away,
 * or headers already left). Never throws: a vanished client must not take the front down.
 */
function send(res: Response, status: number, headers: Record<string, string>, body: Buffer): void {
  try {
    if (res.headersSent || res.writableEnded) {
      res.destroy();
      return;
    }
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(body);
  } catch {
    res.destroy();
  }
}

function plain(res: Response, status: number, message: string, extra: Record<string, string> = {}): void {
  send(res, status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...extra }, Buffer.from(`${message}\n`));
}

export async function startDohFront(options: DohFrontOptions): Promise<DohFront> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 5000;
  const upstream = createWorkerUpstream({ workerUrl: options.workerUrl, connections: options.connections, timeoutMs });

  const handle = async (req: Request, res: Response): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://front.invalid");
    if (url.pathname !== DOH_PATH) return plain(res, 404, "not found; DoH is at /dns-query");
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "POST") return plain(res, 405, "use GET or POST", { allow: "GET, POST" });

    let body: Buffer | undefined;
    if (method === "POST") {
      try {
        body = await readBody(req, MAX_MESSAGE);
      } catch (err) {
        if (err instanceof BodyTooLarge) return plain(res, 413, "body larger than 65535 octets");
        throw err;
      }
    }

    const headers: Record<string, string> = {};
    for (const name of ["content-type", "accept"]) {
      const v = firstHeader(req.headers, name);
      if (v !== undefined) headers[name] = v;
    }
    const authorization = firstHeader(req.headers, "authorization");
    if (authorization !== undefined) {
      // The client's own credential (the admin token, say) is the Worker's to judge; adding ours would
      // replace it, so the forwarding headers are left out.
      headers.authorization = authorization;
    } else if (options.internalToken) {
      Object.assign(headers, forwardingHeaders(options.internalToken, { transport: "tcp", client: clientAddress(req) }));
    }

    let status: number;
    let relayed: Record<string, string>;
    let payload: Buffer;
    try {
      const up = await upstream.pool.request({ path: `${upstream.dohPath}${url.search}`, method, headers, body: body ?? null });
      status = up.statusCode;
      relayed = {};
      for (const name of ["content-type", "cache-control"]) {
        const v = up.headers[name];
        if (v !== undefined) relayed[name] = Array.isArray(v) ? v.join(", ") : v;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of up.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_UPSTREAM_BODY) {
          up.body.destroy();
          throw new Error("upstream body too large");
        }
        chunks.push(chunk);
      }
      payload = Buffer.concat(chunks);
    } catch {
      // Never the error text: it may name internal addresses. 502 per RFC 9110 §15.6.3.
      return plain(res, 502, "the DNS backend did not answer");
    }
    send(res, status, relayed, payload);
  };

  const onRequest = (req: Request, res: Response): void => {
    handle(req, res).catch(() => plain(res, 500, "internal error"));
  };

  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  const { cert, key } = options.tls
    ? { cert: await readFile(options.tls.certPath), key: await readFile(options.tls.keyPath) }
    : await selfSignedCertificate();
  const tls = http2.createSecureServer({ cert, key, allowHTTP1: true }, onRequest);
  const servers: Array<http2.Http2SecureServer | http2.Http2Server> = [tls];
  let h2c: http2.Http2Server | undefined;
  if (options.h2cPort !== undefined) {
    h2c = http2.createServer(onRequest);
    servers.push(h2c);
  }
  for (const server of servers) {
    // With no 'timeout' listener, an idle session (or HTTP/1.1 socket) is destroyed.
    server.setTimeout(Math.max(timeoutMs * 6, 30_000));
    server.on("connection", track);
  }

  const listen = (server: http2.Http2SecureServer | http2.Http2Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });

  const close = async (): Promise<void> => {
    const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of sockets) s.destroy();
    await Promise.all(closed);
    await upstream.close();
  };

  try {
    const port = await listen(tls, options.port ?? 8443);
    const h2cPort = h2c ? await listen(h2c, options.h2cPort!) : undefined;
    return { port, h2cPort, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
