/**
 * @module Authenticated denial of existence for a signed zone (RFC 4035 §3.1.3, RFC 5155 §7.2): the lookup's
 * `proofs` become NSEC or NSEC3 RRsets (with their RRSIGs) in the authority section, only when the query set
 * DO (RFC 3225) and only for a zone that is signed. Which method:
 *   1. an NSEC3PARAM at the apex names the NSEC3 chain to use (RFC 5155 §4: during a parameter change a zone
 *      carries two chains, and NSEC3PARAM says which one is complete);
 *   2. otherwise an NSEC at the apex means NSEC;
 *   3. otherwise the zone is unsigned and nothing is added.
 * Records proving two facts are sent once.
 */
import { RRType } from "../dns/constants.ts";
import { allOf, andThen, type Awaitable } from "./awaitable.ts";
import { nsecProof } from "./nsec.ts";
import { Nsec3Prover } from "./nsec3.ts";
import { nsec3Params, type Sha1 } from "./nsec3-hash.ts";
import type { Proof } from "./result.ts";
import type { RRset } from "./rrset.ts";
import type { ZoneInfo, ZoneStore } from "./zone-store.ts";

/**
 * The NSEC/NSEC3 RRsets (each with its RRSIGs) that prove `proofs` in `zone`; [] for an unsigned zone. `sha1`
 * hashes NSEC3 owners (Web Crypto's when not given).
 */
export function denialRRsets(store: ZoneStore, zone: ZoneInfo, proofs: readonly Proof[], sha1?: Sha1): Awaitable<RRset[]> {
  if (proofs.length === 0) return [];
  return andThen(store.node(zone, zone.name), (apex): Awaitable<RRset[]> => {
    if (!apex) return [];
    const param = apex.records.find((r) => r.type === RRType.NSEC3PARAM);
    const params = param ? nsec3Params(param.rdata) : undefined;
    // Every proof's lookups start at once (the D1 store reads them side by side), then are put together.
    let found: Awaitable<Array<Array<RRset | null>>>;
    if (params) {
      const prover = new Nsec3Prover(store, zone, params, sha1);
      found = allOf(proofs.map((p) => prover.prove(p)));
    } else if (apex.records.some((r) => r.type === RRType.NSEC)) {
      found = allOf(proofs.map((p) => nsecProof(store, zone, p)));
    } else {
      return [];
    }
    return andThen(found, distinct);
  });
}

/** The RRsets found, each once (one NSEC may prove two facts). */
function distinct(found: ReadonlyArray<ReadonlyArray<RRset | null>>): RRset[] {
  const out: RRset[] = [];
  const seen = new Set<string>();
  for (const rrset of found.flat()) {
    if (!rrset) continue;
    const key = `${rrset.type}/${rrset.name.key}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(rrset);
  }
  return out;
}
