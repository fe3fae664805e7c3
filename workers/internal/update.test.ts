/**
 * @module `POST /internal/v1/zones/:zone/update` in workerd with real D1 (issue 22): RFC 2136 §3.4.2 as a
 * table over a primary zone. What the RFC says to ignore is ignored (NOERROR, no serial step): an SOA
 * addition, deleting the apex SOA or NS RRset, deleting the last apex NS, a CNAME beside data and data
 * beside a CNAME; class ANY/NONE deletions and additions do what they say, in one serial step per message;
 * a prerequisite failing stops the whole message; a secondary zone is REFUSED; the prescan's FORMERR.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { RRClass, RRType, Rcode } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { rdataFromText } from "../../dns/rdata/index.ts";

const ADMIN = "test-admin-token";
const ZONE = "upd.example";
const origin = Name.parseAbsolute(ZONE);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body: unknown, token: string): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : undefined, text };
}

type RR = [owner: string, type: number, cls: number, ttl: number, data: string];
const wire = ([owner, type, cls, ttl, data]: RR) => ({
  name: `${owner === "@" ? "" : `${owner}.`}${ZONE}.`,
  type,
  class: cls,
  ttl,
  rdata: btoa(String.fromCharCode(...(data === "" ? new Uint8Array(0) : rdataFromText(type, data, origin)))),
});
const update = (updates: RR[], prerequisites: RR[] = [], zone = ZONE) =>
  call("POST", `/internal/v1/zones/${zone}/update`, { prerequisites: prerequisites.map(wire), updates: updates.map(wire), client: "test" }, env.INTERNAL_TOKEN as string);
const serial = async () => (await call("GET", `/api/v1/zones/${ZONE}`, undefined, ADMIN)).json.serial as number;
const rrsets = async () =>
  ((await call("GET", `/api/v1/zones/${ZONE}/rrsets`, undefined, ADMIN)).json.rrsets as Json[]).map((r) => `${r.owner} ${r.type} ${(r.records as string[]).join(",")}`);

const { IN, ANY, NONE } = RRClass;

beforeAll(async () => {
  const created = await call("POST", "/api/v1/zones", {
    name: ZONE,
    model: "primary",
    soa: { mname: "ns1", rname: "hostmaster" },
    nameservers: ["ns1", "ns2"],
  }, ADMIN);
  expect(created.status, created.text).toBe(201);
});

describe("RFC 2136 §3.4.2 through the internal route", () => {
  it.each<[string, RR[], number, boolean]>([
    ["an SOA addition is ignored", [["@", RRType.SOA, IN, 60, "a. b. 99 1 2 3 4"]], Rcode.NOERROR, false],
    ["deleting the apex SOA RRset is ignored", [["@", RRType.SOA, ANY, 0, ""]], Rcode.NOERROR, false],
    ["deleting the apex NS RRset is ignored", [["@", RRType.NS, ANY, 0, ""]], Rcode.NOERROR, false],
    ["deleting everything at the apex keeps SOA and NS", [["@", RRType.ANY, ANY, 0, ""]], Rcode.NOERROR, false],
    ["an A record is added", [["www", RRType.A, IN, 60, "192.0.2.1"]], Rcode.NOERROR, true],
    ["a CNAME beside the A is ignored", [["www", RRType.CNAME, IN, 60, "elsewhere.example."]], Rcode.NOERROR, false],
    ["a CNAME elsewhere is added", [["alias", RRType.CNAME, IN, 60, "www"]], Rcode.NOERROR, true],
    ["data beside that CNAME is ignored", [["alias", RRType.TXT, IN, 60, '"x"']], Rcode.NOERROR, false],
    ["a second CNAME replaces the first", [["alias", RRType.CNAME, IN, 60, "ns1"]], Rcode.NOERROR, true],
    ["one of two apex NS is deleted", [["@", RRType.NS, NONE, 0, "ns2"]], Rcode.NOERROR, true],
    ["the last apex NS is kept", [["@", RRType.NS, NONE, 0, "ns1"]], Rcode.NOERROR, false],
    ["a record we do not hold deletes nothing", [["www", RRType.A, NONE, 0, "192.0.2.99"]], Rcode.NOERROR, false],
    ["an add and a delete in one message are one step", [["www", RRType.A, NONE, 0, "192.0.2.1"], ["www", RRType.AAAA, IN, 60, "2001:db8::1"]], Rcode.NOERROR, true],
    ["a class ANY deletion with rdata is FORMERR", [["www", RRType.AAAA, ANY, 0, "2001:db8::1"]], Rcode.FORMERR, false],
    ["a class NONE deletion with a TTL is FORMERR", [["www", RRType.AAAA, NONE, 60, "2001:db8::1"]], Rcode.FORMERR, false],
    ["an RRSIG is REFUSED (Backstop does not sign)", [["www", RRType.RRSIG, IN, 60, "A 8 3 60 20300101000000 20200101000000 1 upd.example. AAAA"]], Rcode.REFUSED, false],
  ])("%s", async (_why, updates, rcode, steps) => {
    const before = await serial();
    const res = await update(updates);
    expect(res.status, res.text).toBe(200);
    expect(res.json.rcode, res.text).toBe(rcode);
    expect(await serial()).toBe(steps ? before + 1 : before);
    expect((await rrsets()).filter((r) => r.startsWith(`${ZONE} SOA`))).toHaveLength(1);
  });

  it("a failing prerequisite stops the whole message", async () => {
    const before = await serial();
    const res = await update([["gone", RRType.A, IN, 60, "192.0.2.5"]], [["www", RRType.A, ANY, 0, ""]]);
    expect(res.json.rcode).toBe(Rcode.NXRRSET);
    expect(await serial()).toBe(before);
    expect((await rrsets()).some((r) => r.startsWith("gone."))).toBe(false);
  });

  it("the final state is what the table applied, in order", async () => {
    expect(await rrsets()).toEqual([
      `${ZONE} NS ns1.${ZONE}.`,
      expect.stringMatching(new RegExp(`^${ZONE} SOA ns1\\.${ZONE}\\. hostmaster\\.${ZONE}\\. \\d+ `)),
      `alias.${ZONE} CNAME ns1.${ZONE}.`,
      `www.${ZONE} AAAA 2001:db8::1`,
    ]);
  });

  it("REFUSES a secondary zone and 404s an unknown one", async () => {
    expect((await call("POST", "/api/v1/zones", { name: "sec.upd.test", primaries: [{ address: "192.0.2.9" }] }, ADMIN)).status).toBe(201);
    expect((await update([["www", RRType.A, IN, 60, "192.0.2.1"]], [], "sec.upd.test")).json.rcode).toBe(Rcode.REFUSED);
    expect((await update([], [], "nowhere.example")).status).toBe(404);
  });
});
