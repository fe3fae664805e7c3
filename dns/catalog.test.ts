/**
 * @module RFC 9432 catalog reading, as a table of catalog zone texts: members with their groups and coo
 * properties, and each way a catalog or a member is broken.
 */
import { describe, expect, it } from "vitest";
import { readCatalog, type CatalogNode } from "./catalog.ts";
import { Name } from "./name.ts";
import { parseZoneText } from "./zonefile/parser.ts";

const CAT = Name.parseAbsolute("catalog.invalid");
const HEAD = `$ORIGIN catalog.invalid.
$TTL 0
@ SOA invalid. invalid. 1 3600 600 2147483646 0
@ NS invalid.
`;

function read(body: string) {
  const nodes = new Map<string, CatalogNode & { records: Array<{ type: number; rdata: Uint8Array }> }>();
  for (const r of parseZoneText(HEAD + body, { origin: CAT })) {
    const node = nodes.get(r.name.key) ?? { name: r.name, records: [] };
    node.records.push({ type: r.type, rdata: r.rdata });
    nodes.set(r.name.key, node);
  }
  return readCatalog(CAT, nodes.values());
}

const summary = (body: string) => {
  const c = read(body);
  return c.ok ? { members: c.members.map((m) => `${m.zone}|${m.id}|${m.group ?? "-"}|${m.coo ?? "-"}`).sort(), problems: c.problems } : c.error;
};

describe("readCatalog (RFC 9432)", () => {
  it("members, a group and a change of ownership", () => {
    expect(
      summary(`version TXT "2"
a1.zones PTR Example.COM.
b2.zones PTR example.net.
group.b2.zones TXT "premium" "ignored"
coo.b2.zones PTR other.catalog.invalid.
c3.zones.other TXT "not a member: below a member's id"
`),
    ).toEqual({ members: ["example.com.|a1|-|-", "example.net.|b2|premium|other.catalog.invalid."], problems: [] });
  });

  it.each([
    ["no version property", `a1.zones PTR example.com.\n`, /no version property/],
    ["version 1", `version TXT "1"\na1.zones PTR example.com.\n`, /"1" is not "2"/],
    ["two versions", `version TXT "2"\nversion TXT "3"\n`, /2 version properties/],
  ])("a broken catalog is not applied at all: %s", (_name, body, error) => {
    const c = read(body);
    expect(c.ok).toBe(false);
    expect(c.ok ? "" : c.error).toMatch(error);
  });

  it("a member with two PTRs, or named under two ids, is ignored and said", () => {
    const c = summary(`version TXT "2"
a1.zones PTR one.test.
a1.zones PTR two.test.
b1.zones PTR dup.test.
b2.zones PTR dup.test.
c1.zones PTR fine.test.
group.c1.zones TXT "g1"
group.c1.zones TXT "g2"
`);
    expect(c).toEqual({
      members: ["fine.test.|c1|-|-"],
      problems: ["a1.zones: 2 PTR records; a member needs exactly one", "dup.test.: listed under 2 unique ids (b1, b2); ignored", "fine.test.: 2 group properties; none applied"],
    });
  });

  it("an empty catalog (version only) has no members", () => {
    expect(summary(`version TXT "2"\n`)).toEqual({ members: [], problems: [] });
  });
});
