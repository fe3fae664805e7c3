/**
 * @module Authenticated denial with NSEC3 (RFC 5155 §7.2). Names are hashed (`nsec3-hash.ts`); an NSEC3
 * "matches" a name whose hash is its owner label and "covers" a name whose hash falls between its owner and
 * its Next Hashed Owner. Only records of the chain that NSEC3PARAM names are used (§4: a zone may carry two
 * chains while its parameters change). What each fact needs:
 *   - closest encloser proof (§7.2.1): the NSEC3 matching the closest encloser CE and the one covering the
 *     "next closer" name (CE plus one label of the query name);
 *   - NXDOMAIN (§7.2.2): the closest encloser proof and the NSEC3 covering `*.CE`;
 *   - NODATA (§7.2.3): the NSEC3 matching the name; for QTYPE DS without one (§7.2.4, an opt-out delegation),
 *     the closest provable encloser proof, whose next-closer NSEC3 has Opt-Out set;
 *   - wildcard answer (§7.2.6): the NSEC3 covering the next closer name;
 *   - wildcard NODATA (§7.2.5): the closest encloser proof and the NSEC3 matching the wildcard;
 *   - unsigned delegation (§7.2.7): the NSEC3 matching the cut, or, under opt-out, the closest provable
 *     encloser proof for it.
 */
import { RRType } from "../../dns/constants.ts";
import type { Name } from "../../dns/name.ts";
import { hashedOwner, inChain, type Nsec3Params } from "./nsec3-hash.ts";
import type { Proof } from "./result.ts";
import type { RRset } from "./rrset.ts";
import { typeCovered } from "./rrset.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** The NSEC3 RRset of the chain at `node` (with its RRSIGs). */
function chainRRset(node: ZoneNode, params: Nsec3Params): RRset | null {
  const records = node.records.filter((r) => r.type === RRType.NSEC3 && inChain(r.rdata, params));
  if (records.length === 0) return null;
  const sigs = node.records.filter((r) => r.type === RRType.RRSIG && typeCovered(r) === RRType.NSEC3);
  return { name: node.name, type: RRType.NSEC3, class: records[0]!.class, records, sigs };
}

export class Nsec3Prover {
  constructor(
    private readonly store: ZoneStore,
    private readonly zone: ZoneInfo,
    private readonly params: Nsec3Params,
  ) {}

  /** The NSEC3 matching (`exact`) or covering `name`. */
  private async find(name: Name): Promise<{ rrset: RRset | null; exact: boolean }> {
    const owner = await hashedOwner(name, this.zone.name, this.params);
    const node = await this.store.nsec3Predecessor(this.zone, owner);
    if (!node) return { rrset: null, exact: false };
    return { rrset: chainRRset(node, this.params), exact: node.name.equals(owner) };
  }

  private async matching(name: Name): Promise<RRset | null> {
    const found = await this.find(name);
    return found.exact ? found.rrset : null;
  }

  private async covering(name: Name): Promise<RRset | null> {
    return (await this.find(name)).rrset;
  }

  /** The name one label below `encloser` on the way to `name` (RFC 5155 §1.3, "next closer name"). */
  private static nextCloser(name: Name, encloser: Name): Name {
    return name.stripLeft(name.labelCount - encloser.labelCount - 1);
  }

  /** §7.2.1 for `name` whose closest encloser is `encloser`. */
  private async closestEncloserProof(name: Name, encloser: Name): Promise<Array<RRset | null>> {
    return [await this.matching(encloser), await this.covering(Nsec3Prover.nextCloser(name, encloser))];
  }

  /**
   * The closest provable encloser proof (§7.2.1 with opt-out): the deepest ancestor of `name` with a matching
   * NSEC3, and the NSEC3 covering the next closer name.
   */
  private async provableEncloserProof(name: Name): Promise<Array<RRset | null>> {
    for (let n = name.parent(); n.isSubdomainOf(this.zone.name); n = n.parent()) {
      const match = await this.matching(n);
      if (match) return [match, await this.covering(Nsec3Prover.nextCloser(name, n))];
      if (n.equals(this.zone.name)) break;
    }
    return [];
  }

  async prove(proof: Proof): Promise<Array<RRset | null>> {
    switch (proof.kind) {
      case "nxdomain":
        return [...(await this.closestEncloserProof(proof.name, proof.encloser)), await this.covering(proof.encloser.child("*"))];
      case "nodata": {
        const match = await this.matching(proof.name);
        if (match || proof.qtype !== RRType.DS) return [match];
        return this.provableEncloserProof(proof.name);
      }
      case "wildcard-answer":
        return [await this.covering(Nsec3Prover.nextCloser(proof.name, proof.encloser))];
      case "wildcard-nodata":
        return [...(await this.closestEncloserProof(proof.name, proof.encloser)), await this.matching(proof.encloser.child("*"))];
      case "no-ds": {
        const match = await this.matching(proof.cut);
        return match ? [match] : this.provableEncloserProof(proof.cut);
      }
    }
  }
}
