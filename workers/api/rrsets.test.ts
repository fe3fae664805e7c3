/**
 * @module Primary zones through `/api/v1` in workerd with real D1 (issue 22): created with an SOA and NS,
 * edited by RRset (PUT, DELETE, PATCH batch), each change one serial step and one journal entry that IXFR
 * out serves (`/internal/v1/zones/:zone/journal`), DoH answering the new data at once; the zone-rule table
 * (CNAME and other data, the apex SOA and NS, out-of-zone names, bad rdata naming the record's index);
 * the paginated GET; and two edits racing on one zone leaving one consistent result and two serial steps.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "../../dns/message.ts";
import { RRType, typeToString } from "../../dns/constants.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { rdataToText } from "../../dns/rdata/index.ts";

const ADMIN = "test-admin-token";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : undefined, text };
}

const primary = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  model: "primary",
  soa: { mname: "ns1", rname: "hostmaster", refresh: 3600, retry: 600, expire: 604800, minimum: 300 },
  nameservers: ["ns1", "ns2.example.net."],
  ...extra,
});

/** The answer section of a DoH query, as presentation text per record. */
async function doh(qname: string, qtype: number): Promise<{ rcode: number; answers: string[] }> {
  const query = queryWire(qname, typeToString(qtype), { edns: false });
  const res = await exports.default.fetch("http://backstop.test/dns-query", {
    method: "POST",
    headers: { "content-type": "application/dns-message", accept: "application/dns-message" },
    body: query,
  });
  const msg = decodeMessage(new Uint8Array(await res.arrayBuffer()));
  return { rcode: msg.rcode, answers: msg.answers.filter((a) => a.type === qtype).map((a) => rdataToText(a.type, a.rdata)) };
}

