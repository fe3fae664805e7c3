/**
 * @module Catalog zones (RFC 9432) end to end, with knotd as the producer: knotd generates the catalog
 * from its member zones (`catalog-role: generate` / `member`, Knot 3.2), Backstop consumes it (the real
 * Worker under `wrangler dev` with real D1, the real service). A member added on knotd is served by
 * Backstop, and a member removed stops being served, after the catalog's NOTIFY; a group property picks its
 * template. The rules table (reset by a new unique id, change of ownership, a name hosted already, a
 * broken version) is `workers/store/catalog.test.ts`'s.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKnotd, type PeerHandle, type PeerOptions } from "../peers/index.ts";
import { knotdConfig } from "../peers/knotd.ts";
import { zoneFileName } from "../peers/zone-spec.ts";
import { soaSerialOf, startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const CATALOG = "catalog.invalid";
const member = (name: string, serial = 1) => `$ORIGIN ${name}.\n$TTL 300\n@ SOA ns1 hostmaster ${serial} 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.${serial}\n`;

let stack: LocalStack;
let knotd: PeerHandle;
let options: PeerOptions;

/** knotd's zones now: the generated catalog, and a member per name (b in group "gold"). */
function knotdZones(members: string[]): PeerOptions {
  return {
    zones: [
      { name: CATALOG, catalog: { role: "generate" }, notify: [`127.0.0.1:${stack.dnsPort}`] },
      ...members.map((name) => ({ name, text: member(name), catalog: { role: "member" as const, zone: CATALOG, ...(name.startsWith("b.") ? { group: "gold" } : {}) } })),
    ],
  };
}

/** Changes knotd's members as an operator would: the zone files, the configuration, `knotc reload`. */
async function setMembers(members: string[]): Promise<void> {
  options = knotdZones(members);
  for (const name of members) await writeFile(path.join(knotd.dir, zoneFileName(name)), member(name));
  await writeFile(path.join(knotd.dir, "knot.conf"), knotdConfig(options, knotd.dir, knotd.port));
  await knotd.reload();
}

const served = async (name: string): Promise<number | null> => {
  const answer = await stack.doh(name, "SOA");
  return answer.rcode === 0 && answer.answers.length > 0 ? soaSerialOf(answer) : null;
};

beforeAll(async () => {
  stack = await startLocalStack();
  options = knotdZones(["a.cat.test", "b.cat.test"]);
  knotd = await startKnotd(options);
  const created = await stack.api("POST", "/api/v1/zones", {
    name: CATALOG,
    model: "hidden",
    primaries: [{ address: "127.0.0.1", port: knotd.port }],
    notifyAllow: ["127.0.0.1/32"],
    catalog: true,
    catalogGroups: { gold: { model: "secondary" } },
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
}, 120_000);

afterAll(async () => {
  await knotd?.stop();
  await stack?.stop();
});

describe("a catalog produced by knotd", () => {
  it("provisions its members, each served with knotd's data, the group's template applied", async () => {
    for (const name of ["a.cat.test", "b.cat.test"]) await waitFor(`${name} served`, async () => (await served(name)) === 1, 60_000);
    const a = (await stack.api("GET", "/api/v1/zones/a.cat.test")).json;
    const b = (await stack.api("GET", "/api/v1/zones/b.cat.test")).json;
    expect(a).toMatchObject({ memberOf: CATALOG, model: "hidden", status: "active", primaries: [{ address: "127.0.0.1", port: knotd.port }] });
    expect(b).toMatchObject({ memberOf: CATALOG, model: "secondary", status: "active" });
    expect((await stack.api("GET", `/api/v1/zones/${CATALOG}`)).json.catalogReport).toMatchObject({ members: 2, error: null, problems: [] });
  });

  it("serves a member added on knotd, and stops serving one removed, after the catalog's NOTIFY", async () => {
    let started = Date.now();
    await setMembers(["a.cat.test", "b.cat.test", "c.cat.test"]);
    await waitFor("c.cat.test served", async () => (await served("c.cat.test")) === 1, 60_000);
    const addedMs = Date.now() - started;

    started = Date.now();
    await setMembers(["b.cat.test", "c.cat.test"]);
    await waitFor("a.cat.test no longer served", async () => (await stack.doh("a.cat.test", "SOA")).rcode === 5, 60_000);
    const removedMs = Date.now() - started;
    expect((await stack.api("GET", "/api/v1/zones/a.cat.test")).status).toBe(404);
    expect(await served("b.cat.test")).toBe(1);
    console.log(`catalog member added → served in ${addedMs} ms; removed → REFUSED in ${removedMs} ms`);
  });
});
