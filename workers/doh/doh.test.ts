/**
 * RFC 8484 at `/dns-query` through hono, in workerd: POST and GET, HTTP status for every kind of bad HTTP
 * input, Cache-Control from TTLs, the JSON API, and who-is-asking (admin token, internal token with the
 * port-53 front's headers, CF-Connecting-IP only where the deployment says it is the edge's), bounded bodies
 * (with and without a Content-Length) and HEAD.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { Rcode, RRType } from "../../dns/constants.ts";
import { expireFromAnswer, expireRequest } from "../../dns/edns-expire.ts";
import { decodeMessage } from "../../dns/message.ts";
import { storeOf } from "../../answer/testing/load-zone.ts";
import { queryWire } from "../../answer/testing/table.ts";
import type { Env } from "../env.d.ts";
import { toBase64Url } from "./base64url.ts";
import { createDoh } from "./index.ts";

const txt = Array.from({ length: 12 }, (_, i) => `medium IN TXT "${String(i).padStart(3, "0")} ${"x".repeat(44)}"`).join("\n");
const store = storeOf(
  {
    apex: "example.org.",
    text: `
$ORIGIN example.org.
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  600 IN A 192.0.2.80
${txt}
`,
  },
  {
    apex: "hidden.test.",
    model: "hidden",
    answerAllow: ["198.51.100.0/24"],
    text: `
$ORIGIN hidden.test.
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@    IN NS  ns1
www  IN A   192.0.2.81
`,
  },
);

const app = new Hono<{ Bindings: Env }>();
app.route("/dns-query", createDoh({ store: () => store }));

const URL_BASE = "http://backstop.test/dns-query";
const ADMIN = `Bearer ${env.ADMIN_TOKEN}`;
const INTERNAL = `Bearer ${env.INTERNAL_TOKEN}`;

/** The bindings of a deployment on Cloudflare's edge (docs/security.md): CF-Connecting-IP is the edge's. */
const edgeEnv: Env = { ...env, TRUST_CF_CONNECTING_IP: "true" };

async function post(
  body: Uint8Array | string | ReadableStream<Uint8Array>,
  headers: Record<string, string> = { "content-type": "application/dns-message" },
  bindings: Env = env,
): Promise<Response> {
  return app.request(URL_BASE, { method: "POST", body, headers }, bindings);
}

/**
 * A chunked body (no Content-Length) of `size` octets in 8 KiB chunks, which counts what the Worker pulled
 * from it and whether it cancelled the stream.
 */
function chunkedBody(size: number, fill = 1): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let sent = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) return controller.close();
        const n = Math.min(8192, size - sent);
        sent += n;
        controller.enqueue(new Uint8Array(n).fill(fill));
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => sent, cancelled: () => cancelled };
}
async function get(query: string, headers: Record<string, string> = {}): Promise<Response> {
  return app.request(`${URL_BASE}?${query}`, { headers }, env);
}
async function dns(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/dns-message");
  const body = new Uint8Array(await res.arrayBuffer());
  expect(res.headers.get("content-length")).toBe(String(body.length));
  return decodeMessage(body);
}