describe("primary zones: create and edit by RRset", () => {
  it("creates a primary zone with its SOA and NS, serial 1 under the increment policy", async () => {
    const created = await call("POST", "/api/v1/zones", primary("create.example"));
    expect(created.status, created.text).toBe(201);
    expect(created.json.serial).toBe(1);
    expect(created.json.model).toBe("primary");
    const soa = await doh("create.example", RRType.SOA);
    expect(soa.answers).toEqual(["ns1.create.example. hostmaster.create.example. 1 3600 600 604800 300"]);
    expect((await doh("create.example", RRType.NS)).answers.sort()).toEqual(["ns1.create.example.", "ns2.example.net."]);
  });

  it("PUT, DELETE and PATCH: one serial step and one journal entry each, answered by DoH at once", async () => {
    expect((await call("POST", "/api/v1/zones", primary("edit.example"))).status).toBe(201);
    const put = await call("PUT", "/api/v1/zones/edit.example/rrsets/www/A", { ttl: 300, records: ["192.0.2.1", "192.0.2.2"] });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ changed: true, serial: 2 });
    expect((await doh("www.edit.example", RRType.A)).answers.sort()).toEqual(["192.0.2.1", "192.0.2.2"]);

    // The same PUT again changes nothing: no commit, no serial step.
    const again = await call("PUT", "/api/v1/zones/edit.example/rrsets/www.edit.example./A", { ttl: 300, records: ["192.0.2.2", "192.0.2.1"] });
    expect(again.json).toMatchObject({ changed: false, serial: 2 });

    const patch = await call("PATCH", "/api/v1/zones/edit.example/rrsets", {
      rrsets: [
        { owner: "www", type: "A", changetype: "replace", ttl: 60, records: ["192.0.2.3"] },
        { owner: "@", type: "MX", ttl: 300, records: ["10 mail"] },
        { owner: "mail", type: "AAAA", ttl: 300, records: ["2001:db8::25"] },
      ],
    });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.json.serial).toBe(3);
    expect((await doh("www.edit.example", RRType.A)).answers).toEqual(["192.0.2.3"]);
    expect((await doh("edit.example", RRType.MX)).answers).toEqual(["10 mail.edit.example."]);

    const del = await call("DELETE", "/api/v1/zones/edit.example/rrsets/www/A");
    expect(del.json).toMatchObject({ changed: true, serial: 4 });
    expect((await doh("www.edit.example", RRType.A)).rcode).toBe(3);

    // The journal holds one step per change, 1 → 2 → 3 → 4, for IXFR out.
    const journal = await call("GET", "/internal/v1/zones/edit.example/journal?since=1", undefined, env.INTERNAL_TOKEN as string);
    expect(journal.status, journal.text).toBe(200);
    const steps = (journal.json.changesets as Json[]).map((cs) => [cs.fromSerial, cs.toSerial]);
    expect(steps).toEqual([[1, 2], [2, 3], [3, 4]]);
  });

  it("pages the RRsets in canonical order with a cursor", async () => {
    expect((await call("POST", "/api/v1/zones", primary("page.example"))).status).toBe(201);
    const rrsets = Array.from({ length: 7 }, (_, i) => ({ owner: `h${i}`, type: "A", ttl: 60, records: [`192.0.2.${i + 1}`] }));
    expect((await call("PATCH", "/api/v1/zones/page.example/rrsets", { rrsets })).status).toBe(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { json: Json } = await call("GET", `/api/v1/zones/page.example/rrsets?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...(page.json.rrsets as Json[]).map((r) => `${r.owner}/${r.type}`));
      cursor = page.json.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    // apex SOA and NS, then h0..h6: 9 RRsets, each once.
    expect(seen).toEqual(["page.example/NS", "page.example/SOA", ...Array.from({ length: 7 }, (_, i) => `h${i}.page.example/A`)]);
    expect(pages).toBe(3);
    expect((await call("GET", "/api/v1/zones/page.example/rrsets?cursor=nonsense")).json.error.field).toBe("cursor");
  });
});

describe("primary zones: the zone rules", () => {
  it.each<[string, string, string, unknown, string, RegExp]>([
    ["bad IPv4 rdata names the record's index", "PUT", "/rrsets/www/A", { ttl: 60, records: ["192.0.2.1", "192.0.2.300"] }, "records.1", /records\.1: "192\.0\.2\.300" is not an IPv4 address/],
    ["an out-of-zone owner", "PUT", "/rrsets/www.other.example./A", { ttl: 60, records: ["192.0.2.1"] }, "owner", /not in the zone/],
    ["the apex SOA", "PUT", "/rrsets/@/SOA", { ttl: 60, records: ["a. b. 1 2 3 4 5"] }, "type", /serialPolicy/],
    ["a CNAME beside other data", "PUT", "/rrsets/ns1/CNAME", { ttl: 60, records: ["elsewhere.example."] }, "records", /CNAME and other data/],
    ["a CNAME at the apex", "PUT", "/rrsets/@/CNAME", { ttl: 60, records: ["elsewhere.example."] }, "records", /CNAME and other data/],
    ["two CNAME records", "PUT", "/rrsets/alias/CNAME", { ttl: 60, records: ["a.example.", "b.example."] }, "records", /one record/],
    ["deleting the apex NS", "DELETE", "/rrsets/@/NS", undefined, "type", /needs an NS RRset/],
    ["emptying the apex NS in a batch", "PATCH", "/rrsets", { rrsets: [{ owner: "@", type: "NS", changetype: "delete" }] }, "rrsets.0", /needs an NS RRset/],
    ["a batch's bad record", "PATCH", "/rrsets", { rrsets: [{ owner: "a", type: "A", ttl: 1, records: ["192.0.2.1"] }, { owner: "b", type: "MX", ttl: 1, records: ["mail"] }] }, "rrsets.1.records.0", /rrsets\.1\.records\.0/],
    ["an RRSIG (Backstop does not sign)", "PUT", "/rrsets/www/RRSIG", { ttl: 60, records: ["A 8 3 60 20300101000000 20200101000000 1 rules.example. AAAA"] }, "records", /signer/],
    ["an unknown type", "PUT", "/rrsets/www/NOPE", { ttl: 60, records: ["x"] }, "type", /not a record type/],
  ])("refuses %s with a 400 naming the field", async (_why, method, path, body, field, message) => {
    if ((await call("GET", "/api/v1/zones/rules.example")).status === 404) {
      expect((await call("POST", "/api/v1/zones", primary("rules.example"))).status).toBe(201);
      expect((await call("PUT", "/api/v1/zones/rules.example/rrsets/ns1/A", { ttl: 60, records: ["192.0.2.53"] })).status).toBe(200);
    }
    const before = (await call("GET", "/api/v1/zones/rules.example")).json.serial;
    const res = await call(method, `/api/v1/zones/rules.example${path}`, body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field, res.text).toBe(field);
    expect(res.json.error.message).toMatch(message);
    expect((await call("GET", "/api/v1/zones/rules.example")).json.serial).toBe(before);
  });

  it("refuses edits of a secondary zone and a primary zone with primaries", async () => {
    expect((await call("POST", "/api/v1/zones", { name: "sec.example", primaries: [{ address: "192.0.2.9" }] })).status).toBe(201);
    const res = await call("PUT", "/api/v1/zones/sec.example/rrsets/www/A", { ttl: 60, records: ["192.0.2.1"] });
    expect(res.status).toBe(409);
    const bad = await call("POST", "/api/v1/zones", { ...primary("withprim.example"), primaries: [{ address: "192.0.2.9" }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("primaries");
    const half = await call("POST", "/api/v1/zones", { name: "half.example", model: "primary", nameservers: ["ns1"] });
    expect(half.json.error.field).toBe("soa");
  });
});

describe("primary zones: concurrent edits", () => {
  it("two PUTs racing on one RRset leave one of them whole and two serial steps", async () => {
    expect((await call("POST", "/api/v1/zones", primary("race.example"))).status).toBe(201);
    const [a, b] = await Promise.all([
      call("PUT", "/api/v1/zones/race.example/rrsets/www/A", { ttl: 60, records: ["192.0.2.10", "192.0.2.11"] }),
      call("PUT", "/api/v1/zones/race.example/rrsets/www/A", { ttl: 60, records: ["198.51.100.20"] }),
    ]);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    expect([a.json.serial, b.json.serial].sort()).toEqual([2, 3]);
    const last = a.json.serial === 3 ? ["192.0.2.10", "192.0.2.11"] : ["198.51.100.20"];
    expect((await doh("www.race.example", RRType.A)).answers.sort()).toEqual(last);
    expect((await call("GET", "/api/v1/zones/race.example")).json.serial).toBe(3);
  });
});
