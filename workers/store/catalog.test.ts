/**
 * @module Catalog zones (RFC 9432) consumed in workerd with real D1: each version of a catalog, stored through
 * `/internal/v1` as the service stores a transfer, creates, updates and removes member zones; a group picks
 * its template, a new unique id resets a member, a coo lets another catalog take a member over, a name
 * hosted already is never taken, and a broken version changes nothing. A member's PATCH answers 409 unless it
 * detaches it.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import { decodeMessage } from "../../dns/message.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { encodeRecordStream } from "./record-stream.ts";

const INTERNAL = "test-internal-token";
const ADMIN = "test-admin-token";
const PRIMARY = { address: "127.0.0.1", port: 5300 };

async function call(method: string, path: string, body?: unknown, token = ADMIN): Promise<Response> {
  const binary = body instanceof Uint8Array;
  return exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": binary ? "application/octet-stream" : "application/json" }) },
    body: body === undefined ? undefined : binary ? body : JSON.stringify(body),
  });
}

async function json<T>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** Stores `body` (after the SOA with `serial`) as the catalog's new version, as a full transfer does. */
async function publish(catalog: string, serial: number, body: string): Promise<void> {
  const text = `$ORIGIN ${catalog}.\n$TTL 0\n@ SOA invalid. invalid. ${serial} 3600 600 2147483646 0\n@ NS invalid.\n${body}`;
  const records = parseZoneText(text, { origin: Name.parseAbsolute(catalog) });
  await json(call("POST", `/internal/v1/zones/${catalog}/lease`, { owner: "svc", ttlMs: 60_000 }, INTERNAL));
  const { version } = await json<{ version: number }>(call("POST", `/internal/v1/zones/${catalog}/ingest`, { owner: "svc" }, INTERNAL));
  await json(call("PUT", `/internal/v1/zones/${catalog}/ingest/${version}/chunks/0?owner=svc`, encodeRecordStream(records), INTERNAL));
  await json(call("POST", `/internal/v1/zones/${catalog}/ingest/${version}/commit`, { owner: "svc", serial }, INTERNAL));
  await json(call("POST", `/internal/v1/zones/${catalog}/lease/release`, { owner: "svc" }, INTERNAL));
}

interface View {
  name: string;
  model: string;
  primaries: Array<{ address: string; port: number }>;
  notifyAllow: string[];
  memberOf: string | null;
  refreshPending: boolean;
  catalogReport?: { members: number; created: number; removed: number; error: string | null; problems: string[] } | null;
}

const view = (name: string) => call("GET", `/api/v1/zones/${name}`);

