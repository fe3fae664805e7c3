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
import { Name } from "../dns/name.ts";
import { addressesOf, targetsOf } from "./additional.ts";
import { andThen, type Awaitable, isPromise } from "./awaitable.ts";
import { anyAnswer } from "./any.ts";
import { ChainGuard } from "./cname.ts";
import { referral } from "./delegation.ts";
import { type DnameSubstitution, substituteDname } from "./dname.ts";
import { negativeSoa } from "./negative.ts";
import type { LookupResult, Outcome, Proof } from "./result.ts";
import { type RRset, rrsetAt, rrsigsAt } from "./rrset.ts";
import { targetName } from "./target-name.ts";
import { wildcardSource } from "./wildcard.ts";
import type { ClosestEncloser, ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

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
function resolveName(store: ZoneStore, zone: ZoneInfo, name: Name, qtype: number): Awaitable<Step> {
  return andThen(store.closestEncloser(zone, name), (found) => walkDown(store, zone, name, qtype, found, zone.name.labelCount));
}

/**
 * Step 2, from `depth` labels down to the closest encloser `found`: the first cut or DNAME above the name, then
 * steps 3 and 4 (`atEncloser`). A loop while the store answers at once; it goes on after a promise otherwise.
 */
function walkDown(store: ZoneStore, zone: ZoneInfo, name: Name, qtype: number, found: ClosestEncloser, depth: number): Awaitable<Step> {
  const encloser = found.name;
  const apexDepth = zone.name.labelCount;
  for (; depth <= encloser.labelCount; depth++) {
    // The encloser's node came with it; every node above it is one lookup.
    const node = depth === encloser.labelCount ? found.node : store.node(zone, name.stripLeft(name.labelCount - depth));
    if (isPromise(node)) {
      const resume = depth;
      return node.then((n) => cutOrDname(n, name, qtype, resume, apexDepth) ?? walkDown(store, zone, name, qtype, found, resume + 1));
    }
    const step = cutOrDname(node, name, qtype, depth, apexDepth);
    if (step) return step;
  }
  return atEncloser(store, zone, name, qtype, found);
}

/** The referral or DNAME redirection at `node` (the node `depth` labels deep on the way to `name`), if any. */
function cutOrDname(node: ZoneNode | null, name: Name, qtype: number, depth: number, apexDepth: number): Step | undefined {
  if (!node) return undefined; // an empty non-terminal is neither a cut nor a DNAME
  const isName = depth === name.labelCount;
  const at = name.stripLeft(name.labelCount - depth);
  if (depth > apexDepth) {
    const ns = rrsetAt(node, RRType.NS, at);
    if (ns && !(isName && qtype === RRType.DS)) return { kind: "delegation", ns, cut: node };
  }
  if (!isName) {
    const dname = rrsetAt(node, RRType.DNAME, at);
    if (dname) return { kind: "dname", dname, substitution: substituteDname(name, dname) };
  }
  return undefined;
}

/** Steps 3 and 4: the name exists (its closest encloser is itself), or a wildcard answers, or NXDOMAIN. */
function atEncloser(store: ZoneStore, zone: ZoneInfo, name: Name, qtype: number, found: ClosestEncloser): Awaitable<Step> {
  const encloser = found.name;
  if (encloser.labelCount === name.labelCount) return found.node ? fromNode(found.node, name, qtype) : { kind: "nodata", node: null };
  return andThen(wildcardSource(store, zone, encloser), (source): Step => {
    if (!source) return { kind: "nxdomain", encloser };
    return { ...fromNode(source, name, qtype), wildcard: { encloser, source } } as Step;
  });
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
function negative(store: ZoneStore, zone: ZoneInfo, outcome: "NoData" | "NameError", answer: RRset[], proofs: Proof[], dnssecAuthority: RRset[]): Awaitable<LookupResult> {
  return andThen(negativeSoa(store, zone), (soa) => result(outcome, answer, soa ? [soa] : [], [], proofs, dnssecAuthority));
}

/** What one lookup has gathered so far, along a CNAME/DNAME chain. */
interface Chain {
  store: ZoneStore;
  zone: ZoneInfo;
  qtype: number;
  guard: ChainGuard;
  answer: RRset[];
  proofs: Proof[];
  dnssecAuthority: RRset[];
}

/** Answers `qname`/`qtype` from `zone`, following CNAME and DNAME chains inside it. */
export function lookup(store: ZoneStore, zone: ZoneInfo, qname: Name, qtype: number): Awaitable<LookupResult> {
  // Plain functions, not closures made per lookup: under tsx (esbuild's keepNames) every named closure costs a
  // `__name` call, Object.defineProperty, each time it is made (issue 27: ~0.5 µs an answer).
  const chain: Chain = { store, zone, qtype, guard: new ChainGuard(zone.name, qname), answer: [], proofs: [], dnssecAuthority: [] };
  return lookupFrom(chain, qname);
}

/** The lookup from `name` on (the query name, or the target of a CNAME or DNAME in the chain). */
function lookupFrom(chain: Chain, name: Name): Awaitable<LookupResult> {
  for (;;) {
    const step = resolveName(chain.store, chain.zone, name, chain.qtype);
    if (isPromise(step)) return step.then((s) => goOn(chain, afterStep(chain, name, s)));
    const next = afterStep(chain, name, step);
    if (!(next instanceof Name)) return next;
    name = next;
  }
}

/** The result, or the lookup going on at the next name of the chain. */
function goOn(chain: Chain, next: Awaitable<LookupResult> | Name): Awaitable<LookupResult> {
  return next instanceof Name ? lookupFrom(chain, next) : next;
}

/** What one name's step adds to the chain: the lookup's result, or the name the chain goes on at. */
function afterStep(chain: Chain, name: Name, step: Step): Awaitable<LookupResult> | Name {
  const { store, zone, qtype, guard, answer, proofs, dnssecAuthority } = chain;
  switch (step.kind) {
    case "data": {
      answer.push(...step.rrsets);
      if (step.wildcard) proofs.push({ kind: "wildcard-answer", name, encloser: step.wildcard.encloser });
      return andThen(addressesOf(store, zone, targetsOf(answer), answer), (additional) => result("Success", answer, [], additional, proofs, dnssecAuthority));
    }
    case "cname": {
      answer.push(step.cname);
      if (step.wildcard) proofs.push({ kind: "wildcard-answer", name, encloser: step.wildcard.encloser });
      if (!step.target || !guard.follow(step.target)) return result("Success", answer, [], [], proofs, dnssecAuthority);
      return step.target;
    }
    case "dname": {
      answer.push(step.dname);
      const sub = step.substitution;
      if (sub.kind === "too-long") return result("NameTooLong", answer, [], [], proofs, dnssecAuthority);
      if (sub.kind === "broken") return result("Success", answer, [], [], proofs, dnssecAuthority);
      answer.push(sub.cname);
      // The synthesized CNAME is itself the answer to QTYPE CNAME (RFC 6672 §3.2; Knot and NSD agree).
      if (qtype === RRType.CNAME || !guard.follow(sub.target)) return result("Success", answer, [], [], proofs, dnssecAuthority);
      return sub.target;
    }
    case "delegation": {
      const ns = step.ns;
      const cut = step.cut;
      return andThen(referral(store, zone, ns), (ref) => {
        // RFC 4035 §3.1.4: a signed referral carries the DS RRset, or the proof that there is none.
        const ds = rrsetAt(cut, RRType.DS, ns.name);
        if (ds) dnssecAuthority.push(ds);
        else proofs.push({ kind: "no-ds", cut: ns.name, node: cut });
        return { ...result("Delegation", answer, ref.authority, ref.additional, proofs, dnssecAuthority), aa: answer.length > 0 };
      });
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
