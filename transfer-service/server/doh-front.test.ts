/**
 * @module The DoH front's proxy contract, over real HTTP/2 (h2c and TLS) and HTTP/1.1-over-TLS clients:
 * what it sends upstream (method, query, body, the allowed headers, the forwarding headers only with the
 * internal token) and what it sends back (status, content-type, cache-control, always content-length), and
 * its faults (404, 405, 413, 502 on a dead or silent upstream, within the bound). The upstream here is a
 * recording HTTP/1.1 server, because the point is to see the exact request the front makes; the real
 * Worker behind real dig/kdig/curl is in test/doh-front/.
 */
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http, { type IncomingHttpHeaders } from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DohFront, selfSignedCertificate, startDohFront } from "./doh-front.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const TOKEN = "internal-token-for-the-front-test";
let seen: Seen[] = [];
let upstream: http.Server;
let upstreamUrl: string;
/** Accepts connections and never answers, for the timeout case. */
let silent: http.Server;
let silentUrl: string;
let withToken: DohFront;
let withoutToken: DohFront;
let prefixed: DohFront;

async function listen(server: http.Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP/2 request on a fresh session (h2c, or TLS without verification of the self-signed cert). */
async function h2(port: number, tls: boolean, req: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer }): Promise<Reply> {
  const session = http2.connect(`${tls ? "https" : "http"}://127.0.0.1:${port}`, { rejectUnauthorized: false });
  try {
    const stream = session.request({ ":method": req.method ?? "GET", ":path": req.path, ...req.headers });
    stream.end(req.body);
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    return { status: Number(headers[":status"]), headers, body: Buffer.concat(chunks) };
  } finally {
    session.close();
  }
}

/** One HTTP/1.1 request over TLS (ALPN falls back to http/1.1 with allowHTTP1). */
async function h1tls(port: number, p: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = https.get({ host: "127.0.0.1", port, path: p, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.on("error", reject);
  });
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const out = Buffer.concat([Buffer.from("echo:"), body]);
      // Chunked on purpose (no content-length), so the front has to add one.
      res.writeHead(req.url!.includes("status=400") ? 400 : 200, { "content-type": "application/dns-message", "cache-control": "max-age=42", "x-other": "dropped" });
      res.write(out.subarray(0, 3));
      res.end(out.subarray(3));
    });
  });
  upstreamUrl = await listen(upstream);
  silent = http.createServer(() => undefined);
  silentUrl = await listen(silent);
  withToken = await startDohFront({ workerUrl: upstreamUrl, port: 0, h2cPort: 0, internalToken: TOKEN, timeoutMs: 1000 });
  withoutToken = await startDohFront({ workerUrl: upstreamUrl, port: 0, h2cPort: 0, timeoutMs: 1000 });
  prefixed = await startDohFront({ workerUrl: `${upstreamUrl}/edge/`, port: 0, h2cPort: 0, timeoutMs: 1000 });
}, 30_000);

afterAll(async () => {
  await Promise.all([withToken?.close(), withoutToken?.close(), prefixed?.close()]);
  upstream?.closeAllConnections();
  silent?.closeAllConnections();
  upstream?.close();
  silent?.close();
});

