/**
 * The attacks of issue 20 on `/dns-query`, against the real Worker as `npm start` runs it (`wrangler dev`:
 * workerd behind wrangler's proxy, local D1 built from migrations/):
 *
 * - Whose address it is (item 1). A hidden zone open only to 192.0.2.1 once answered a request to
 *   127.0.0.1:8787 that carried `CF-Connecting-IP: 192.0.2.1`, because wrangler passes a client's own header
 *   through. Locally no client-sent address header is believed (`CF-Connecting-IP`, `X-Forwarded-For`,
 *   `Forwarded`, nor miniflare's `MF-CF-Blob`), so even loopback is nobody to a direct request; the fronts'
 *   `x-backstop-client` with the internal token, and the admin token, still open the zone
 *   (`workers/doh/client-address.ts`, docs/security.md).
 * - A large DoH POST (item 5). A chunked POST past 65,535 octets made others' queries fail with 503 from
 *   wrangler's proxy. Now each gets 413, and concurrent legitimate queries are all answered.
 * - HEAD answers as on the HTTP/2 front: the GET's status and headers without the body.
 *
 * The HTTP/2 front's side of the same checks is in test/doh-front/doh-front.test.ts.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pool } from "undici";
import { Rcode } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev.ts";
import { loadZone } from "./zone-load.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;

let worker: WranglerDev | undefined;
let base: string;

const zoneText = (apex: string) => `
$ORIGIN ${apex}
$TTL 300
@    SOA  ns hostmaster 1 7200 3600 1209600 300
@    NS   ns
ns   A    192.0.2.53
www  A    192.0.2.80
`;
/** Hidden, open to 192.0.2.1 only: the zone of the reported bypass. */
const HIDDEN = "hidden-allow.test.";
/** Hidden, open to loopback only: what a direct local request would be, were its address known. */
const LOOPBACK = "loopback-allow.test.";
/** Unrestricted: the legitimate queries. */
const OPEN = "open.test.";

beforeAll(async () => {
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL });
  base = worker.base;
  const stack = { base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, HIDDEN, zoneText(HIDDEN), ["192.0.2.1"], "hidden");
  await loadZone(stack, LOOPBACK, zoneText(LOOPBACK), ["127.0.0.0/8", "::1/128"], "hidden");
  await loadZone(stack, OPEN, zoneText(OPEN));
}, 150_000);

afterAll(async () => {
  await worker?.stop();
});

