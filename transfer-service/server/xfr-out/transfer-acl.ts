/**
 * @module Who may transfer a zone out (RFC 5936 §6: the access policy is the operator's), decided in one
 * pure function over the zone's `transferAllow` so the rule is one table of cases (`transfer-acl.test.ts`).
 *
 * An entry is an address or a CIDR prefix, optionally naming a TSIG key:
 * 1. No entry matches the source address (an empty list matches nothing): REFUSED. Decided before any
 *    TSIG check, so a stranger learns nothing about our keys.
 * 2. A matching entry without a key allows the transfer, signed or not (a valid signature is still
 *    answered signed).
 * 3. Matching entries that all name keys: the request must be signed with one of those keys and verify.
 *    Unsigned → NOTAUTH (as knotd answers; RFC 8945 §5.2 has no TSIG error for a missing record);
 *    signed with another key we hold → NOTAUTH with BADKEY; a signature that fails (unknown key, bad MAC,
 *    clock) never reaches this function: the caller answers it with the RFC 8945 error (BADKEY, BADSIG,
 *    BADTIME).
 *
 * IPv4-mapped IPv6 sources are unmapped by `addresses.ts`'s parser, the same one RRL and NOTIFY use.
 */
import { inPrefix, parseAddress, parsePrefix } from "../../addresses.ts";

/** One `transferAllow` entry as the Worker stores it. */
export interface TransferAllowEntry {
  address: string;
  tsigKey?: string | undefined;
}

/** The request's TSIG state once verified: unsigned, or signed with a key that verified. */
export type TransferTsig = { kind: "unsigned" } | { kind: "verified"; keyName: string };

export type TransferDecision =
  | { allow: true; match: string }
  | { allow: false; rcode: "REFUSED" | "NOTAUTH"; badKey: boolean; reason: string };

/** Key names compare as DNS names: case-insensitive, trailing dot optional. */
export function sameKeyName(a: string, b: string): boolean {
  return a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();
}

/** The entries whose address or prefix holds `source` (an unparsable entry matches nothing). */
export function matchingEntries(allow: readonly TransferAllowEntry[], source: string): TransferAllowEntry[] {
  const addr = parseAddress(source);
  if (!addr) return [];
  return allow.filter((entry) => {
    const prefix = parsePrefix(entry.address);
    return prefix !== undefined && inPrefix(addr, prefix);
  });
}

/** The decision for a transfer from `source` whose TSIG state is `tsig`; see the module comment. */
export function decideTransfer(allow: readonly TransferAllowEntry[], source: string, tsig: TransferTsig): TransferDecision {
  const matches = matchingEntries(allow, source);
  if (matches.length === 0) {
    const reason = allow.length === 0 ? "the zone's transferAllow is empty" : `source ${source} matches no transferAllow entry`;
    return { allow: false, rcode: "REFUSED", badKey: false, reason };
  }
  const open = matches.find((e) => !e.tsigKey);
  if (open) return { allow: true, match: open.address };
  if (tsig.kind === "unsigned") {
    return { allow: false, rcode: "NOTAUTH", badKey: false, reason: `unsigned request; transferAllow ${matches[0]!.address} requires TSIG key ${matches[0]!.tsigKey}` };
  }
  const keyed = matches.find((e) => sameKeyName(e.tsigKey!, tsig.keyName));
  if (keyed) return { allow: true, match: `${keyed.address} key ${keyed.tsigKey}` };
  return {
    allow: false,
    rcode: "NOTAUTH",
    badKey: true,
    reason: `signed with key ${tsig.keyName}, but transferAllow for ${source} names ${matches.map((e) => e.tsigKey).join(", ")}`,
  };
}
