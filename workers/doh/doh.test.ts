/**
 * RFC 8484 at `/dns-query` through hono, in workerd: POST and GET, HTTP status for every kind of bad HTTP
 * input, Cache-Control from TTLs, the JSON API, and who-is-asking (admin token, internal token with the
 * port-53 front's headers, CF-Connecting-IP).
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { Rcode, RRType } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { storeOf } from "../answer/testing/load-zone.ts";
import { queryWire } from "../answer/testing/table.ts";
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

async function post(body: Uint8Array | string, headers: Record<string, string> = { "content-type": "application/dns-message" }): Promise<Response> {
  return app.request(URL_BASE, { method: "POST", body, headers }, env);
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

  it("GET ?dns= answers the same", async () => {
    const res = await get(`dns=${toBase64Url(queryWire("www.example.org.", "A", { edns: false }))}`);
    const m = await dns(res);
    expect(m.answers).toHaveLength(1);
    expect(m.answers[0]!.type).toBe(RRType.A);
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
  it.each<{ why: string; headers: Record<string, string>; rcode: number }>([
    { why: "nobody in particular: REFUSED", headers: {}, rcode: Rcode.REFUSED },
    { why: "CF-Connecting-IP inside answerAllow", headers: { "cf-connecting-ip": "198.51.100.9" }, rcode: Rcode.NOERROR },
    { why: "CF-Connecting-IP outside", headers: { "cf-connecting-ip": "192.0.2.9" }, rcode: Rcode.REFUSED },
    { why: "admin token opens the zone", headers: { authorization: ADMIN, "cf-connecting-ip": "192.0.2.9" }, rcode: Rcode.NOERROR },
    { why: "a wrong token is nobody", headers: { authorization: "Bearer nope", "cf-connecting-ip": "192.0.2.9" }, rcode: Rcode.REFUSED },
    { why: "forwarded client inside, internal token", headers: { authorization: INTERNAL, "x-backstop-client": "198.51.100.1" }, rcode: Rcode.NOERROR },
    { why: "internal token grants no admin rights", headers: { authorization: INTERNAL, "x-backstop-client": "192.0.2.9" }, rcode: Rcode.REFUSED },
    { why: "forwarding headers without the token are ignored", headers: { "x-backstop-client": "198.51.100.1", "cf-connecting-ip": "192.0.2.9" }, rcode: Rcode.REFUSED },
  ])("$why", async ({ headers, rcode }) => {
    expect((await dns(await post(q(), h(headers)))).rcode).toBe(rcode);
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
