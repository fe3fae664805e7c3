/**
 * Table tests of DNSSEC serving with NSEC (RFC 4035 §3.1): which RRSIGs and NSEC records each kind of answer
 * carries when the query has DO=1, over a hand-made signed zone (the signatures are placeholders: the engine
 * serves RRSIGs as transferred and never checks them; real signatures are validated by `delv` in
 * test/answer/delv.test.ts). The NSEC chain, in canonical order: ex. → a.b.c → ns → sec → sub → *.w → www.
 */
import { describe, expect, it } from "vitest";
import { storeOf } from "./testing/load-zone.ts";
import { run, type Row } from "./testing/table.ts";
import { NSEC_EX_ZONE as ZONE, sig } from "./testing/nsec-zone.ts";

const store = storeOf({ apex: "ex.", text: ZONE });

const SOA = ["ex. 300 SOA ns.ex. hostmaster.ex. 1 7200 3600 1209600 300", `ex. 300 ${sig("SOA", 1)}`];
const nsec = (owner: string, next: string, types: string, labels: number) => [
  `${owner} 300 NSEC ${next} ${types}`,
  `${owner} 300 ${sig("NSEC", labels)}`,
];

const rows: Row[] = [
  { why: "positive answer: the RRset and its RRSIG", qname: "www.ex.", qtype: "A", rcode: "NOERROR", answer: ["www.ex. 3600 A 192.0.2.80", `www.ex. 3600 ${sig("A", 2)}`] },
  {
    why: "NXDOMAIN: NSEC covering the name and NSEC covering *.ex (RFC 4035 §3.1.3.2)",
    qname: "nope.ex.",
    qtype: "A",
    rcode: "NXDOMAIN",
    ns: [...SOA, ...nsec("a.b.c.ex.", "ns.ex.", "TXT RRSIG NSEC", 4), ...nsec("ex.", "a.b.c.ex.", "NS SOA RRSIG NSEC", 1)],
  },
  { why: "NODATA: the NSEC at the name (§3.1.3.1)", qname: "www.ex.", qtype: "MX", rcode: "NOERROR", ns: [...SOA, ...nsec("www.ex.", "ex.", "A RRSIG NSEC", 2)] },
  {
    why: "empty non-terminal: the NSEC before it, whose next name is below it",
    qname: "b.c.ex.",
    qtype: "A",
    rcode: "NOERROR",
    ns: [...SOA, ...nsec("ex.", "a.b.c.ex.", "NS SOA RRSIG NSEC", 1)],
  },
  {
    why: "wildcard answer: RRSIG as stored (labels 2) and the NSEC proving no closer name (§3.1.3.3)",
    qname: "q.w.ex.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["q.w.ex. 3600 A 192.0.2.99", `q.w.ex. 3600 ${sig("A", 2)}`],
    ns: nsec("*.w.ex.", "www.ex.", "A RRSIG NSEC", 2),
  },
  {
    why: "wildcard NODATA: covering NSEC and the wildcard's NSEC, here the same record, sent once (§3.1.3.4)",
    qname: "q.w.ex.",
    qtype: "TXT",
    rcode: "NOERROR",
    ns: [...SOA, ...nsec("*.w.ex.", "www.ex.", "A RRSIG NSEC", 2)],
  },
  {
    why: "referral to an unsigned child: NS and the NSEC proving no DS, glue unsigned (§3.1.4)",
    qname: "host.sub.ex.",
    qtype: "A",
    rcode: "NOERROR",
    aa: false,
    ns: ["sub.ex. 3600 NS ns.sub.ex.", ...nsec("sub.ex.", "*.w.ex.", "NS RRSIG NSEC", 2)],
    extra: ["ns.sub.ex. 3600 A 192.0.2.53"],
  },
  {
    why: "referral to a signed child: NS and the signed DS RRset",
    qname: "host.sec.ex.",
    qtype: "A",
    rcode: "NOERROR",
    aa: false,
    ns: ["sec.ex. 3600 NS ns.ex.", "sec.ex. 3600 DS 1 13 2 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", `sec.ex. 3600 ${sig("DS", 2)}`],
    extra: ["ns.ex. 3600 A 192.0.2.1", `ns.ex. 3600 ${sig("A", 2)}`],
  },
  { why: "DS at an unsigned cut: NODATA with the cut's NSEC", qname: "sub.ex.", qtype: "DS", rcode: "NOERROR", aa: true, ns: [...SOA, ...nsec("sub.ex.", "*.w.ex.", "NS RRSIG NSEC", 2)] },
];

describe("DNSSEC with NSEC (DO=1)", () => {
  it.each(rows)("$why: $qname $qtype", async (row) => {
    const got = await run(store, { ...row, dnssecOk: true });
    const sorted = (lines: string[] | undefined) => [...(lines ?? [])].sort();
    expect({ rcode: got.rcode, answer: sorted(got.answer), ns: sorted(got.ns), extra: sorted(got.extra) }).toEqual({
      rcode: row.rcode,
      answer: sorted(row.answer),
      ns: sorted(row.ns),
      extra: sorted(row.extra),
    });
    if (row.aa !== undefined) expect(got.aa).toBe(row.aa);
  });

  it.each([
    { qname: "nope.ex.", qtype: "A" },
    { qname: "host.sub.ex.", qtype: "A" },
    { qname: "www.ex.", qtype: "A" },
  ])("without DO, no RRSIG or NSEC: $qname $qtype", async ({ qname, qtype }) => {
    const got = await run(store, { why: "no DO", qname, qtype, rcode: "", dnssecOk: false });
    expect([...got.answer, ...got.ns, ...got.extra].filter((line) => / (RRSIG|NSEC|DS) /.test(line))).toEqual([]);
  });
});