describe("startDohFront relays /dns-query", () => {
  const cases: Array<{
    name: string;
    front: () => DohFront;
    tls: boolean;
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer;
    upstreamUrl: string;
    forwarded: Record<string, string | undefined>;
    status?: number;
  }> = [
    {
      name: "GET ?dns= over h2c, with the token: client address and transport forwarded",
      front: () => withToken, tls: false, path: "/dns-query?dns=AAABAAABAAAAAAAA", headers: { accept: "application/dns-message" },
      upstreamUrl: "/dns-query?dns=AAABAAABAAAAAAAA",
      forwarded: { accept: "application/dns-message", authorization: `Bearer ${TOKEN}`, "x-backstop-client": "127.0.0.1", "x-backstop-transport": "tcp" },
    },
    {
      name: "POST over TLS, with the token: body and content-type pass",
      front: () => withToken, tls: true, method: "POST", path: "/dns-query", headers: { "content-type": "application/dns-message" }, body: Buffer.from([0, 1, 2, 3, 255]),
      upstreamUrl: "/dns-query",
      forwarded: { "content-type": "application/dns-message", authorization: `Bearer ${TOKEN}`, "x-backstop-client": "127.0.0.1" },
    },
    {
      name: "a client's own Authorization is passed through and the forwarding headers left out",
      front: () => withToken, tls: true, path: "/dns-query?name=a.example&type=A", headers: { accept: "application/dns-json", authorization: "Bearer admin-x" },
      upstreamUrl: "/dns-query?name=a.example&type=A",
      forwarded: { accept: "application/dns-json", authorization: "Bearer admin-x", "x-backstop-client": undefined, "x-backstop-transport": undefined },
    },
    {
      name: "without the token: no authorization, no forwarding headers, even when the client sends them",
      front: () => withoutToken, tls: false, path: "/dns-query?dns=AAAA", headers: { "x-backstop-client": "10.9.9.9", "x-backstop-transport": "udp" },
      upstreamUrl: "/dns-query?dns=AAAA",
      forwarded: { authorization: undefined, "x-backstop-client": undefined, "x-backstop-transport": undefined },
    },
    {
      name: "the Worker URL's path prefix is kept",
      front: () => prefixed, tls: false, path: "/dns-query?dns=AAAA",
      upstreamUrl: "/edge/dns-query?dns=AAAA", forwarded: {},
    },
    {
      name: "an upstream HTTP error status is relayed as is",
      front: () => withoutToken, tls: true, path: "/dns-query?dns=AAAA&status=400",
      upstreamUrl: "/dns-query?dns=AAAA&status=400", forwarded: {}, status: 400,
    },
  ];

  it.each(cases)("$name", async (c) => {
    seen = [];
    const front = c.front();
    const reply = await h2(c.tls ? front.port : front.h2cPort!, c.tls, { method: c.method, path: c.path, headers: c.headers, body: c.body });
    expect(seen).toHaveLength(1);
    const up = seen[0]!;
    expect(up.method).toBe(c.method ?? "GET");
    expect(up.url).toBe(c.upstreamUrl);
    expect(up.body.equals(c.body ?? Buffer.alloc(0))).toBe(true);
    for (const [name, value] of Object.entries(c.forwarded)) expect(up.headers[name], name).toBe(value);
    const expected = Buffer.concat([Buffer.from("echo:"), c.body ?? Buffer.alloc(0)]);
    expect(reply.status).toBe(c.status ?? 200);
    expect(reply.body.equals(expected)).toBe(true);
    expect(reply.headers["content-length"]).toBe(String(expected.length));
    expect(reply.headers["content-type"]).toBe("application/dns-message");
    expect(reply.headers["cache-control"]).toBe("max-age=42");
    expect(reply.headers["x-other"]).toBeUndefined();
  });

  it("serves HTTP/1.1 over TLS too (allowHTTP1), with content-length", async () => {
    seen = [];
    const reply = await h1tls(withToken.port, "/dns-query?dns=AAAA");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-length"]).toBe("5");
    expect(seen[0]!.headers["x-backstop-client"]).toBe("127.0.0.1");
  });
});

