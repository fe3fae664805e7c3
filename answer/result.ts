/**
 * @module What a lookup produces: one of a small closed set of outcomes (the CoreDNS `file` plugin's
 * `Success`, `NameError`, `Delegation`, `NoData`, `ServerFailure`, plus `Refused` for names we do not serve),
 * and the three sections as RRsets. The message layer (`engine.ts`) turns this into a response.
 */
import { Rcode } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import type { RRset } from "./rrset.ts";
import type { ZoneNode } from "./zone-store.ts";

export type Outcome =
  /** The data asked for, possibly after CNAME/DNAME steps. */
  | "Success"
  /** The name (the last one of a chain) does not exist: NXDOMAIN (RFC 1034 §4.3.2 step 3.c, RFC 6604). */
  | "NameError"
  /** The name is at or below a zone cut: a referral (RFC 1034 §4.3.2 step 3.b). */
  | "Delegation"
  /** The name exists but has no data of the type asked: NOERROR with the SOA (RFC 2308 §2.2). */
  | "NoData"
  /** The zone cannot be served (expired, never loaded) or the store failed. */
  | "ServerFailure"
  /** Not ours to answer: outside our zones, or the client is not in the zone's answerAllow list. */
  | "Refused"
  /** A DNAME substitution would make a name longer than 255 octets (RFC 6672 §2.2). */
  | "NameTooLong";

/**
 * A fact about the answer that a signed zone must prove (RFC 4035 §3.1.3, RFC 5155 §7.2), recorded by the
 * lookup and turned into NSEC/NSEC3 records by `denial.ts` when the query asks for DNSSEC.
 */
export type Proof =
  /** `name` does not exist and `*.encloser` does not either (NXDOMAIN). */
  | { kind: "nxdomain"; name: Name; encloser: Name }
  /** `name` exists (as `node`, or as an empty non-terminal when null) without the type asked (NODATA). */
  | { kind: "nodata"; name: Name; node: ZoneNode | null; qtype: number }
  /** The answer for `name` was synthesized from `*.encloser`: no closer name exists. */
  | { kind: "wildcard-answer"; name: Name; encloser: Name }
  /** `name` matched the wildcard `source` at `*.encloser`, which lacks the type asked. */
  | { kind: "wildcard-nodata"; name: Name; encloser: Name; source: ZoneNode }
  /** A referral to `cut`, which has no DS: the delegation is unsigned. */
  | { kind: "no-ds"; cut: Name; node: ZoneNode };

export interface LookupResult {
  outcome: Outcome;
  /** Authoritative Answer bit (RFC 1035 §4.1.1): set for all answers from our zones but referrals. */
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
  /** What a signed answer must prove; see {@link Proof}. */
  proofs: Proof[];
  /** Authority RRsets sent only with DO=1 (the DS RRset of a signed referral, RFC 4035 §3.1.4). */
  dnssecAuthority: RRset[];
}

const RCODES: Record<Outcome, number> = {
  Success: Rcode.NOERROR,
  NameError: Rcode.NXDOMAIN,
  Delegation: Rcode.NOERROR,
  NoData: Rcode.NOERROR,
  ServerFailure: Rcode.SERVFAIL,
  Refused: Rcode.REFUSED,
  NameTooLong: Rcode.YXDOMAIN,
};

export function rcodeOf(outcome: Outcome): number {
  return RCODES[outcome];
}

/** A result with empty sections: REFUSED and SERVFAIL carry nothing (and no AA). */
export function emptyResult(outcome: "Refused" | "ServerFailure"): LookupResult {
  return { outcome, aa: false, answer: [], authority: [], additional: [], proofs: [], dnssecAuthority: [] };
}