describe("DoH wire format", () => {
  it("POST answers, Cache-Control is the smallest TTL", async () => {
    const res = await post(queryWire("www.example.org.", "A"));
    const m = await dns(res);
    expect(m.rcode).toBe(Rcode.NOERROR);
    expect(m.answers.map((r) => r.ttl)).toEqual([600]);
    expect(res.headers.get("cache-control")).toBe("max-age=600");
  });

  it("an answer carrying EDNS EXPIRE (a countdown) is not cached by HTTP; the same query without it is", async () => {
    const asked = await post(queryWire("example.org.", "SOA", { edns: { options: [expireRequest()] } }));
    expect(expireFromAnswer((await dns(asked)).edns)).toBeTypeOf("number");
    expect(asked.headers.get("cache-control")).toBe("no-store");
    const plain = await post(queryWire("example.org.", "SOA"));
    expect(plain.headers.get("cache-control")).toMatch(/^max-age=\d+$/);
  });

  it("GET ?dns= answers the same", async () => {
    const res = await get(`dns=${toBase64Url(queryWire("www.example.org.", "A", { edns: false }))}`);
    const m = await dns(res);
    expect(m.answers).toHaveLength(1);
    expect(m.answers[0]!.type).toBe(RRType.A);
  });

  it("HEAD is the GET without its body: same status and headers (the HTTP/2 front does the same)", async () => {
    const query = `dns=${toBase64Url(queryWire("www.example.org.", "A", { edns: false }))}`;
    const full = await get(query);
    const head = await app.request(`${URL_BASE}?${query}`, { method: "HEAD" }, env);
    expect(head.status).toBe(200);
    expect([...head.headers]).toEqual([...full.headers]);
    expect(head.headers.get("content-length")).toBe(String((await full.arrayBuffer()).byteLength));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    // A bad GET is a bad HEAD.
    expect((await app.request(URL_BASE, { method: "HEAD" }, env)).status).toBe(400);
  });

  it.each([
    { why: "NXDOMAIN: the SOA's negative TTL", qname: "nope.example.org.", qtype: "A", rcode: Rcode.NXDOMAIN, cache: "max-age=300" },
    { why: "NODATA: the SOA's negative TTL", qname: "www.example.org.", qtype: "MX", rcode: Rcode.NOERROR, cache: "max-age=300" },
    { why: "REFUSED is HTTP 200, not cached", qname: "www.example.net.", qtype: "A", rcode: Rcode.REFUSED, cache: "no-store" },
    { why: "FORMERR is HTTP 200, not cached", qname: "example.org.", qtype: "OPT", rcode: Rcode.FORMERR, cache: "no-store" },
  ])("$why", async ({ qname, qtype, rcode, cache }) => {
    const res = await post(queryWire(qname, qtype));
    expect((await dns(res)).rcode).toBe(rcode);
    expect(res.headers.get("cache-control")).toBe(cache);
  });
});