describe("catalog zones (RFC 9432) as a consumer", () => {
  it("provisions members with the catalog's settings or their group's template, follows changes, removes members", async () => {
    await json(
      call("POST", "/api/v1/zones", {
        name: "cat1.invalid",
        model: "hidden",
        primaries: [PRIMARY],
        notifyAllow: ["127.0.0.0/8"],
        catalog: true,
        catalogGroups: { gold: { primaries: [{ address: "127.0.0.2", port: 5301 }], model: "secondary" } },
      }),
      201,
    );
    await publish("cat1.invalid", 1, `version TXT "2"\nm1.zones PTR one.member.test.\nm2.zones PTR two.member.test.\ngroup.m2.zones TXT "gold"\n`);
    const one = await json<View>(view("one.member.test"));
    expect(one).toMatchObject({ model: "hidden", primaries: [PRIMARY], notifyAllow: ["127.0.0.0/8"], memberOf: "cat1.invalid", refreshPending: true });
    const two = await json<View>(view("two.member.test"));
    expect(two).toMatchObject({ model: "secondary", primaries: [{ address: "127.0.0.2", port: 5301 }], memberOf: "cat1.invalid" });
    expect((await json<View>(view("cat1.invalid"))).catalogReport).toMatchObject({ members: 2, created: 2, removed: 0, error: null, problems: [] });

    // Version 2: two leaves its group, one is removed, three is added.
    await publish("cat1.invalid", 2, `version TXT "2"\nm2.zones PTR two.member.test.\nm3.zones PTR three.member.test.\n`);
    expect((await view("one.member.test")).status).toBe(404);
    expect(await json<View>(view("two.member.test"))).toMatchObject({ model: "hidden", primaries: [PRIMARY] });
    expect((await json<View>(view("three.member.test"))).memberOf).toBe("cat1.invalid");
    expect((await json<View>(view("cat1.invalid"))).catalogReport).toMatchObject({ members: 2, created: 1, removed: 1 });

    // A broken version property: nothing changes, and the report says why.
    await publish("cat1.invalid", 3, `version TXT "1"\n`);
    expect((await view("two.member.test")).status).toBe(200);
    expect((await json<View>(view("cat1.invalid"))).catalogReport?.error).toMatch(/"1" is not "2"/);

    // A member's settings are its catalog's: a PATCH is refused, unless it detaches the member.
    const refused = await call("PATCH", "/api/v1/zones/two.member.test", { notifyAllow: [] });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toMatch(/member of catalog cat1\.invalid.*memberOf/);
    expect((await json<View>(call("PATCH", "/api/v1/zones/two.member.test", { memberOf: null }))).memberOf).toBeNull();
    // Detached, it is an ordinary zone: the catalog no longer removes it, nor takes it back.
    await publish("cat1.invalid", 4, `version TXT "2"\nm2.zones PTR two.member.test.\n`);
    expect((await json<View>(view("two.member.test"))).memberOf).toBeNull();
    expect((await json<View>(view("cat1.invalid"))).catalogReport?.problems.join(" ")).toMatch(/two\.member\.test: a zone of that name is hosted here already/);
  });

  it("a new unique id resets the member; a name hosted already is left alone; coo moves a member", async () => {
    await json(call("POST", "/api/v1/zones", { name: "cat2.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await json(call("POST", "/api/v1/zones", { name: "cat3.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await json(call("POST", "/api/v1/zones", { name: "taken.member.test", primaries: [PRIMARY] }), 201);
    await publish("cat2.invalid", 1, `version TXT "2"\na.zones PTR moving.member.test.\nb.zones PTR taken.member.test.\nc.zones PTR reset.member.test.\n`);
    expect((await json<View>(view("taken.member.test"))).memberOf).toBeNull();
    expect((await json<View>(view("cat2.invalid"))).catalogReport?.problems).toEqual([
      "taken.member.test: a zone of that name is hosted here already and is not a member of a catalog; left as it is",
    ]);
    const before = await json<{ createdAt: string }>(view("reset.member.test"));

    // cat3 lists moving.member.test before cat2 offers it: refused.
    await publish("cat3.invalid", 1, `version TXT "2"\nx.zones PTR moving.member.test.\n`);
    expect((await json<View>(view("moving.member.test"))).memberOf).toBe("cat2.invalid");
    // cat2 offers it to cat3 (coo), and gives reset.member.test a new unique id.
    await publish("cat2.invalid", 2, `version TXT "2"\na.zones PTR moving.member.test.\ncoo.a.zones PTR cat3.invalid.\nd.zones PTR reset.member.test.\n`);
    const after = await json<{ createdAt: string; memberOf: string }>(view("reset.member.test"));
    expect(after.memberOf).toBe("cat2.invalid");
    expect(after.createdAt > before.createdAt, "re-created: a new row").toBe(true);
    // cat3's next version claims it.
    await publish("cat3.invalid", 2, `version TXT "2"\nx.zones PTR moving.member.test.\n`);
    expect((await json<View>(view("moving.member.test"))).memberOf).toBe("cat3.invalid");
    // cat2 no longer lists it: it stays with cat3.
    await publish("cat2.invalid", 3, `version TXT "2"\nd.zones PTR reset.member.test.\n`);
    expect((await json<View>(view("moving.member.test"))).memberOf).toBe("cat3.invalid");
  });

  it("refuses a primary catalog and templates on a zone that is no catalog, naming the field", async () => {
    const primary = await call("POST", "/api/v1/zones", { name: "pcat.invalid", model: "primary", catalog: true });
    expect(primary.status).toBe(400);
    expect(((await primary.json()) as { error: { field: string } }).error.field).toBe("catalog");
    await json(call("POST", "/api/v1/zones", { name: "plain.test", primaries: [PRIMARY] }), 201);
    const patch = await call("PATCH", "/api/v1/zones/plain.test", { catalogGroups: {} });
    expect(patch.status).toBe(400);
    expect(((await patch.json()) as { error: { field: string } }).error.field).toBe("catalogGroups");
  });

  it("deleting a catalog deletes its members, and only them (RFC 9432 §5.2); the service is told by the feed", async () => {
    await json(call("POST", "/api/v1/zones", { name: "cat4.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await json(call("POST", "/api/v1/zones", { name: "cat5.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await json(call("POST", "/api/v1/zones", { name: "own4.member.test", primaries: [PRIMARY] }), 201);
    await publish("cat4.invalid", 1, `version TXT "2"\na.zones PTR a4.member.test.\nb.zones PTR b4.member.test.\nc.zones PTR own4.member.test.\n`);
    await publish("cat5.invalid", 1, `version TXT "2"\na.zones PTR c5.member.test.\n`);
    expect((await json<View>(view("a4.member.test"))).memberOf).toBe("cat4.invalid");
    const feed = await json<{ cursor: { since: number; deletes: number } }>(call("GET", "/internal/v1/zones?since=0", undefined, INTERNAL));

    expect((await call("DELETE", "/api/v1/zones/cat4.invalid")).status).toBe(204);
    expect((await view("a4.member.test")).status).toBe(404);
    expect((await view("b4.member.test")).status).toBe(404);
    // A zone created through the API that the catalog listed, and another catalog's member, stay.
    expect((await json<View>(view("own4.member.test"))).memberOf).toBeNull();
    expect((await json<View>(view("c5.member.test"))).memberOf).toBe("cat5.invalid");
    const after = await json<{ deleted: string[] }>(call("GET", `/internal/v1/zones?since=${feed.cursor.since}&deletes=${feed.cursor.deletes}`, undefined, INTERNAL));
    expect(after.deleted.sort()).toEqual(["a4.member.test", "b4.member.test", "cat4.invalid"]);

    // The bulk delete does the same, and counts the names it was given.
    expect(await json(call("POST", "/api/v1/zones/bulk", { delete: ["cat5.invalid"] }))).toEqual({ deleted: 1 });
    expect((await view("c5.member.test")).status).toBe(404);
    expect((await view("own4.member.test")).status).toBe(200);
  });

  it("PATCH {\"catalog\": false} ends a catalog: its members go with their data, as BIND and Knot remove them; a detached one stays", async () => {
    await json(call("POST", "/api/v1/zones", { name: "cat7.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await publish("cat7.invalid", 1, `version TXT "2"\na.zones PTR a7.member.test.\nb.zones PTR b7.member.test.\nc.zones PTR kept7.member.test.\n`);
    await publish("a7.member.test", 1, `www A 192.0.2.7\n`);
    expect((await json<View>(call("PATCH", "/api/v1/zones/kept7.member.test", { memberOf: null }))).memberOf).toBeNull();
    const feed = await json<{ cursor: { since: number; deletes: number } }>(call("GET", "/internal/v1/zones?since=0", undefined, INTERNAL));

    const ended = await json<View & { catalog: boolean }>(call("PATCH", "/api/v1/zones/cat7.invalid", { catalog: false }));
    expect(ended.catalog).toBe(false);
    expect(ended).not.toHaveProperty("catalogReport");
    expect((await view("a7.member.test")).status).toBe(404);
    expect((await view("b7.member.test")).status).toBe(404);
    expect((await json<View>(view("kept7.member.test"))).memberOf).toBeNull();
    // The service learns it from the feed, as for any deleted zone.
    const after = await json<{ deleted: string[] }>(call("GET", `/internal/v1/zones?since=${feed.cursor.since}&deletes=${feed.cursor.deletes}`, undefined, INTERNAL));
    expect(after.deleted.sort()).toEqual(["a7.member.test", "b7.member.test"]);
    // No longer a catalog: a new version of it provisions nothing.
    await publish("cat7.invalid", 2, `version TXT "2"\nd.zones PTR d7.member.test.\n`);
    expect((await view("d7.member.test")).status).toBe(404);
    // A zone becomes a catalog only when created: 400 naming the field.
    const refused = await call("PATCH", "/api/v1/zones/cat7.invalid", { catalog: true });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { field: string } }).error.field).toBe("catalog");
  });

  it("a catalog is answered to no one but the admin token (REFUSED); its members are answered as usual", async () => {
    await json(call("POST", "/api/v1/zones", { name: "cat6.invalid", primaries: [PRIMARY], catalog: true }), 201);
    await publish("cat6.invalid", 1, `version TXT "2"\na.zones PTR m6.member.test.\n`);
    await publish("m6.member.test", 1, `www A 192.0.2.6\n`);
    const ask = async (qname: string, qtype: string, headers: Record<string, string> = {}) => {
      const res = await exports.default.fetch("http://backstop.test/dns-query", {
        method: "POST",
        headers: { "content-type": "application/dns-message", accept: "application/dns-message", ...headers },
        body: queryWire(qname, qtype, { edns: false }),
      });
      const msg = decodeMessage(new Uint8Array(await res.arrayBuffer()));
      return { rcode: msg.rcode, answers: msg.answers.length };
    };
    expect(await ask("version.cat6.invalid.", "TXT")).toEqual({ rcode: 5, answers: 0 });
    expect(await ask("a.zones.cat6.invalid.", "PTR", { "cf-connecting-ip": "192.0.2.9" })).toEqual({ rcode: 5, answers: 0 });
    expect(await ask("version.cat6.invalid.", "TXT", { authorization: `Bearer ${ADMIN}` })).toEqual({ rcode: 0, answers: 1 });
    expect(await ask("www.m6.member.test.", "A")).toEqual({ rcode: 0, answers: 1 });
  });
});
