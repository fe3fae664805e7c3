/**
 * @module The {@link ZoneStore} contract as data: zones and a table of lookups with the answers any store
 * must give. `store/memory-zone-store.test.ts` runs it against the in-memory store and `d1-store-contract.test.ts`
 * against the D1 store after ingesting the same zone text, so the two cannot drift apart.
 */
import { Name } from "../../dns/name.ts";
import type { ZoneStore } from "../zone-store.ts";

export const CONTRACT_ZONES = [
  {
    apex: "example.org.",
    text: `
$ORIGIN example.org.
@        SOA  ns hostmaster 1 7200 3600 1209600 300
@        NS   ns
ns       A    192.0.2.1
a.b.c    TXT  "deep"
WWW      A    192.0.2.80
*.w      A    192.0.2.99
z        A    192.0.2.26
sub      NS   ns.sub
ns.sub   A    192.0.2.53
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.org. NSEC3 1 1 10 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG
2vptu5timamqttgl4luu9kg21e0aor3s.example.org. NSEC3 1 1 10 aabbccdd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NS SOA RRSIG DNSKEY NSEC3PARAM
`,
  },
  {
    apex: "sub.example.org.",
    text: `
$ORIGIN sub.example.org.
@        SOA  ns hostmaster 1 7200 3600 1209600 300
@        NS   ns
ns       A    192.0.2.53
`,
  },
] as const;

export type ContractCase =
  | { why: string; op: "findZone"; name: string; expect: string | null }
  | { why: string; op: "node"; zone: string; name: string; expect: { owner: string; types: number[] } | null }
  | { why: string; op: "closestEncloser"; zone: string; name: string; expect: { name: string; hasNode: boolean } }
  | { why: string; op: "predecessor"; zone: string; name: string; expect: string | null }
  | { why: string; op: "nsec3Predecessor"; zone: string; name: string; expect: string | null };

const Z = "example.org.";
const H1 = "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.org.";
const H2 = "2vptu5timamqttgl4luu9kg21e0aor3s.example.org.";

export const CONTRACT_CASES: ContractCase[] = [
  { why: "the apex itself", op: "findZone", name: "example.org.", expect: "example.org." },
  { why: "a name below the apex", op: "findZone", name: "x.y.example.org.", expect: "example.org." },
  { why: "longest match picks the child zone", op: "findZone", name: "www.SUB.example.org.", expect: "sub.example.org." },
  { why: "case is ignored", op: "findZone", name: "EXAMPLE.ORG.", expect: "example.org." },
  { why: "outside every zone", op: "findZone", name: "example.net.", expect: null },
  { why: "a parent of a zone is outside", op: "findZone", name: "org.", expect: null },

  { why: "exact node, owner as stored", op: "node", zone: Z, name: "www.example.org.", expect: { owner: "WWW.example.org.", types: [1] } },
  { why: "exact node, apex", op: "node", zone: Z, name: "example.org.", expect: { owner: "example.org.", types: [2, 6] } },
  { why: "glue below a cut is a node too", op: "node", zone: Z, name: "ns.sub.example.org.", expect: { owner: "ns.sub.example.org.", types: [1] } },
  { why: "an empty non-terminal has no node", op: "node", zone: Z, name: "b.c.example.org.", expect: null },
  { why: "a missing name has no node", op: "node", zone: Z, name: "nope.example.org.", expect: null },
  { why: "NSEC3 owners are not in the main tree", op: "node", zone: Z, name: H1, expect: null },

  { why: "an existing name is its own encloser", op: "closestEncloser", zone: Z, name: "www.example.org.", expect: { name: "www.example.org.", hasNode: true } },
  { why: "an ENT is its own encloser, without node", op: "closestEncloser", zone: Z, name: "b.c.example.org.", expect: { name: "b.c.example.org.", hasNode: false } },
  { why: "below an ENT", op: "closestEncloser", zone: Z, name: "x.b.c.example.org.", expect: { name: "b.c.example.org.", hasNode: false } },
  { why: "below a leaf", op: "closestEncloser", zone: Z, name: "x.y.www.example.org.", expect: { name: "www.example.org.", hasNode: true } },
  { why: "sibling of everything: the apex", op: "closestEncloser", zone: Z, name: "m.example.org.", expect: { name: "example.org.", hasNode: true } },
  { why: "after the last name: the apex", op: "closestEncloser", zone: Z, name: "zz.example.org.", expect: { name: "example.org.", hasNode: true } },
  { why: "below a wildcard's parent (an ENT)", op: "closestEncloser", zone: Z, name: "q.w.example.org.", expect: { name: "w.example.org.", hasNode: false } },

  { why: "predecessor of a node (w sorts before www, RFC 4034 §6.1)", op: "predecessor", zone: Z, name: "z.example.org.", expect: "WWW.example.org." },
  { why: "predecessor of a name inside a subtree", op: "predecessor", zone: Z, name: "WWW.example.org.", expect: "*.w.example.org." },
  { why: "predecessor of a missing name", op: "predecessor", zone: Z, name: "m.example.org.", expect: "a.b.c.example.org." },
  { why: "predecessor skips ENTs (they own no NSEC)", op: "predecessor", zone: Z, name: "b.c.example.org.", expect: "example.org." },
  { why: "nothing before the apex", op: "predecessor", zone: Z, name: "example.org.", expect: null },
  { why: "after the last node", op: "predecessor", zone: Z, name: "zz.example.org.", expect: "z.example.org." },

  { why: "NSEC3 exact owner", op: "nsec3Predecessor", zone: Z, name: H2, expect: H2 },
  { why: "NSEC3 hash between the two", op: "nsec3Predecessor", zone: Z, name: "1000000000000000000000000000000.example.org.", expect: H1 },
  { why: "NSEC3 hash before the first wraps to the last", op: "nsec3Predecessor", zone: Z, name: "00000000000000000000000000000000.example.org.", expect: H2 },
  { why: "NSEC3 hash after the last", op: "nsec3Predecessor", zone: Z, name: "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv.example.org.", expect: H2 },
  { why: "no chain: null", op: "nsec3Predecessor", zone: "sub.example.org.", name: "00000000000000000000000000000000.sub.example.org.", expect: null },
];

/** Runs one case against `store`; returns what the store gave, in the case's `expect` shape. */
export async function runContractCase(store: ZoneStore, c: ContractCase): Promise<unknown> {
  if (c.op === "findZone") return (await store.findZone(Name.parse(c.name)))?.name.toString() ?? null;
  const zone = await store.findZone(Name.parse(c.zone));
  if (!zone) throw new Error(`zone ${c.zone} is not in the store`);
  const name = Name.parse(c.name);
  switch (c.op) {
    case "node": {
      const node = await store.node(zone, name);
      return node ? { owner: node.name.toString(), types: [...new Set(node.records.map((r) => r.type))].sort((a, b) => a - b) } : null;
    }
    case "closestEncloser": {
      const ce = await store.closestEncloser(zone, name);
      return { name: ce.name.toString(), hasNode: ce.node !== null };
    }
    case "predecessor":
      return (await store.predecessor(zone, name))?.name.toString() ?? null;
    case "nsec3Predecessor":
      return (await store.nsec3Predecessor(zone, name))?.name.toString() ?? null;
  }
}
