/**
 * @module What RRL counts an answer as, one row per kind of reply, written as zone text: the category and
 * the token that makes two answers "identical" (BIND 9.18's accounting).
 */
import { describe, expect, it, vi } from "vitest";
import { Rcode } from "../../../dns/constants.ts";
import { decodeMessage, encodeMessage } from "../../../dns/message.ts";
import { Name } from "../../../dns/name.ts";
import { parseZoneText } from "../../../dns/zonefile/parser.ts";
import { queryWire } from "../../../dns/testing/query-wire.ts";
import { replyTo } from "../reply.ts";
import { readQueryShape } from "./query-shape.ts";
import { describeToken, responseToken } from "./rrl-token.ts";
import { WireReader } from "../../../dns/wire/reader.ts";

const records = (text: string) => (text ? parseZoneText(text, { origin: Name.parse("example.org."), defaultTtl: 300 }) : []);

/** The wire reply to `qname qtype` with the given rcode, AA, answers and authority (zone text). */
function reply(qname: string, qtype: string, rcode: number, aa: boolean, answers: string, authority: string, tc = false) {
  const query = queryWire(qname, qtype, { id: 7 });
  const m = replyTo(decodeMessage(query), rcode);
  m.flags.aa = aa;
  m.flags.tc = tc;
  m.answers = records(answers);
  m.authorities = records(authority);
  return { query, reply: encodeMessage(m).wire };
}

const SOA = "@ SOA ns hostmaster 1 7200 3600 1209600 300";

describe("responseToken", () => {
  it.each([
    { why: "a positive answer: by qname and qtype", q: ["WWW.example.org.", "A"], rcode: Rcode.NOERROR, aa: true, an: "www A 192.0.2.1", ns: "", want: { category: "response", shown: "www.example.org. A" } },
    { why: "the same name in other case: the same token", q: ["www.EXAMPLE.org.", "A"], rcode: Rcode.NOERROR, aa: true, an: "www A 192.0.2.1", ns: "", want: { category: "response", shown: "www.example.org. A" } },
    { why: "another type: another token", q: ["www.example.org.", "AAAA"], rcode: Rcode.NOERROR, aa: true, an: "www AAAA 2001:db8::1", ns: "", want: { category: "response", shown: "www.example.org. AAAA" } },
    { why: "NXDOMAIN: by the zone (the SOA owner)", q: ["nope-1.example.org.", "A"], rcode: Rcode.NXDOMAIN, aa: true, an: "", ns: SOA, want: { category: "nxdomain", shown: "example.org." } },
    { why: "NXDOMAIN at the end of a CNAME: still by the zone", q: ["alias.example.org.", "A"], rcode: Rcode.NXDOMAIN, aa: true, an: "alias CNAME gone", ns: SOA, want: { category: "nxdomain", shown: "example.org." } },
    { why: "NODATA: by the zone", q: ["www.example.org.", "MX"], rcode: Rcode.NOERROR, aa: true, an: "", ns: SOA, want: { category: "nodata", shown: "example.org." } },
    { why: "a referral: by the delegation", q: ["host.sub.example.org.", "A"], rcode: Rcode.NOERROR, aa: false, an: "", ns: "sub NS ns.sub", want: { category: "referral", shown: "sub.example.org." } },
    { why: "an authoritative NS in AUTHORITY with no answer is not a referral", q: ["x.example.org.", "A"], rcode: Rcode.NOERROR, aa: true, an: "", ns: "@ NS ns", want: { category: "nodata", shown: "x.example.org." } },
    { why: "SERVFAIL: an error, per prefix", q: ["www.example.org.", "A"], rcode: Rcode.SERVFAIL, aa: false, an: "", ns: "", want: { category: "error", shown: "" } },
    { why: "REFUSED: an error", q: ["www.example.com.", "A"], rcode: Rcode.REFUSED, aa: false, an: "", ns: "", want: { category: "error", shown: "" } },
    { why: "FORMERR: an error", q: ["www.example.org.", "A"], rcode: Rcode.FORMERR, aa: false, an: "", ns: "", want: { category: "error", shown: "" } },
  ])("$why", ({ q, rcode, aa, an, ns, want }) => {
    const { query, reply: wire } = reply(q[0]!, q[1]!, rcode, aa, an, ns);
    const token = responseToken(wire, query, readQueryShape(query));
    expect({ category: token.category, shown: describeToken(token) }).toEqual(want);
  });

  it("a reply cut short (TC=1, no answers) counts as the positive answer it stands for", () => {
    const { query, reply: wire } = reply("big.example.org.", "TXT", Rcode.NOERROR, true, "", "", true);
    const cut = responseToken(wire, query, readQueryShape(query));
    const whole = responseToken(reply("big.example.org.", "TXT", Rcode.NOERROR, true, 'big TXT "x"', "").reply, query, readQueryShape(query));
    expect({ category: cut.category, token: cut.token }).toEqual({ category: whole.category, token: whole.token });
  });

  it("NXDOMAIN for two random names under one zone: one token", () => {
    const a = reply("r1.example.org.", "A", Rcode.NXDOMAIN, true, "", SOA);
    const b = reply("r2.example.org.", "AAAA", Rcode.NXDOMAIN, true, "", SOA);
    const ta = responseToken(a.reply, a.query, readQueryShape(a.query));
    const tb = responseToken(b.reply, b.query, readQueryShape(b.query));
    expect({ category: ta.category, token: ta.token }).toEqual({ category: tb.category, token: tb.token });
  });

  it("a reply that does not read (AUTHORITY cut off) counts by the name asked, without throwing", () => {
    const { query, reply: wire } = reply("nope.example.org.", "A", Rcode.NXDOMAIN, true, "", SOA);
    // Cut one octet into the AUTHORITY owner name: the SOA is announced (NSCOUNT 1) but cannot be read.
    const token = responseToken(wire.subarray(0, query.length - 11 + 1), query, readQueryShape(query));
    expect({ category: token.category, token: token.token }).toEqual({ category: "nxdomain", token: "nope.example.org." });
  });

  it("reads a negative answer's or a referral's owner name only when its token is read (an exempt client's never is)", () => {
    const cases = [
      { r: reply("nope.example.org.", "A", Rcode.NXDOMAIN, true, "", SOA), category: "nxdomain", token: "example.org." },
      { r: reply("www.example.org.", "MX", Rcode.NOERROR, true, "", SOA), category: "nodata", token: "example.org." },
      { r: reply("host.sub.example.org.", "A", Rcode.NOERROR, false, "", "sub NS ns.sub"), category: "referral", token: "sub.example.org." },
    ];
    const names = vi.spyOn(WireReader.prototype, "name");
    try {
      const tokens = cases.map(({ r }) => responseToken(r.reply, r.query, readQueryShape(r.query)));
      expect(tokens.map((t) => t.category)).toEqual(cases.map((c) => c.category));
      expect(names).not.toHaveBeenCalled();
      expect(tokens.map((t) => t.token)).toEqual(cases.map((c) => c.token));
      expect(names).toHaveBeenCalledTimes(cases.length);
    } finally {
      names.mockRestore();
    }
  });
});
