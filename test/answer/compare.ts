/**
 * @module Comparing responses from different servers section by section. A response is reduced to what the
 * issue's done-criterion compares: rcode, AA, TC, and the answer, authority and additional sections as sorted
 * presentation lines (`owner TTL TYPE rdata`, owner spelled as it came off the wire), so that the order of
 * records inside a section, which servers are free to choose, never counts as a difference.
 */
import { rcodeToString, typeToString } from "../../dns/constants.ts";
import { decodeMessage, type ResourceRecord } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";

export interface View {
  rcode: string;
  aa: string;
  tc: string;
  answer: string;
  authority: string;
  additional: string;
}

export type Section = keyof View;
export const SECTIONS: readonly Section[] = ["rcode", "aa", "tc", "answer", "authority", "additional"];

function lines(records: readonly ResourceRecord[]): string {
  return records
    .map((r) => `${r.name} ${r.ttl} ${typeToString(r.type)} ${rdataToText(r.type, r.rdata)}`)
    .sort()
    .join("\n");
}

export function view(wire: Uint8Array): View {
  const m = decodeMessage(wire);
  return {
    rcode: rcodeToString(m.rcode),
    aa: String(m.flags.aa),
    tc: String(m.flags.tc),
    answer: lines(m.answers),
    authority: lines(m.authorities),
    additional: lines(m.additionals),
  };
}

/** A referral: NOERROR, AA=0, no answer, NS records in authority (RFC 1034 §4.3.2 step 3.b). */
export function isReferral(v: View): boolean {
  return v.rcode === "NOERROR" && v.aa === "false" && v.answer === "" && / NS /.test(v.authority);
}

/** The sections the suite holds Backstop to for this pair of peer answers. Additional only for referrals. */
export function comparedSections(a: View, b: View): Section[] {
  return SECTIONS.filter((s) => s !== "additional" || (isReferral(a) && isReferral(b)));
}


/** A section on which knotd and nsd differ, with the three answers. */
export interface Disagreement {
  section: Section;
  qtype: string;
  knotd: string;
  nsd: string;
  backstop: string;
}

/**
 * The documented choices (docs/conformance.md) for sections where knotd and nsd differ: the name of the
 * choice when the disagreement is one of them and Backstop made that choice, else undefined (a failure).
 *  - `case`: the two differ only in the case of names (where their compression points); Backstop's spelling
 *    is one of theirs.
 *  - `minimal-authority`: NSD adds the apex NS RRset (and its RRSIG) to the authority section of answers,
 *    Knot does not; Backstop does not.
 *  - `any-lowest-type`: ANY where the two pick different RRsets (the apex: NS vs SOA; in signed zones Knot
 *    may pick the RRSIGs); Backstop answers the lowest-typed RRset other than NSEC, which is one of theirs.
 *  - `wildcard-owner-nodata`: NODATA for a query naming a wildcard owner itself (`*.example`), where NSD adds
 *    a closest-encloser NSEC3 as if the wildcard had been expanded; Backstop sends the matching NSEC3 only,
 *    as Knot does (RFC 5155 §7.2.3: the name exists).
 *  - `dnssec-meta-qtype`: QTYPE RRSIG or NSEC. Knot answers RRSIG with one set of signatures (like ANY) and
 *    follows no CNAME for either; NSD treats them as ordinary types (every RRSIG at the name, CNAMEs
 *    followed). Backstop does as NSD.
 */
export function documentedChoice(
  d: Disagreement & { qname?: string },
): "case" | "minimal-authority" | "any-lowest-type" | "wildcard-owner-nodata" | "dnssec-meta-qtype" | undefined {
  if (d.knotd.toLowerCase() === d.nsd.toLowerCase()) return d.backstop === d.knotd || d.backstop === d.nsd ? "case" : undefined;
  if (d.section === "authority") {
    const knot = new Set(d.knotd.split("\n").filter(Boolean));
    const extra = d.nsd.split("\n").filter((line) => line && !knot.has(line));
    const nsdIsSuperset = [...knot].every((line) => d.nsd.split("\n").includes(line));
    if (nsdIsSuperset && extra.length > 0 && extra.every((line) => / NS | RRSIG NS /.test(line))) {
      return d.backstop === d.knotd ? "minimal-authority" : undefined;
    }
    if (nsdIsSuperset && extra.length > 0 && d.qname?.startsWith("*.") && extra.every((line) => / NSEC3 | RRSIG NSEC3 /.test(line))) {
      return d.backstop === d.knotd ? "wildcard-owner-nodata" : undefined;
    }
  }
  if (d.qtype === "RRSIG" || d.qtype === "NSEC") {
    // NSD's own extra authority NS (`minimal-authority`) may come along; Backstop leaves it out as always.
    const nsdMinimal = d.nsd
      .split("\n")
      .filter((line) => !(d.section === "authority" && / (RRSIG )?NS /.test(line)))
      .join("\n");
    return d.backstop === d.nsd || d.backstop === nsdMinimal ? "dnssec-meta-qtype" : undefined;
  }
  if (d.section === "answer" && d.qtype === "ANY") return d.backstop === d.knotd || d.backstop === d.nsd ? "any-lowest-type" : undefined;
  return undefined;
}