describe("bad HTTP input gets 4xx with a plain message, never 500", () => {
  const big = new Uint8Array(70_000);
  const cases: Array<{ why: string; send: () => Promise<Response>; status: number }> = [
    { why: "GET without dns", send: () => get(""), status: 400 },
    { why: "GET with empty dns", send: () => get("dns="), status: 400 },
    { why: "GET with padded base64url", send: () => get(`dns=${toBase64Url(queryWire("www.example.org.", "A"))}==`), status: 400 },
    { why: "GET with standard base64 characters", send: () => get("dns=AAAB+/AA"), status: 400 },
    { why: "GET with an impossible length", send: () => get("dns=AAAAA"), status: 400 },
    { why: "GET of a too-short message", send: () => get("dns=AAAA"), status: 400 },
    { why: "POST of another media type", send: () => post(queryWire("www.example.org.", "A"), { "content-type": "application/octet-stream" }), status: 415 },
    { why: "POST without a media type", send: () => post("x", {}), status: 415 },
    { why: "POST of an empty body", send: () => post(new Uint8Array(0)), status: 400 },
    { why: "POST of 5 octets", send: () => post(new Uint8Array(5)), status: 400 },
    { why: "POST over 65535 octets", send: () => post(big), status: 413 },
    { why: "POST of 65536 octets without a Content-Length (chunked)", send: () => post(chunkedBody(65_536).stream), status: 413 },
    { why: "POST of 100 KB without a Content-Length (chunked)", send: () => post(chunkedBody(100_000).stream), status: 413 },
    { why: "POST declaring 10 MB", send: () => post(chunkedBody(100).stream, { "content-type": "application/dns-message", "content-length": "10000000" }), status: 413 },
    { why: "GET whose dns parameter decodes past 65535 octets", send: () => get(`dns=${"A".repeat(87_381)}`), status: 414 },
    { why: "PUT", send: async () => app.request(URL_BASE, { method: "PUT", body: "x" }, env), status: 405 },
    { why: "JSON without name", send: () => get("type=A", { accept: "application/dns-json" }), status: 400 },
    { why: "JSON with a bad type", send: () => get("name=example.org&type=NOPE", { accept: "application/dns-json" }), status: 400 },
    { why: "JSON with a bad do flag", send: () => get("name=example.org&do=2", { accept: "application/dns-json" }), status: 400 },
    { why: "JSON with a bad name", send: () => get(`name=${"a".repeat(64)}.org`, { accept: "application/dns-json" }), status: 400 },
  ];
  it.each(cases)("$why → $status", async ({ send, status }) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type") ?? "").toMatch(/^text\/plain/);
    expect((await res.text()).trim().length).toBeGreaterThan(0);
  });

  it("a chunked body within 65535 octets is answered like one with a Content-Length", async () => {
    const wire = queryWire("www.example.org.", "A");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // Cut anywhere: the reader must join the pieces.
        controller.enqueue(wire.slice(0, 5));
        controller.enqueue(wire.slice(5));
        controller.close();
      },
    });
    expect((await dns(await post(stream))).answers).toHaveLength(1);
  });

  it("past 65535 octets nothing is kept: a 100 KB body is read to its end and dropped, a 20 MiB one cancelled at 16 MiB", async () => {
    // Reading to the end keeps the connection whole for the next request (the 503s of issue 20, item 5).
    const small = chunkedBody(100_000);
    expect((await post(small.stream)).status).toBe(413);
    expect(small.pulled()).toBe(100_000);
    expect(small.cancelled()).toBe(false);

    const huge = chunkedBody(20 << 20);
    expect((await post(huge.stream)).status).toBe(413);
    expect(huge.cancelled()).toBe(true);
    // Pulled no further than the bound plus the chunk in flight.
    expect(huge.pulled()).toBeLessThanOrEqual((16 << 20) + 8192);
  });

  it("a too-large body that stalls is cancelled once the drain time is up, and answered 413", async () => {
    const quick = new Hono<{ Bindings: Env }>();
    quick.route("/dns-query", createDoh({ store: () => store, drainMs: 50 }));
    let cancelled = false;
    let sent = 0;
    const stalls = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          // 70,000 octets, then nothing more, ever: only the drain's timer ends the read.
          if (sent >= 70_000) return new Promise<void>(() => undefined);
          sent += 10_000;
          controller.enqueue(new Uint8Array(10_000));
          return undefined;
        },
        cancel() {
          cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    const res = await quick.request(URL_BASE, { method: "POST", body: stalls, headers: { "content-type": "application/dns-message" } }, env);
    expect(res.status).toBe(413);
    expect(cancelled).toBe(true);
  });

  it("the largest dns parameter that can hold a message is not 414", async () => {
    // 87,380 characters decode to exactly 65,535 octets: the message's own faults decide (here, none: answered).
    const res = await get(`dns=${"A".repeat(87_380)}`);
    expect(res.status).not.toBe(414);
    expect(res.status).toBeLessThan(500);
  });

  it("a random body is FORMERR or a 400, never a 500", async () => {
    for (let n = 0; n < 200; n++) {
      const body = crypto.getRandomValues(new Uint8Array(1 + (n % 64)));
      const res = await post(body);
      expect([200, 400]).toContain(res.status);
    }
  });
});

