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
 *   6. What DNSSEC will have to prove is noted as `proofs` (a name that does not exist, a type that does
 *      not, a wildcard expansion, a delegation without DS); `denial.ts` turns them into NSEC or NSEC3
 *      records when the query has DO=1, so the lookup itself never changes with DNSSEC.
 * The result's rcode and AA follow the last name of a chain (RFC 6604 §2), AA stays set once the answer
 * holds authoritative data.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import { addressesOf, targetsOf } from "./additional.ts";
import { anyAnswer } from "./any.ts";
import { ChainGuard } from "./cname.ts";
import { referral } from "./delegation.ts";
import { type DnameSubstitution, substituteDname } from "./dname.ts";
import { negativeSoa } from "./negative.ts";
import type { LookupResult, Outcome, Proof } from "./result.ts";
import { type RRset, rrsetAt, rrsigsAt } from "./rrset.ts";
import { targetName } from "./target-name.ts";
import { wildcardSource } from "./wildcard.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** The wildcard an answer was synthesized from (RFC 4592 §3.3.1): DNSSEC must prove no closer match. */
interface Expansion {
  encloser: Name;
  source: ZoneNode;
}

/** What happens to one name inside the zone. */
type Step =
  | { kind: "data"; rrsets: RRset[]; wildcard?: Expansion }
  | { kind: "cname"; cname: RRset; target: Name | null; wildcard?: Expansion }
  | { kind: "dname"; dname: RRset; substitution: DnameSubstitution }
  | { kind: "delegation"; ns: RRset; cut: ZoneNode }
  | { kind: "nodata"; node: ZoneNode | null; wildcard?: Expansion }
  | { kind: "nxdomain"; encloser: Name };

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
      if (ns && !(isName && qtype === RRType.DS)) return { kind: "delegation", ns, cut: node };
    }
    if (!isName) {
      const dname = rrsetAt(node, RRType.DNAME, at);
      if (dname) return { kind: "dname", dname, substitution: substituteDname(name, dname) };
    }
  }
  if (encloser.labelCount === name.labelCount) return exact ? fromNode(exact, name, qtype) : { kind: "nodata", node: null };
  const source = await wildcardSource(store, zone, encloser);
  if (!source) return { kind: "nxdomain", encloser };
  return { ...fromNode(source, name, qtype), wildcard: { encloser, source } } as Step;
}

/** Step 3.a at an existing node (or a wildcard's source), answering with `owner` as the owner name. */
function fromNode(node: ZoneNode, owner: Name, qtype: number): Extract<Step, { kind: "data" | "cname" | "nodata" }> {
  if (qtype === RRType.ANY) {
    const rrsets = anyAnswer(node, owner);
    return rrsets.length > 0 ? { kind: "data", rrsets } : { kind: "nodata", node };
  }
  const rrset = qtype === RRType.RRSIG ? rrsigsAt(node, owner) : rrsetAt(node, qtype, owner);
  if (rrset) return { kind: "data", rrsets: [rrset] };
  if (qtype !== RRType.CNAME) {
    const cname = rrsetAt(node, RRType.CNAME, owner);
    if (cname) return { kind: "cname", cname, target: targetName(RRType.CNAME, cname.records[0]!.rdata) };
  }
  return { kind: "nodata", node };
}

/** A finished lookup's result (AA set: the Delegation case clears it). */
function result(outcome: Outcome, answer: RRset[], authority: RRset[], additional: RRset[], proofs: Proof[], dnssecAuthority: RRset[]): LookupResult {
  return { outcome, aa: true, answer, authority, additional, proofs, dnssecAuthority };
}

/** NODATA or NXDOMAIN: the zone's SOA, with the negative TTL, in the authority section. */
async function negative(store: ZoneStore, zone: ZoneInfo, outcome: "NoData" | "NameError", answer: RRset[], proofs: Proof[], dnssecAuthority: RRset[]): Promise<LookupResult> {
  const soa = await negativeSoa(store, zone);
  return result(outcome, answer, soa ? [soa] : [], [], proofs, dnssecAuthority);
}

/** Answers `qname`/`qtype` from `zone`, following CNAME and DNAME chains inside it. */
export async function lookup(store: ZoneStore, zone: ZoneInfo, qname: Name, qtype: number): Promise<LookupResult> {
  const answer: RRset[] = [];
  const proofs: Proof[] = [];
  const dnssecAuthority: RRset[] = [];
  const guard = new ChainGuard(zone.name, qname);
  // Plain calls, not closures made per lookup: under tsx (esbuild's keepNames) every named closure costs a
  // `__name` call, Object.defineProperty, each time it is made (issue 27: ~0.5 µs an answer).

  for (let name = qname; ; ) {
    const step = await resolveName(store, zone, name, qtype);
    switch (step.kind) {
      case "data": {
        answer.push(...step.rrsets);
        if (step.wildcard) proofs.push({ kind: "wildcard-answer", name, encloser: step.wildcard.encloser });
        return result("Success", answer, [], await addressesOf(store, zone, targetsOf(answer), answer), proofs, dnssecAuthority);
      }
      case "cname": {
        answer.push(step.cname);
        if (step.wildcard) proofs.push({ kind: "wildcard-answer", name, encloser: step.wildcard.encloser });
        if (!step.target || !guard.follow(step.target)) return result("Success", answer, [], [], proofs, dnssecAuthority);
        name = step.target;
        break;
      }
      case "dname": {
        answer.push(step.dname);
        const sub = step.substitution;
        if (sub.kind === "too-long") return result("NameTooLong", answer, [], [], proofs, dnssecAuthority);
        if (sub.kind === "broken") return result("Success", answer, [], [], proofs, dnssecAuthority);
        answer.push(sub.cname);
        // The synthesized CNAME is itself the answer to QTYPE CNAME (RFC 6672 §3.2; Knot and NSD agree).
        if (qtype === RRType.CNAME || !guard.follow(sub.target)) return result("Success", answer, [], [], proofs, dnssecAuthority);
        name = sub.target;
        break;
      }
      case "delegation": {
        const ref = await referral(store, zone, step.ns);
        // RFC 4035 §3.1.4: a signed referral carries the DS RRset, or the proof that there is none.
        const ds = rrsetAt(step.cut, RRType.DS, step.ns.name);
        if (ds) dnssecAuthority.push(ds);
        else proofs.push({ kind: "no-ds", cut: step.ns.name, node: step.cut });
        return { ...result("Delegation", answer, ref.authority, ref.additional, proofs, dnssecAuthority), aa: answer.length > 0 };
      }
      case "nodata":
        proofs.push(
          step.wildcard
            ? { kind: "wildcard-nodata", name, encloser: step.wildcard.encloser, source: step.wildcard.source }
            : { kind: "nodata", name, node: step.node, qtype },
        );
        return negative(store, zone, "NoData", answer, proofs, dnssecAuthority);
      case "nxdomain":
        proofs.push({ kind: "nxdomain", name, encloser: step.encloser });
        return negative(store, zone, "NameError", answer, proofs, dnssecAuthority);
    }
  }
}
