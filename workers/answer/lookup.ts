/**
 * @module The lookup inside one zone: RFC 1034 §4.3.2 step 3, with DNAME (RFC 6672 §3.2) and wildcards
 * (RFC 4592 §3.3), the way CoreDNS's `file` plugin and Knot's `nameserver/internet.c` do it.
 *
 * For one name N (the query name, then each CNAME/DNAME target in turn):
 *   1. Find N's closest encloser CE (the deepest existing ancestor-or-self) and its node: one store lookup.
 *   2. Walk down from the apex to CE (step 3.b): the first node below the apex with NS is a zone cut, and
 *      N gets a referral (`delegation.ts`), unless N is the cut itself and QTYPE is DS (RFC 4035 §3.1.4.1);
 *      the first node above N with a DNAME redirects N (`dname.ts`).
 *   3. N exists (step 3.a): the RRset of QTYPE is the answer; else a CNAME is followed (`cname.ts`) unless
 *      QTYPE is CNAME; else NODATA (an empty non-terminal is always NODATA). ANY is `any.ts`.
 *   4. N does not exist (step 3.c): the wildcard `*.CE` answers with N as owner (`wildcard.ts`); without one,
 *      NXDOMAIN.
 *   5. Positive answers get additional-section addresses (`additional.ts`, step 6); negative ones the SOA
 *      with the negative TTL (`negative.ts`).
 * The result's rcode and AA follow the last name of a chain (RFC 6604 §2), AA stays set once the answer
 * holds authoritative data.
 */
import { RRType } from "../../dns/constants.ts";
import type { Name } from "../../dns/name.ts";
import { addressesOf, targetsOf } from "./additional.ts";
import { anyAnswer } from "./any.ts";
import { ChainGuard } from "./cname.ts";
import { referral } from "./delegation.ts";
import { type DnameSubstitution, substituteDname } from "./dname.ts";
import { negativeSoa } from "./negative.ts";
import type { LookupResult, Outcome } from "./result.ts";
import { type RRset, rrsetAt, rrsigsAt } from "./rrset.ts";
import { targetName } from "./target-name.ts";
import { wildcardSource } from "./wildcard.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** What happens to one name inside the zone. */
type Step =
  | { kind: "data"; rrsets: RRset[] }
  | { kind: "cname"; cname: RRset; target: Name | null }
  | { kind: "dname"; dname: RRset; substitution: DnameSubstitution }
  | { kind: "delegation"; ns: RRset }
  | { kind: "nodata" }
  | { kind: "nxdomain" };

/** Steps 1–4 for one name. */
async function resolveName(store: ZoneStore, zone: ZoneInfo, name: Name, qtype: number): Promise<Step> {
  const found = await store.closestEncloser(zone, name);
  const encloser = found.name;
  const exact = encloser.labelCount === name.labelCount ? found.node : null;
  const apexDepth = zone.name.labelCount;
  for (let depth = apexDepth; depth <= encloser.labelCount; depth++) {
    const at = name.stripLeft(name.labelCount - depth);
    const isName = depth === name.labelCount;
    const node = depth === encloser.labelCount ? found.node : await store.node(zone, at);
    if (!node) continue; // an empty non-terminal is neither a cut nor a DNAME
    if (depth > apexDepth) {
      const ns = rrsetAt(node, RRType.NS, at);
      if (ns && !(isName && qtype === RRType.DS)) return { kind: "delegation", ns };
    }
    if (!isName) {
      const dname = rrsetAt(node, RRType.DNAME, at);
      if (dname) return { kind: "dname", dname, substitution: substituteDname(name, dname) };
    }
  }
  if (encloser.labelCount === name.labelCount) return exact ? fromNode(exact, name, qtype) : { kind: "nodata" };
  const source = await wildcardSource(store, zone, encloser);
  return source ? fromNode(source, name, qtype) : { kind: "nxdomain" };
}

/** Step 3.a at an existing node (or a wildcard's source), answering with `owner` as the owner name. */
function fromNode(node: ZoneNode, owner: Name, qtype: number): Step {
  if (qtype === RRType.ANY) {
    const rrsets = anyAnswer(node, owner);
    return rrsets.length > 0 ? { kind: "data", rrsets } : { kind: "nodata" };
  }
  const rrset = qtype === RRType.RRSIG ? rrsigsAt(node, owner) : rrsetAt(node, qtype, owner);
  if (rrset) return { kind: "data", rrsets: [rrset] };
  if (qtype !== RRType.CNAME) {
    const cname = rrsetAt(node, RRType.CNAME, owner);
    if (cname) return { kind: "cname", cname, target: targetName(RRType.CNAME, cname.records[0]!.rdata) };
  }
  return { kind: "nodata" };
}

/** Answers `qname`/`qtype` from `zone`, following CNAME and DNAME chains inside it. */
export async function lookup(store: ZoneStore, zone: ZoneInfo, qname: Name, qtype: number): Promise<LookupResult> {
  const answer: RRset[] = [];
  const guard = new ChainGuard(zone.name, qname);
  const done = (outcome: Outcome, authority: RRset[] = [], additional: RRset[] = []): LookupResult => ({
    outcome,
    aa: true,
    answer,
    authority,
    additional,
  });
  const negative = async (outcome: "NoData" | "NameError"): Promise<LookupResult> => {
    const soa = await negativeSoa(store, zone);
    return done(outcome, soa ? [soa] : []);
  };

  for (let name = qname; ; ) {
    const step = await resolveName(store, zone, name, qtype);
    switch (step.kind) {
      case "data": {
        answer.push(...step.rrsets);
        return done("Success", [], await addressesOf(store, zone, targetsOf(answer), answer));
      }
      case "cname": {
        answer.push(step.cname);
        if (!step.target || !guard.follow(step.target)) return done("Success");
        name = step.target;
        break;
      }
      case "dname": {
        answer.push(step.dname);
        const sub = step.substitution;
        if (sub.kind === "too-long") return done("NameTooLong");
        if (sub.kind === "broken") return done("Success");
        answer.push(sub.cname);
        // The synthesized CNAME is itself the answer to QTYPE CNAME (RFC 6672 §3.2; Knot and NSD agree).
        if (qtype === RRType.CNAME || !guard.follow(sub.target)) return done("Success");
        name = sub.target;
        break;
      }
      case "delegation": {
        const ref = await referral(store, zone, step.ns);
        return { outcome: "Delegation", aa: answer.length > 0, answer, authority: ref.authority, additional: ref.additional };
      }
      case "nodata":
        return negative("NoData");
      case "nxdomain":
        return negative("NameError");
    }
  }
}
