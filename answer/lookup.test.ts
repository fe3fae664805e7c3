/**
 * Table tests of RFC 1034 §4.3.2 over one zone, one row per rule (the CoreDNS `file` plugin's style): exact
 * match, CNAME chains and their guards, DNAME, wildcards and the empty non-terminals that block them,
 * delegations with glue, NODATA vs NXDOMAIN with the negative TTL, additional-section processing, ANY, and the
 * query name's case.
 */
import { describe, expect, it } from "vitest";
import { actual, expected, run, type Row } from "./testing/table.ts";
import { storeOf } from "./testing/load-zone.ts";

const ZONE = `
$ORIGIN example.org.
$TTL 3600
@         IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@         IN NS  ns1
@         IN NS  ns2.example.net.
@         IN MX  10 mail
ns1       IN A    192.0.2.1
ns1       IN AAAA 2001:db8::1
mail      IN A    192.0.2.25
www   600 IN A    192.0.2.80
www   600 IN AAAA 2001:db8::80
alias     IN CNAME www
alias2    IN CNAME alias
outside   IN CNAME www.example.com.
dangling  IN CNAME nothing.www
empty     IN CNAME b.c
loop1     IN CNAME loop2
loop2     IN CNAME loop1
_sip._tcp IN SRV 0 5 5060 sip
sip       IN A    192.0.2.50
a.b.c     IN TXT  "deep"
*         IN TXT  "wild"
*.w       IN A    192.0.2.99
*.cw      IN CNAME www
tocut     IN CNAME host.sub
sub       IN NS   ns.sub
sub       IN NS   ns.example.net.
sub       IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub    IN A    192.0.2.53
dn    900 IN DNAME example.net.
dn2       IN DNAME in
x.in      IN A    192.0.2.7
unknown   IN TYPE65280 \\# 3 abcdef
`;

const store = storeOf({ apex: "example.org.", text: ZONE });

const SOA_NEG = "example.org. 300 SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300";
const WWW = ["www.example.org. 600 A 192.0.2.80"];

