/**
 * @module DNAME redirection (RFC 6672).
 *
 * A DNAME at owner O with target T maps every name *below* O (never O itself, §2.3) to the same labels
 * above T. When the lookup of a query name Q passes a DNAME on the way down (RFC 6672 §3.2, a step added to
 * RFC 1034 §4.3.2 step 3):
 *   1. the DNAME RRset goes into the answer;
 *   2. a CNAME from Q to Q' = (Q with the suffix O replaced by T, its own labels lowercased) is
 *      synthesized, with the DNAME's TTL (§3.1), and goes into the answer after it;
 *   3. the lookup continues at Q', like a CNAME;
 *   4. if Q' would exceed 255 octets, the answer is YXDOMAIN with the DNAME alone (§2.2).
 */
import { RRClass, RRType } from "../dns/constants.ts";
import { MAX_NAME_LENGTH, Name } from "../dns/name.ts";
import { WireWriter } from "../dns/wire/writer.ts";
import type { RRset } from "./rrset.ts";
import { minTtl } from "./rrset.ts";
import { targetName } from "./target-name.ts";

export type DnameSubstitution =
  | { kind: "cname"; cname: RRset; target: Name }
  /** Q' would be longer than 255 octets: YXDOMAIN (RFC 6672 §2.2). */
  | { kind: "too-long" }
  /** The DNAME's rdata holds no valid name (damaged data): nothing can be synthesized. */
  | { kind: "broken" };

/** Synthesizes the CNAME for `qname` below the DNAME RRset `dname` (owned by an ancestor of `qname`). */
export function substituteDname(qname: Name, dname: RRset): DnameSubstitution {
  const record = dname.records[0];
  const target = record ? targetName(RRType.DNAME, record.rdata) : null;
  if (!target) return { kind: "broken" };
  // Knot and NSD build Q' from the lowercased query name (they look names up lowercased); so does Backstop,
  // so the synthesized CNAME is the same whatever case the question used.
  const kept = qname.lower().labels.slice(0, qname.labelCount - dname.name.labelCount);
  let length = target.wireLength;
  for (const label of kept) length += label.length + 1;
  if (length > MAX_NAME_LENGTH) return { kind: "too-long" };
  const synthesized = Name.fromLabels([...kept, ...target.labels]);
  const w = new WireWriter();
  w.name(synthesized, false);
  const cname: RRset = {
    name: qname,
    type: RRType.CNAME,
    class: RRClass.IN,
    records: [{ type: RRType.CNAME, class: RRClass.IN, ttl: minTtl(dname), rdata: w.finish() }],
    // RFC 6672 §5.3.1: the synthesized CNAME is never signed; validators check the DNAME's signature instead.
    sigs: [],
  };
  return { kind: "cname", cname, target: synthesized };
}