describe("startDohFront faults", () => {
  const cases: Array<{ name: string; method?: string; path: string; body?: Buffer; status: number; reaches: boolean }> = [
    { name: "another path is 404", path: "/resolve?name=x", status: 404, reaches: false },
    { name: "the root is 404", path: "/", status: 404, reaches: false },
    { name: "PUT is 405", method: "PUT", path: "/dns-query", body: Buffer.from([1]), status: 405, reaches: false },
    { name: "a body over 65535 octets is 413", method: "POST", path: "/dns-query", body: Buffer.alloc(65536), status: 413, reaches: false },
    { name: "a body of exactly 65535 octets passes", method: "POST", path: "/dns-query", body: Buffer.alloc(65535), status: 200, reaches: true },
  ];
  it.each(cases)("$name", async (c) => {
    seen = [];
    const reply = await h2(withoutToken.h2cPort!, false, { method: c.method, path: c.path, body: c.body, headers: { "content-type": "application/dns-message" } });
    expect(reply.status).toBe(c.status);
    expect(reply.headers["content-length"]).toBe(String(reply.body.length));
    expect(seen.length > 0).toBe(c.reaches);
    if (!c.reaches) expect(reply.body.toString()).toMatch(/\n$/);
  });

  it("answers 502 when the Worker is unreachable, and when it stays silent past the timeout", async () => {
    const deadUpstream = http.createServer();
    const deadUrl = await listen(deadUpstream);
    deadUpstream.close();
    const dead = await startDohFront({ workerUrl: deadUrl, port: 0, h2cPort: 0, timeoutMs: 500 });
    const slow = await startDohFront({ workerUrl: silentUrl, port: 0, h2cPort: 0, timeoutMs: 500, internalToken: TOKEN });
    try {
      for (const front of [dead, slow]) {
        const started = performance.now();
        const reply = await h2(front.h2cPort!, false, { path: "/dns-query?dns=AAAA" });
        expect(reply.status).toBe(502);
        expect(reply.body.toString()).toBe("the DNS backend did not answer\n");
        expect(reply.body.toString()).not.toContain(TOKEN);
        expect(performance.now() - started).toBeLessThan(3000);
      }
    } finally {
      await dead.close();
      await slow.close();
    }
  });

  it("survives clients that go away mid-body and before a slow answer, and keeps serving", async () => {
    const slow = await startDohFront({ workerUrl: silentUrl, port: 0, h2cPort: 0, timeoutMs: 300 });
    try {
      for (const port of [withoutToken.h2cPort!, slow.h2cPort!]) {
        const session = http2.connect(`http://127.0.0.1:${port}`);
        const stream = session.request({ ":method": "POST", ":path": "/dns-query", "content-type": "application/dns-message" });
        stream.on("error", () => undefined);
        stream.write(Buffer.alloc(100));
        if (port === slow.h2cPort) stream.end();
        await new Promise((r) => setTimeout(r, 100));
        session.destroy();
      }
      // Past the slow front's timeout: its 502 now meets a closed stream.
      await new Promise((r) => setTimeout(r, 500));
      expect((await h2(withoutToken.h2cPort!, false, { path: "/dns-query?dns=AAAA" })).status).toBe(200);
      expect((await h2(slow.h2cPort!, false, { path: "/dns-query?dns=AAAA" })).status).toBe(502);
    } finally {
      await slow.close();
    }
  });

  it("uses the certificate it is given", async () => {
    const { cert, key } = await selfSignedCertificate();
    const dir = await mkdtemp(path.join(tmpdir(), "doh-front-test-"));
    const tls = { certPath: path.join(dir, "c.pem"), keyPath: path.join(dir, "k.pem") };
    await writeFile(tls.certPath, cert);
    await writeFile(tls.keyPath, key);
    const front = await startDohFront({ workerUrl: upstreamUrl, port: 0, tls });
    try {
      const peer = await new Promise<Buffer>((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${front.port}`, { rejectUnauthorized: false });
        session.once("error", reject);
        session.once("connect", () => {
          const raw = (session.socket as TLSSocket).getPeerCertificate(true).raw;
          session.close();
          resolve(raw);
        });
      });
      expect(peer.equals(new X509Certificate(cert).raw)).toBe(true);
      expect(front.h2cPort).toBeUndefined();
    } finally {
      await front.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