const rows: Row[] = [
  // Exact match (step 3.a)
  { why: "exact A", qname: "www.example.org.", qtype: "A", rcode: "NOERROR", aa: true, answer: WWW },
  { why: "exact AAAA", qname: "www.example.org.", qtype: "AAAA", rcode: "NOERROR", answer: ["www.example.org. 600 AAAA 2001:db8::80"] },
  {
    why: "unknown type carried as is (RFC 3597)",
    qname: "unknown.example.org.",
    qtype: "TYPE65280",
    rcode: "NOERROR",
    answer: ["unknown.example.org. 3600 TYPE65280 \\# 3 ABCDEF"],
  },
  {
    why: "apex SOA",
    qname: "example.org.",
    qtype: "SOA",
    rcode: "NOERROR",
    aa: true,
    answer: ["example.org. 3600 SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300"],
  },
  // Additional-section processing (step 6)
  {
    why: "apex NS: in-zone server's addresses in additional, out-of-zone not",
    qname: "example.org.",
    qtype: "NS",
    rcode: "NOERROR",
    aa: true,
    answer: ["example.org. 3600 NS ns1.example.org.", "example.org. 3600 NS ns2.example.net."],
    extra: ["ns1.example.org. 3600 A 192.0.2.1", "ns1.example.org. 3600 AAAA 2001:db8::1"],
  },
  { why: "MX target address", qname: "example.org.", qtype: "MX", rcode: "NOERROR", answer: ["example.org. 3600 MX 10 mail.example.org."], extra: ["mail.example.org. 3600 A 192.0.2.25"] },
  {
    why: "SRV target address",
    qname: "_sip._tcp.example.org.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: ["_sip._tcp.example.org. 3600 SRV 0 5 5060 sip.example.org."],
    extra: ["sip.example.org. 3600 A 192.0.2.50"],
  },
  // Negative answers (RFC 2308): SOA with TTL min(3600, 300)
  { why: "NODATA at an existing name", qname: "www.example.org.", qtype: "MX", rcode: "NOERROR", aa: true, ns: [SOA_NEG] },
  { why: "NXDOMAIN below a name with no wildcard", qname: "nope.www.example.org.", qtype: "A", rcode: "NXDOMAIN", aa: true, ns: [SOA_NEG] },
  { why: "empty non-terminal is NODATA, not NXDOMAIN", qname: "b.c.example.org.", qtype: "A", rcode: "NOERROR", aa: true, ns: [SOA_NEG] },
  { why: "empty non-terminal one level up", qname: "c.example.org.", qtype: "TXT", rcode: "NOERROR", ns: [SOA_NEG] },
  // CNAME (step 3.a) and chains
  { why: "CNAME followed in zone", qname: "alias.example.org.", qtype: "A", rcode: "NOERROR", aa: true, answer: ["alias.example.org. 3600 CNAME www.example.org.", ...WWW] },
  {
    why: "two-step chain",
    qname: "alias2.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["alias2.example.org. 3600 CNAME alias.example.org.", "alias.example.org. 3600 CNAME www.example.org.", ...WWW],
  },
  { why: "QTYPE CNAME is not followed", qname: "alias.example.org.", qtype: "CNAME", rcode: "NOERROR", answer: ["alias.example.org. 3600 CNAME www.example.org."] },
  { why: "target outside the zone left to the resolver", qname: "outside.example.org.", qtype: "A", rcode: "NOERROR", aa: true, answer: ["outside.example.org. 3600 CNAME www.example.com."] },
  { why: "dangling target: NXDOMAIN for the last name (RFC 6604)", qname: "dangling.example.org.", qtype: "A", rcode: "NXDOMAIN", aa: true, answer: ["dangling.example.org. 3600 CNAME nothing.www.example.org."], ns: [SOA_NEG] },
  { why: "target is an empty non-terminal: NODATA", qname: "empty.example.org.", qtype: "A", rcode: "NOERROR", answer: ["empty.example.org. 3600 CNAME b.c.example.org."], ns: [SOA_NEG] },
  { why: "target with no data of the type: NODATA with the CNAME", qname: "alias.example.org.", qtype: "MX", rcode: "NOERROR", answer: ["alias.example.org. 3600 CNAME www.example.org."], ns: [SOA_NEG] },
  {
    why: "loop stops at the repeated name",
    qname: "loop1.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["loop1.example.org. 3600 CNAME loop2.example.org.", "loop2.example.org. 3600 CNAME loop1.example.org."],
  },
  {
    why: "chain into a delegation ends in a referral",
    qname: "tocut.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["tocut.example.org. 3600 CNAME host.sub.example.org."],
    ns: ["sub.example.org. 3600 NS ns.sub.example.org.", "sub.example.org. 3600 NS ns.example.net."],
    extra: ["ns.sub.example.org. 3600 A 192.0.2.53"],
  },
  // Wildcards (RFC 4592)
  { why: "wildcard synthesizes with the query name as owner", qname: "nothere.example.org.", qtype: "TXT", rcode: "NOERROR", aa: true, answer: ['nothere.example.org. 3600 TXT "wild"'] },
  { why: "wildcard without the type: NODATA", qname: "nothere.example.org.", qtype: "A", rcode: "NOERROR", aa: true, ns: [SOA_NEG] },
  { why: "wildcard matches several labels", qname: "a.b.w.example.org.", qtype: "A", rcode: "NOERROR", answer: ["a.b.w.example.org. 3600 A 192.0.2.99"] },
  { why: "an existing name is not wildcard-matched", qname: "www.example.org.", qtype: "TXT", rcode: "NOERROR", ns: [SOA_NEG] },
  { why: "empty non-terminal blocks the apex wildcard", qname: "x.c.example.org.", qtype: "TXT", rcode: "NXDOMAIN", ns: [SOA_NEG] },
  { why: "below an existing name, the apex wildcard does not reach", qname: "x.www.example.org.", qtype: "TXT", rcode: "NXDOMAIN", ns: [SOA_NEG] },
  { why: "wildcard CNAME is followed", qname: "q.cw.example.org.", qtype: "A", rcode: "NOERROR", answer: ["q.cw.example.org. 3600 CNAME www.example.org.", ...WWW] },
  { why: "the wildcard itself asked for", qname: "*.w.example.org.", qtype: "A", rcode: "NOERROR", answer: ["*.w.example.org. 3600 A 192.0.2.99"] },
  // Delegations (step 3.b)
  {
    why: "referral: AA=0, NS in authority, glue in additional",
    qname: "www.sub.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    aa: false,
    ns: ["sub.example.org. 3600 NS ns.sub.example.org.", "sub.example.org. 3600 NS ns.example.net."],
    extra: ["ns.sub.example.org. 3600 A 192.0.2.53"],
  },
  {
    why: "at the cut, any type but DS is a referral",
    qname: "sub.example.org.",
    qtype: "NS",
    rcode: "NOERROR",
    aa: false,
    ns: ["sub.example.org. 3600 NS ns.sub.example.org.", "sub.example.org. 3600 NS ns.example.net."],
    extra: ["ns.sub.example.org. 3600 A 192.0.2.53"],
  },
  {
    why: "glue is not answered authoritatively",
    qname: "ns.sub.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    aa: false,
    ns: ["sub.example.org. 3600 NS ns.sub.example.org.", "sub.example.org. 3600 NS ns.example.net."],
    extra: ["ns.sub.example.org. 3600 A 192.0.2.53"],
  },
  {
    why: "DS at the cut is the parent's, answered with AA (RFC 4035 §3.1.4.1)",
    qname: "sub.example.org.",
    qtype: "DS",
    rcode: "NOERROR",
    aa: true,
    answer: ["sub.example.org. 3600 DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"],
  },
  // DNAME (RFC 6672)
  {
    why: "DNAME out of the zone: DNAME plus synthesized CNAME with the DNAME's TTL",
    qname: "host.dn.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["dn.example.org. 900 DNAME example.net.", "host.dn.example.org. 900 CNAME host.example.net."],
  },
  {
    why: "DNAME in the zone is followed",
    qname: "x.dn2.example.org.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["dn2.example.org. 3600 DNAME in.example.org.", "x.dn2.example.org. 3600 CNAME x.in.example.org.", "x.in.example.org. 3600 A 192.0.2.7"],
  },
  {
    why: "DNAME target that does not exist: NXDOMAIN",
    qname: "y.dn2.example.org.",
    qtype: "A",
    rcode: "NXDOMAIN",
    answer: ["dn2.example.org. 3600 DNAME in.example.org.", "y.dn2.example.org. 3600 CNAME y.in.example.org."],
    ns: [SOA_NEG],
  },
  {
    why: "QTYPE CNAME below a DNAME: the synthesized CNAME is the answer, not followed",
    qname: "y.dn2.example.org.",
    qtype: "CNAME",
    rcode: "NOERROR",
    answer: ["dn2.example.org. 3600 DNAME in.example.org.", "y.dn2.example.org. 3600 CNAME y.in.example.org."],
  },
  { why: "the DNAME owner itself is not redirected", qname: "dn.example.org.", qtype: "DNAME", rcode: "NOERROR", answer: ["dn.example.org. 900 DNAME example.net."] },
  { why: "the DNAME owner, other type: NODATA", qname: "dn.example.org.", qtype: "A", rcode: "NOERROR", ns: [SOA_NEG] },
  // ANY (RFC 8482)
  { why: "ANY over TCP/DoH: the lowest-typed RRset", qname: "www.example.org.", qtype: "ANY", rcode: "NOERROR", answer: WWW },
  { why: "ANY over UDP: the same", qname: "www.example.org.", qtype: "ANY", transport: "udp", rcode: "NOERROR", answer: WWW },
  { why: "ANY at the apex: NS sorts before SOA", qname: "example.org.", qtype: "ANY", rcode: "NOERROR", answer: ["example.org. 3600 NS ns1.example.org.", "example.org. 3600 NS ns2.example.net."], extra: ["ns1.example.org. 3600 A 192.0.2.1", "ns1.example.org. 3600 AAAA 2001:db8::1"] },
  { why: "ANY at an empty non-terminal: NODATA", qname: "c.example.org.", qtype: "ANY", rcode: "NOERROR", ns: [SOA_NEG] },
  // Case (RFC 4343): the query name as asked, in the question and the answer owner
  { why: "mixed-case query name kept", qname: "WwW.ExAmPlE.oRg.", qtype: "A", rcode: "NOERROR", answer: ["WwW.ExAmPlE.oRg. 600 A 192.0.2.80"] },
  { why: "mixed-case wildcard owner kept", qname: "NoThere.example.org.", qtype: "TXT", rcode: "NOERROR", answer: ['NoThere.example.org. 3600 TXT "wild"'] },
];

describe("lookup (RFC 1034 §4.3.2)", () => {
  it.each(rows)("$why: $qname $qtype", async (row) => {
    const got = await run(store, row);
    expect(actual(row, got)).toEqual(expected(row));
  });

  it("echoes the question exactly as asked", async () => {
    const got = await run(store, { why: "case", qname: "WWW.Example.ORG.", qtype: "A", rcode: "NOERROR" });
    expect(got.response.questions[0]!.name.toString()).toBe("WWW.Example.ORG.");
  });
});