async function ask(qname: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${base}/dns-query`, {
    method: "POST",
    headers: { "content-type": "application/dns-message", ...headers },
    body: new Uint8Array(queryWire(qname, "A")),
  });
  expect(res.status).toBe(200);
  return decodeMessage(new Uint8Array(await res.arrayBuffer())).rcode;
}

describe("whose address it is: no client-sent header is believed locally", () => {
  const www = `www.${HIDDEN}`;
  it.each<{ why: string; headers: Record<string, string> }>([
    { why: "CF-Connecting-IP", headers: { "cf-connecting-ip": "192.0.2.1" } },
    { why: "X-Forwarded-For", headers: { "x-forwarded-for": "192.0.2.1" } },
    { why: "X-Forwarded-For with a chain", headers: { "x-forwarded-for": "192.0.2.1, 127.0.0.1" } },
    { why: "Forwarded", headers: { forwarded: "for=192.0.2.1;proto=https" } },
    { why: "X-Real-IP and True-Client-IP", headers: { "x-real-ip": "192.0.2.1", "true-client-ip": "192.0.2.1" } },
    { why: "x-backstop-client without the internal token", headers: { "x-backstop-client": "192.0.2.1" } },
    { why: "miniflare's MF-CF-Blob claiming the address", headers: { "mf-cf-blob": JSON.stringify({ clientIp: "192.0.2.1" }), "cf-connecting-ip": "192.0.2.1" } },
    { why: "a wrong token with every header", headers: { authorization: "Bearer wrong", "cf-connecting-ip": "192.0.2.1", "x-forwarded-for": "192.0.2.1", forwarded: "for=192.0.2.1" } },
  ])("a spoofed $why gets REFUSED from the zone open to 192.0.2.1", async ({ headers }) => {
    expect(await ask(www, headers)).toBe(Rcode.REFUSED);
  });

  it("a direct request has no address locally, so even a loopback-only zone refuses it (fail-closed)", async () => {
    expect(await ask(`www.${LOOPBACK}`, {})).toBe(Rcode.REFUSED);
    expect(await ask(`www.${LOOPBACK}`, { "cf-connecting-ip": "127.0.0.1" })).toBe(Rcode.REFUSED);
  });

  it("the allowed paths still answer: the fronts' forwarded address with the internal token, and the admin token", async () => {
    expect(await ask(www, { authorization: `Bearer ${INTERNAL}`, "x-backstop-client": "192.0.2.1" })).toBe(Rcode.NOERROR);
    expect(await ask(`www.${LOOPBACK}`, { authorization: `Bearer ${INTERNAL}`, "x-backstop-client": "127.0.0.1" })).toBe(Rcode.NOERROR);
    expect(await ask(`www.${LOOPBACK}`, { authorization: `Bearer ${INTERNAL}`, "x-backstop-client": "::1" })).toBe(Rcode.NOERROR);
    expect(await ask(www, { authorization: `Bearer ${ADMIN}` })).toBe(Rcode.NOERROR);
    // The forwarded address is the only one: outside the list, the internal token grants nothing.
    expect(await ask(www, { authorization: `Bearer ${INTERNAL}`, "x-backstop-client": "192.0.2.2", "cf-connecting-ip": "192.0.2.1" })).toBe(Rcode.REFUSED);
    expect(await ask(`www.${OPEN}`, {})).toBe(Rcode.NOERROR);
  });
});

/** A POST of `size` octets with no Content-Length (chunked), as the attack sent it; resolves to the status or the error. */
function chunkedPost(size: number): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: "/dns-query", method: "POST", headers: { "content-type": "application/dns-message", "transfer-encoding": "chunked" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(String(res.statusCode)));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve(err.message));
    const chunk = Buffer.alloc(8192, 1);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("a large DoH POST", () => {
  it("a 100 KB chunked POST gets 413, and legitimate queries sent meanwhile are all answered", async () => {
    // Legitimate queries on a keep-alive pool, as the port-53 and HTTP/2 fronts send them.
    const pool = new Pool(base, { connections: 16 });
    const wire = Buffer.from(queryWire(`www.${OPEN}`, "A"));
    const legit = async (): Promise<string> => {
      try {
        const res = await pool.request({ path: "/dns-query", method: "POST", headers: { "content-type": "application/dns-message" }, body: wire });
        const body = new Uint8Array(await res.body.arrayBuffer());
        return res.statusCode === 200 && decodeMessage(body).rcode === Rcode.NOERROR ? "answered" : `HTTP ${res.statusCode}`;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const tally = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((t, x) => ((t[x] = (t[x] ?? 0) + 1), t), {});
    try {
      // Bounded: 3 rounds of 10 large POSTs beside 200 queries (on this machine, before the fix, most rounds
      // lost some queries and some 413s to the proxy's 503 or a reset).
      for (let round = 0; round < 3; round++) {
        const large = Array.from({ length: 10 }, () => chunkedPost(100_000));
        const queries = Array.from({ length: 200 }, () => legit());
        const [bigs, answers] = await Promise.all([Promise.all(large), Promise.all(queries)]);
        expect(tally(bigs), `round ${round}`).toEqual({ 413: 10 });
        expect(tally(answers), `round ${round}`).toEqual({ answered: 200 });
      }
    } finally {
      await pool.close();
    }
  });
});

describe("HEAD /dns-query", () => {
  it("is the GET without its body: 200, the GET's content-type and content-length", async () => {
    const url = `${base}/dns-query?dns=${Buffer.from(queryWire(`www.${OPEN}`, "A")).toString("base64url")}`;
    const get = await fetch(url);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/dns-message");
    expect(head.headers.get("content-length")).toBe(String((await get.arrayBuffer()).byteLength));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });
});
