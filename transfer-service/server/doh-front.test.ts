/**
 * @module The DoH front's proxy contract, over real HTTP/2 (h2c and TLS) and HTTP/1.1-over-TLS clients:
 * what it sends upstream (method, query, body, the allowed headers, the forwarding headers only with the
 * internal token) and what it sends back (status, content-type, cache-control, always content-length), and
 * its faults (404, 405, 413 with and without a Content-Length, 414, 502 on a dead or silent upstream, within
 * the bound), HEAD as the Worker answers it, and a client's own address headers never crossing. The upstream here is a
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
      name: "with the token, a client's own address headers never cross: the socket's address does",
      front: () => withToken, tls: false, method: "POST", path: "/dns-query", body: Buffer.from([9, 9]),
      headers: {
        "content-type": "application/dns-message", "cf-connecting-ip": "192.0.2.1", "x-forwarded-for": "192.0.2.1",
        forwarded: "for=192.0.2.1", "x-real-ip": "192.0.2.1", "x-backstop-client": "192.0.2.1", "x-backstop-transport": "udp",
      },
      upstreamUrl: "/dns-query",
      forwarded: {
        "x-backstop-client": "127.0.0.1", "x-backstop-transport": "tcp", "cf-connecting-ip": undefined, "x-forwarded-for": undefined,
        forwarded: undefined, "x-real-ip": undefined,
      },
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
    { name: "a body of 100 KB is 413", method: "POST", path: "/dns-query", body: Buffer.alloc(100_000), status: 413, reaches: false },
  ];
  it.each(cases)("$name", async (c) => {
    seen = [];
    const reply = await h2(withoutToken.h2cPort!, false, { method: c.method, path: c.path, body: c.body, headers: { "content-type": "application/dns-message" } });
    expect(reply.status).toBe(c.status);
    expect(reply.headers["content-length"]).toBe(String(reply.body.length));
    expect(seen.length > 0).toBe(c.reaches);
    if (!c.reaches) expect(reply.body.toString()).toMatch(/\n$/);
  });

  it("HEAD is the GET without its body: the Worker is asked a GET, status and content-length come back", async () => {
    seen = [];
    const head = await h2(withToken.h2cPort!, false, { method: "HEAD", path: "/dns-query?dns=AAAA" });
    expect(seen.map((s) => [s.method, s.url])).toEqual([["GET", "/dns-query?dns=AAAA"]]);
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String("echo:".length));
    expect(head.headers["content-type"]).toBe("application/dns-message");
    expect(head.body.length).toBe(0);
    const bad = await h2(withToken.h2cPort!, false, { method: "HEAD", path: "/elsewhere" });
    expect(bad.status).toBe(404);
    expect(bad.headers["content-length"]).toBe(String("not found; DoH is at /dns-query\n".length));
    expect(bad.body.length).toBe(0);
  });

  it("a dns parameter past what HTTP/2 carries (87,381 characters) never reaches the Worker, and the front serves on", async () => {
    seen = [];
    const session = http2.connect(`http://127.0.0.1:${withoutToken.h2cPort}`);
    try {
      const ask = (p: string): Promise<number | string> =>
        new Promise((resolve) => {
          const stream = session.request({ ":path": p });
          stream.on("response", (h) => resolve(Number(h[":status"])));
          stream.on("error", (e: Error & { code?: string }) => resolve(e.code ?? e.message));
          stream.resume();
          stream.end();
        });
      // nghttp2 refuses the header field (over 64 KiB) before the front sees a request; were it let through,
      // the front's own rule answers 414.
      expect(String(await ask(`/dns-query?dns=${"A".repeat(87_381)}`))).toMatch(/^(414|ERR_HTTP2_STREAM_ERROR)$/);
    } finally {
      session.destroy();
    }
    expect((await h2(withoutToken.h2cPort!, false, { path: "/dns-query?dns=AAAA" })).status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(["/dns-query?dns=AAAA"]);
  });

  it("a 413 leaves the client's connection usable: HTTP/1.1 with and without a Content-Length, then a query on the same socket", async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const ask = (method: string, p: string, body?: Buffer, chunked = false): Promise<{ status: number; port: number }> =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = { "content-type": "application/dns-message" };
        if (body && !chunked) headers["content-length"] = String(body.length);
        const r = https.request({ host: "127.0.0.1", port: withoutToken.port, method, path: p, agent, headers }, (res) => {
          const port = res.socket.localPort!;
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, port }));
        });
        r.on("error", reject);
        if (body && chunked) for (let at = 0; at < body.length; at += 8192) r.write(body.subarray(at, at + 8192));
        r.end(body && !chunked ? body : undefined);
      });
    try {
      seen = [];
      const declared = await ask("POST", "/dns-query", Buffer.alloc(100_000));
      const chunked = await ask("POST", "/dns-query", Buffer.alloc(100_000), true);
      const after = await ask("GET", "/dns-query?dns=AAAA");
      expect([declared.status, chunked.status, after.status]).toEqual([413, 413, 200]);
      // One socket all along: the drop of the rest of each body kept HTTP/1.1 in step.
      expect(new Set([declared.port, chunked.port, after.port]).size).toBe(1);
      expect(seen).toHaveLength(1);
    } finally {
      agent.destroy();
    }
  });

  it("a 100 KB body on one HTTP/2 stream gets 413 while queries on the same session are answered", async () => {
    const session = http2.connect(`http://127.0.0.1:${withoutToken.h2cPort}`);
    try {
      const request = (method: string, p: string, body?: Buffer): Promise<number> =>
        new Promise((resolve, reject) => {
          const stream = session.request({ ":method": method, ":path": p, "content-type": "application/dns-message" });
          stream.on("response", (h) => resolve(Number(h[":status"])));
          stream.on("error", reject);
          stream.resume();
          if (body) for (let at = 0; at < body.length; at += 8192) stream.write(body.subarray(at, at + 8192));
          stream.end();
        });
      const statuses = await Promise.all([
        request("POST", "/dns-query", Buffer.alloc(100_000)),
        ...Array.from({ length: 20 }, () => request("GET", "/dns-query?dns=AAAA")),
      ]);
      expect(statuses[0]).toBe(413);
      expect(statuses.slice(1)).toEqual(Array.from({ length: 20 }, () => 200));
    } finally {
      session.close();
    }
  });

  it("a body that never ends is dropped up to 1 MiB, then its stream is reset; the front keeps serving", async () => {
    const session = http2.connect(`http://127.0.0.1:${withoutToken.h2cPort}`);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/dns-query", "content-type": "application/dns-message" });
      let status = 0;
      stream.on("response", (h) => (status = Number(h[":status"])));
      const closed = once(stream, "close");
      stream.on("error", () => undefined);
      stream.resume();
      // Write until the front resets the stream (bounded: 4 MiB is well past the 1 MiB drop limit).
      const chunk = Buffer.alloc(16_384);
      let written = 0;
      while (!stream.destroyed && !stream.closed && written < 4 << 20) {
        if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), closed]);
        written += chunk.length;
      }
      await closed;
      expect(status).toBe(413);
      expect(written).toBeLessThan(4 << 20);
    } finally {
      session.destroy();
    }
    expect((await h2(withoutToken.h2cPort!, false, { path: "/dns-query?dns=AAAA" })).status).toBe(200);
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
