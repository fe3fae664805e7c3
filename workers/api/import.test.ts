/**
 * @module `POST /api/v1/zones/:name/import` in workerd with real D1 (issue 22): a master file fills an
 * empty primary zone, a second one replaces its content in one commit and one serial step (counted added
 * and removed, the file's SOA timers taken but not its serial), `?dryRun=true` shows the difference and
 * commits nothing, `$GENERATE` expands, `$INCLUDE` is refused with its reason, and a file breaking a zone
 * rule or reaching outside the zone is a 400 naming `body`.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = "test-admin-token";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: string | object, contentType = "application/json"): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": contentType }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : undefined, text };
}
const importFile = (zone: string, text: string, query = "") => call("POST", `/api/v1/zones/${zone}/import${query}`, text, "text/dns");

const FIRST = `$TTL 300
@       IN SOA ns1 hostmaster 999 3600 600 604800 300
        IN NS  ns1
        IN NS  ns2.example.net.
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
        IN A   192.0.2.2
mail    IN MX  10 mx
$GENERATE 1-4 host$ A 198.51.100.$
`;

async function records(zone: string): Promise<string[]> {
  const res = await call("GET", `/api/v1/zones/${zone}/rrsets?limit=1000`);
  return (res.json.rrsets as Json[]).flatMap((r) => (r.records as string[]).map((d) => `${r.owner} ${r.ttl} ${r.type} ${d}`));
}

describe("zone-file import", () => {
  it("fills an empty primary zone, then replaces its content in one serial step", async () => {
    const empty = await call("POST", "/api/v1/zones", { name: "imp.example", model: "primary" });
    expect(empty.status).toBe(201);
    expect(empty.json.statusDetail).toMatch(/import a zone file/);
    const first = await importFile("imp.example", FIRST);
    expect(first.status, first.text).toBe(200);
    // 2 NS + ns1 + 2 www + MX + 4 generated; the SOA is not counted. The first serial is the policy's.
    expect(first.json).toMatchObject({ added: 10, removed: 0, changed: true, serial: 1, dryRun: false });
    expect(await records("imp.example")).toContain("host3.imp.example 300 A 198.51.100.3");
    expect((await call("GET", "/api/v1/zones/imp.example")).json).toMatchObject({ status: "active", statusDetail: "serving serial 1 (11 records), edited here" });

    const second = FIRST.replace("600 604800", "900 604800").replace("192.0.2.2", "192.0.2.3").replace("mail    IN MX  10 mx\n", "") + "new 60 IN TXT \"hello\"\n";
    const dry = await importFile("imp.example", second, "?dryRun=true");
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json).toMatchObject({ added: 2, removed: 2, changed: false, serial: 1, dryRun: true });
    expect(dry.json.difference.added.sort()).toEqual(['new.imp.example. 60 IN TXT "hello"', "www.imp.example. 300 IN A 192.0.2.3"]);
    expect(dry.json.difference.removed.sort()).toEqual(["mail.imp.example. 300 IN MX 10 mx.imp.example.", "www.imp.example. 300 IN A 192.0.2.2"]);
    expect((await call("GET", "/api/v1/zones/imp.example")).json.serial).toBe(1);

    const done = await importFile("imp.example", second);
    expect(done.json).toMatchObject({ added: 2, removed: 2, changed: true, serial: 2 });
    const soa = (await call("GET", "/api/v1/zones/imp.example/rrsets?limit=1000")).json.rrsets.find((r: Json) => r.type === "SOA");
    // The file's retry (900) is taken, its serial (999) is not.
    expect(soa.records).toEqual(["ns1.imp.example. hostmaster.imp.example. 2 3600 900 604800 300"]);
    const journal = await exports.default.fetch("http://backstop.test/internal/v1/zones/imp.example/journal?since=1", {
      headers: { authorization: `Bearer ${env.INTERNAL_TOKEN as string}` },
    });
    expect(((await journal.json()) as Json).changesets.map((cs: Json) => [cs.fromSerial, cs.toSerial])).toEqual([[1, 2]]);

    // The same file again: nothing to change, no serial step.
    expect((await importFile("imp.example", second)).json).toMatchObject({ added: 0, removed: 0, changed: false, serial: 2 });
  });

  it.each<[string, string, RegExp]>([
    ["$INCLUDE, with its reason", "$TTL 1\n$INCLUDE /etc/passwd\n", /line 2, column 0: \$INCLUDE is refused: an uploaded zone file cannot read other files/],
    ["a CNAME beside other data", FIRST + "www IN CNAME elsewhere.example.\n", /www\.bad\.example\. cannot hold a CNAME and other data/],
    ["a name outside the zone", FIRST + "www.other.example. IN A 192.0.2.9\n", /not in the zone/],
    ["no NS at the apex", FIRST.replace(/ {8}IN NS .*\n/g, ""), /needs an NS RRset/],
    ["two SOA records", FIRST + "@ IN SOA a b 1 2 3 4 5\n", /more than one SOA/],
    ["a bad record", "$TTL 1\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nx A 192.0.2.256\n", /line 4, column 4: .*not an IPv4 address/],
    ["a bad $GENERATE", "$TTL 1\n$GENERATE 9-1 a$ A 192.0.2.$\n", /line 2, column 10: \$GENERATE: the range 9-1 starts after it stops/],
  ])("refuses %s with a 400 naming body, and changes nothing", async (_why, text, message) => {
    if ((await call("GET", "/api/v1/zones/bad.example")).status === 404) {
      expect((await call("POST", "/api/v1/zones", { name: "bad.example", model: "primary" })).status).toBe(201);
    }
    const res = await importFile("bad.example", text);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field).toBe("body");
    expect(res.json.error.message).toMatch(message);
    expect((await call("GET", "/api/v1/zones/bad.example")).json.serial).toBeNull();
  });

  it("takes only text/dns (or text/plain), and only for a primary zone", async () => {
    expect((await call("POST", "/api/v1/zones", { name: "type.example", model: "primary" })).status).toBe(201);
    expect((await call("POST", "/api/v1/zones/type.example/import", { zone: "x" })).status).toBe(415);
    expect((await call("POST", "/api/v1/zones", { name: "sec2.example", primaries: [{ address: "192.0.2.9" }] })).status).toBe(201);
    expect((await importFile("sec2.example", FIRST)).status).toBe(409);
    expect((await importFile("type.example", FIRST, "?dryRun=maybe")).json.error.field).toBe("dryRun");
  });
});