describe("JSON API", () => {
  it("answers like Google and Cloudflare", async () => {
    const res = await get("name=www.example.org&type=A", { accept: "application/dns-json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/dns-json/);
    expect(res.headers.get("cache-control")).toBe("max-age=600");
    expect(await res.json()).toEqual({
      Status: 0,
      TC: false,
      RD: true,
      RA: false,
      AD: false,
      CD: false,
      Question: [{ name: "www.example.org.", type: 1 }],
      Answer: [{ name: "www.example.org.", type: 1, TTL: 600, data: "192.0.2.80" }],
    });
  });

  it("takes numeric types, cd, and gives NXDOMAIN with the SOA", async () => {
    const res = await get("name=nope.example.org&type=28&cd=1", { accept: "application/dns-json" });
    const body = (await res.json()) as { Status: number; CD: boolean; Authority: Array<{ type: number; TTL: number }> };
    expect(body.Status).toBe(Rcode.NXDOMAIN);
    expect(body.CD).toBe(true);
    expect(body.Authority).toEqual([expect.objectContaining({ type: RRType.SOA, TTL: 300 })]);
  });
});

describe("who is asking", () => {
  const q = () => queryWire("www.hidden.test.", "A");
  const h = (headers: Record<string, string>) => ({ "content-type": "application/dns-message", ...headers });
  const SPOOFS: Record<string, string> = {
    "cf-connecting-ip": "198.51.100.9",
    "x-forwarded-for": "198.51.100.9",
    forwarded: "for=198.51.100.9",
    "x-real-ip": "198.51.100.9",
    "true-client-ip": "198.51.100.9",
  };
  // `edge`: the bindings of a deployment on Cloudflare's edge (TRUST_CF_CONNECTING_IP=true); otherwise the
  // bindings of every local run (wrangler dev, npm start, these tests), where the variable is unset.
  it.each<{ why: string; headers: Record<string, string>; edge?: boolean; rcode: number }>([
    { why: "nobody in particular: REFUSED", headers: {}, rcode: Rcode.REFUSED },
    { why: "locally, a client's CF-Connecting-IP inside answerAllow is not believed", headers: { "cf-connecting-ip": "198.51.100.9" }, rcode: Rcode.REFUSED },
    { why: "locally, no client-sent address header is believed", headers: SPOOFS, rcode: Rcode.REFUSED },
    { why: "on the edge, X-Forwarded-For and Forwarded are still the client's words", headers: { "x-forwarded-for": "198.51.100.9", forwarded: "for=198.51.100.9" }, edge: true, rcode: Rcode.REFUSED },
    { why: "on the edge, CF-Connecting-IP inside answerAllow", headers: { "cf-connecting-ip": "198.51.100.9" }, edge: true, rcode: Rcode.NOERROR },
    { why: "on the edge, CF-Connecting-IP outside", headers: { "cf-connecting-ip": "192.0.2.9" }, edge: true, rcode: Rcode.REFUSED },
    { why: "admin token opens the zone", headers: { authorization: ADMIN, "cf-connecting-ip": "192.0.2.9" }, rcode: Rcode.NOERROR },
    { why: "a wrong token is nobody", headers: { authorization: "Bearer nope", "cf-connecting-ip": "192.0.2.9" }, edge: true, rcode: Rcode.REFUSED },
    { why: "a wrong token with a spoofed address is nobody", headers: { authorization: "Bearer nope", ...SPOOFS }, rcode: Rcode.REFUSED },
    { why: "forwarded client inside, internal token", headers: { authorization: INTERNAL, "x-backstop-client": "198.51.100.1" }, rcode: Rcode.NOERROR },
    { why: "forwarded client inside, internal token, on the edge too", headers: { authorization: INTERNAL, "x-backstop-client": "198.51.100.1", "cf-connecting-ip": "192.0.2.9" }, edge: true, rcode: Rcode.NOERROR },
    { why: "the fronts' forwarded address wins over a CF-Connecting-IP", headers: { authorization: INTERNAL, "x-backstop-client": "192.0.2.9", "cf-connecting-ip": "198.51.100.9" }, edge: true, rcode: Rcode.REFUSED },
    { why: "internal token grants no admin rights", headers: { authorization: INTERNAL, "x-backstop-client": "192.0.2.9" }, rcode: Rcode.REFUSED },
    { why: "forwarding headers without the token are ignored", headers: { "x-backstop-client": "198.51.100.1", "cf-connecting-ip": "192.0.2.9" }, edge: true, rcode: Rcode.REFUSED },
    { why: "forwarding headers without the token are ignored locally too", headers: { "x-backstop-client": "198.51.100.1" }, rcode: Rcode.REFUSED },
  ])("$why", async ({ headers, edge, rcode }) => {
    expect((await dns(await post(q(), h(headers), edge ? edgeEnv : env))).rcode).toBe(rcode);
  });

  it("TRUST_CF_CONNECTING_IP is believed only when it is exactly `true`", async () => {
    for (const value of ["1", "yes", "TRUE", " true", ""]) {
      const res = await post(q(), h({ "cf-connecting-ip": "198.51.100.9" }), { ...env, TRUST_CF_CONNECTING_IP: value });
      expect((await dns(res)).rcode, value).toBe(Rcode.REFUSED);
    }
  });

  it("the JSON API follows the same rule", async () => {
    const ask = async (bindings: Env) =>
      ((await (await app.request(`${URL_BASE}?name=www.hidden.test&type=A`, { headers: { accept: "application/dns-json", "cf-connecting-ip": "198.51.100.9" } }, bindings)).json()) as { Status: number }).Status;
    expect(await ask(env)).toBe(Rcode.REFUSED);
    expect(await ask(edgeEnv)).toBe(Rcode.NOERROR);
  });

  it("the port-53 front's UDP transport truncates; DoH itself never does", async () => {
    const wire = queryWire("medium.example.org.", "TXT", { edns: false });
    const udp = await dns(await post(wire, h({ authorization: INTERNAL, "x-backstop-transport": "udp", "x-backstop-udp-size": "512" })));
    expect(udp.flags.tc).toBe(true);
    const claimed = await dns(await post(wire, h({ "x-backstop-transport": "udp" })));
    expect(claimed.flags.tc).toBe(false);
    expect(claimed.answers).toHaveLength(12);
  });
});

describe("version headers for the port-53 front's cache (version-headers.ts)", () => {
  const h = (headers: Record<string, string>) => ({ "content-type": "application/dns-message", ...headers });
  const fwd = { authorization: INTERNAL, "x-backstop-transport": "udp" };
  it.each<{ why: string; qname: string; qtype: string; headers: Record<string, string>; rcode: number; zone: string | null }>([
    { why: "forwarded NOERROR names its zone", qname: "www.example.org.", qtype: "A", headers: fwd, rcode: Rcode.NOERROR, zone: "example.org." },
    { why: "forwarded NXDOMAIN names its zone", qname: "nope.example.org.", qtype: "A", headers: fwd, rcode: Rcode.NXDOMAIN, zone: "example.org." },
    { why: "forwarded REFUSED (not hosted): none", qname: "www.example.net.", qtype: "A", headers: fwd, rcode: Rcode.REFUSED, zone: null },
    { why: "forwarded FORMERR: none", qname: "example.org.", qtype: "OPT", headers: fwd, rcode: Rcode.FORMERR, zone: null },
    {
      why: "a restricted zone's answer depends on who asks: none",
      qname: "www.hidden.test.",
      qtype: "A",
      headers: { ...fwd, "x-backstop-client": "198.51.100.1" },
      rcode: Rcode.NOERROR,
      zone: null,
    },
    { why: "a plain DoH client learns nothing", qname: "www.example.org.", qtype: "A", headers: {}, rcode: Rcode.NOERROR, zone: null },
    { why: "nor does the admin", qname: "www.example.org.", qtype: "A", headers: { authorization: ADMIN }, rcode: Rcode.NOERROR, zone: null },
  ])("$why", async ({ qname, qtype, headers, rcode, zone }) => {
    const res = await post(queryWire(qname, qtype), h(headers));
    expect((await dns(res)).rcode).toBe(rcode);
    expect(res.headers.get("x-backstop-zone")).toBe(zone);
    if (zone === null) {
      expect(res.headers.get("x-backstop-version")).toBeNull();
      expect(res.headers.get("x-backstop-version-age-ms")).toBeNull();
    } else {
      expect(res.headers.get("x-backstop-version")).toMatch(/^\d+$/);
      // The memory store never lags behind: its read is as fresh as the answer.
      expect(res.headers.get("x-backstop-version-age-ms")).toBe("0");
    }
  });
});

describe("NSID (RFC 5001) from the NSID var", () => {
  const withNsid = { ...env, NSID: "edge-test" } as Env;
  const asks = queryWire("www.example.org.", "A", { edns: { options: [{ code: 3, data: new Uint8Array(0) }] } });
  const postTo = (e: Env, body: Uint8Array, headers: Record<string, string> = {}) =>
    app.request(URL_BASE, { method: "POST", body, headers: { "content-type": "application/dns-message", ...headers } }, e);
  const nsidOf = (m: ReturnType<typeof decodeMessage>): string | undefined => {
    const o = m.edns?.options.find((x) => x.code === 3);
    return o && new TextDecoder().decode(o.data);
  };

  it("a direct DoH query that asks gets the identity, also from the answer cache; one that does not ask gets none", async () => {
    expect(nsidOf(await dns(await postTo(withNsid, asks)))).toBe("edge-test");
    expect(nsidOf(await dns(await postTo(withNsid, asks)))).toBe("edge-test");
    expect(nsidOf(await dns(await postTo(withNsid, queryWire("www.example.org.", "A"))))).toBeUndefined();
  });

  it("none when the var is empty, and none to a query the port-53 front forwarded (it adds its own)", async () => {
    expect(nsidOf(await dns(await postTo({ ...env, NSID: "" } as Env, asks)))).toBeUndefined();
    expect(nsidOf(await dns(await postTo(withNsid, asks, { authorization: INTERNAL, "x-backstop-transport": "udp" })))).toBeUndefined();
  });
});
