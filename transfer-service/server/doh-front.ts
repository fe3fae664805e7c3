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
 * The client's address is always the socket's (`req.socket.remoteAddress`): a client's own `CF-Connecting-IP`,
 * `X-Forwarded-For`, `Forwarded` or `X-Backstop-Client` never crosses (docs/security.md).
 *
 * HEAD is the GET without its body (RFC 9110 §9.3.2), as the Worker answers it: the front asks the Worker a
 * GET and sends back its status and headers, `content-length` included.
 *
 * Faults: other paths are 404, other methods 405, a POST body over 65535 octets 413 and a `dns` parameter
 * that decodes past 65535 octets 414 (the Worker would say the same; neither is sent to it). In practice a
 * target that long never reaches the handler: nghttp2 refuses any header field over 64 KiB (REFUSED_STREAM)
 * and Node's HTTP/1.1 parser any header block over 16 KiB (431), so the longest GET the front relays holds
 * about 49,000 octets of message; longer queries go by POST. The 414 is the rule for any other path. An unreachable,
 * slow or failing Worker 502 — each with a one-line plain reason. A too-large body is never kept: the 413
 * goes at once, with or without a Content-Length, and the rest of the body is read and dropped (up to 1 MiB,
 * then the stream is reset), so the client's connection stays usable and nothing else waits on it. Every
 * wait is bounded: upstream headers and body by `timeoutMs`, idle client sessions too.
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
/** The longest `dns` parameter that can hold MAX_MESSAGE octets (unpadded base64url: ceil(4n/3) characters). */
const MAX_DNS_PARAM = Math.ceil((MAX_MESSAGE * 4) / 3);
/** How much of a too-large body is read and dropped before its stream is reset. */
const DRAIN_LIMIT = 1 << 20;
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

/** The client went away before its body ended: nobody to answer. */
class ClientGone extends Error {}

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

/**
 * Reads a request body of at most MAX_MESSAGE octets, or "too-large" as soon as it declares or passes that,
 * keeping nothing more; the rest is then dropped as it comes ({@link discardRest}). Rejects with ClientGone
 * when the stream closes before its end.
 */
function readBody(req: Request): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const declared = Number(firstHeader(req.headers, "content-length") ?? 0);
    if (declared > MAX_MESSAGE) {
      discardRest(req, 0);
      return resolve("too-large");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_MESSAGE) {
        req.off("data", onData);
        req.off("end", onEnd);
        discardRest(req, size);
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks, size));
    req.on("data", onData);
    req.once("end", onEnd);
    // Settles nothing once the body has ended (a promise settles once).
    req.once("close", () => reject(new ClientGone()));
    req.once("error", () => reject(new ClientGone()));
  });
}

/**
 * Reads on and drops the rest of a too-large body, so an HTTP/1.1 connection stays in step for its next
 * request and an HTTP/2 stream's flow control stays open; past DRAIN_LIMIT octets in all, the stream is
 * destroyed (RST_STREAM, or the HTTP/1.1 socket closed) rather than read any longer.
 */
function discardRest(req: Request, already: number): void {
  let size = already;
  let stopped = false;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= DRAIN_LIMIT || stopped) return;
    stopped = true;
    // Over HTTP/2 the answer has already ended our side of the stream, so a plain destroy sends no
    // RST_STREAM and the client would wait on flow control until the idle timeout: cancel it explicitly.
    if (req instanceof http2.Http2ServerRequest) req.stream.close(http2.constants.NGHTTP2_CANCEL);
    else req.destroy();
  });
  req.on("error", () => undefined);
  req.resume();
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
function send(res: Response, status: number, headers: Record<string, string>, body: Buffer, head = false): void {
  try {
    if (res.headersSent || res.writableEnded) {
      res.destroy();
      return;
    }
    // A HEAD's content-length is the GET body's (RFC 9110 §8.6), which is not sent.
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    if (head) res.end();
    else res.end(body);
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
    if (method !== "GET" && method !== "HEAD" && method !== "POST") return plain(res, 405, "use GET or POST", { allow: "GET, HEAD, POST" });
    const head = method === "HEAD";
    const dns = url.searchParams.get("dns");
    if (method !== "POST" && dns !== null && dns.length > MAX_DNS_PARAM) {
      return plain(res, 414, "dns parameter decodes past 65535 octets, the largest DNS message");
    }

    let body: Buffer | undefined;
    if (method === "POST") {
      let read: Buffer | "too-large";
      try {
        read = await readBody(req);
      } catch (err) {
        if (err instanceof ClientGone) return;
        throw err;
      }
      if (read === "too-large") return plain(res, 413, "body larger than 65535 octets");
      body = read;
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
      const up = await upstream.pool.request({ path: `${upstream.dohPath}${url.search}`, method: head ? "GET" : method, headers, body: body ?? null });
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
    send(res, status, relayed, payload, head);
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
