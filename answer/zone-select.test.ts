/**
 * Table tests of zone selection (RFC 1034 §4.3.2 step 2): REFUSED outside our zones and for clients outside
 * `answerAllow` (unless they carry the admin token), SERVFAIL for a zone past `expiresAt` or never loaded,
 * longest match between a parent and a child zone, and DS at the child's apex from the parent
 * (RFC 4035 §3.1.4.1).
 */
import { describe, expect, it } from "vitest";
import { storeOf } from "./testing/load-zone.ts";
import { actual, expected, run, type Row } from "./testing/table.ts";

const NOW = Date.UTC(2026, 0, 1);

const PARENT = `
$ORIGIN example.com.
@      IN SOA ns1 hostmaster 1 7200 3600 1209600 600
@      IN NS  ns1
ns1    IN A   192.0.2.1
child  IN NS  ns1.child
child  IN DS  1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
ns1.child IN A 192.0.2.2
`;
const CHILD = `
$ORIGIN child.example.com.
@      IN SOA ns1 hostmaster 7 7200 3600 1209600 60
@      IN NS  ns1
ns1    IN A   192.0.2.2
www    IN A   192.0.2.80
`;
const simple = (apex: string, serial: number) => `
$ORIGIN ${apex}
@      IN SOA ns1 hostmaster ${serial} 7200 3600 1209600 600
@      IN NS  ns1
ns1    IN A   192.0.2.1
www    IN A   192.0.2.80
`;

const store = storeOf(
  { apex: "example.com.", text: PARENT },
  { apex: "child.example.com.", text: CHILD },
  { apex: "hidden.test.", text: simple("hidden.test.", 3), model: "hidden", answerAllow: ["198.51.100.0/24", "2001:db8:1::/48"] },
  { apex: "stealth.test.", text: simple("stealth.test.", 4), model: "hidden" },
  { apex: "expired.test.", text: simple("expired.test.", 5), expiresAt: NOW - 1 },
  { apex: "fresh.test.", text: simple("fresh.test.", 6), expiresAt: NOW + 1000 },
  { apex: "unloaded.test.", text: simple("unloaded.test.", 7), version: null },
);

const rows: Row[] = [
  { why: "outside every zone: REFUSED, no AA", qname: "www.example.net.", qtype: "A", rcode: "REFUSED", aa: false },
  { why: "the root is not ours", qname: ".", qtype: "NS", rcode: "REFUSED" },
  { why: "a parent of a hosted zone is not ours", qname: "test.", qtype: "SOA", rcode: "REFUSED" },
  { why: "longest match: the child answers", qname: "www.child.example.com.", qtype: "A", rcode: "NOERROR", aa: true, answer: ["www.child.example.com. 3600 A 192.0.2.80"] },
  {
    why: "the child's apex NS from the child, authoritative",
    qname: "child.example.com.",
    qtype: "NS",
    rcode: "NOERROR",
    aa: true,
    answer: ["child.example.com. 3600 NS ns1.child.example.com."],
    extra: ["ns1.child.example.com. 3600 A 192.0.2.2"],
  },
  {
    why: "DS at the child's apex from the parent",
    qname: "child.example.com.",
    qtype: "DS",
    rcode: "NOERROR",
    aa: true,
    answer: ["child.example.com. 3600 DS 1 13 2 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"],
  },
  {
    why: "DS at an apex whose parent we do not host: the zone's own NODATA",
    qname: "fresh.test.",
    qtype: "DS",
    rcode: "NOERROR",
    aa: true,
    ns: ["fresh.test. 600 SOA ns1.fresh.test. hostmaster.fresh.test. 6 7200 3600 1209600 600"],
  },
  { why: "restricted zone, client outside: REFUSED", qname: "www.hidden.test.", qtype: "A", client: "192.0.2.9", rcode: "REFUSED", aa: false },
  { why: "restricted zone, unknown client: REFUSED", qname: "www.hidden.test.", qtype: "A", rcode: "REFUSED" },
  { why: "restricted zone, IPv4 client inside", qname: "www.hidden.test.", qtype: "A", client: "198.51.100.7", rcode: "NOERROR", answer: ["www.hidden.test. 3600 A 192.0.2.80"] },
  { why: "restricted zone, IPv4-mapped client inside", qname: "www.hidden.test.", qtype: "A", client: "::ffff:198.51.100.7", rcode: "NOERROR", answer: ["www.hidden.test. 3600 A 192.0.2.80"] },
  { why: "restricted zone, IPv6 client inside", qname: "www.hidden.test.", qtype: "A", client: "2001:db8:1::53", rcode: "NOERROR", answer: ["www.hidden.test. 3600 A 192.0.2.80"] },
  { why: "restricted zone, admin token", qname: "www.hidden.test.", qtype: "A", client: "192.0.2.9", admin: true, rcode: "NOERROR", answer: ["www.hidden.test. 3600 A 192.0.2.80"] },
  { why: "hidden zone without a list answers everyone", qname: "www.stealth.test.", qtype: "A", client: "203.0.113.1", rcode: "NOERROR", aa: true, answer: ["www.stealth.test. 3600 A 192.0.2.80"] },
  { why: "past expiresAt: SERVFAIL", qname: "www.expired.test.", qtype: "A", rcode: "SERVFAIL", aa: false },
  { why: "before expiresAt: served", qname: "www.fresh.test.", qtype: "A", rcode: "NOERROR", answer: ["www.fresh.test. 3600 A 192.0.2.80"] },
  { why: "never loaded: SERVFAIL", qname: "www.unloaded.test.", qtype: "A", rcode: "SERVFAIL" },
];

describe("zone selection", () => {
  it.each(rows)("$why: $qname $qtype", async (row) => {
    const got = await run(store, { ...row, now: NOW });
    expect(actual(row, got)).toEqual(expected(row));
  });
});
