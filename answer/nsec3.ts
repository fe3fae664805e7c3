/**
 * @module Authenticated denial with NSEC3 (RFC 5155 §7.2). Names are hashed (`nsec3-hash.ts`); an NSEC3
 * "matches" a name whose hash is its owner label and "covers" a name whose hash falls between its owner and
 * its Next Hashed Owner. Only records of the chain that NSEC3PARAM names are used (§4: a zone may carry two
 * chains while its parameters change; the search steps over the other chain's nodes). What each fact needs:
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
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import { fromBase32Hex, toBase32Hex } from "../dns/rdata/base32hex.ts";
import { andThen, type Awaitable } from "./awaitable.ts";
import { hashedOwner, inChain, type Nsec3Params, type Sha1, webSha1 } from "./nsec3-hash.ts";
import type { Proof } from "./result.ts";
import type { RRset } from "./rrset.ts";
import { typeCovered } from "./rrset.ts";
import type { ZoneInfo, ZoneNode, ZoneStore } from "./zone-store.ts";

/** How many nodes of other chains a search steps over before giving up (two chains interleave at random). */
const MAX_CHAIN_STEPS = 32;

/**
 * The hashed owner just before `owner` (its hash minus one, as a big-endian number; the all-zero hash wraps to
 * all ones, so the store's wrap-around gives the chain's last node). Undefined for an owner that is not a
 * base32hex hash label under `apex`.
 */
export function ownerBefore(owner: Name, apex: Name): Name | undefined {
  const label = owner.labelCount === apex.labelCount + 1 ? owner.labels[0] : undefined;
  const hash = label ? fromBase32Hex(new TextDecoder().decode(label)) : undefined;
  if (!hash || hash.length === 0) return undefined;
  const out = hash.slice();
  let i = out.length - 1;
  while (i >= 0 && out[i] === 0) out[i--] = 0xff;
  if (i >= 0) out[i]!--;
  return apex.child(toBase32Hex(out).toLowerCase());
}

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
    /** The host's SHA-1 (a synchronous one keeps the whole proof a value over a store that never waits). */
    private readonly sha1: Sha1 = webSha1,
  ) {}

  /**
   * The NSEC3 matching (`exact`) or covering `name`. The store's NSEC3 tree holds every chain the zone carries;
   * when the node at or before the hash belongs to another chain (a parameter change in progress), the search
   * steps back to the node before it, at most {@link MAX_CHAIN_STEPS} times.
   */
  private find(name: Name): Awaitable<{ rrset: RRset | null; exact: boolean }> {
    return andThen(hashedOwner(name, this.zone.name, this.params, this.sha1), (owner) => this.search(owner, owner, 0));
  }

  private search(owner: Name, probe: Name, step: number): Awaitable<{ rrset: RRset | null; exact: boolean }> {
    if (step >= MAX_CHAIN_STEPS) return { rrset: null, exact: false };
    return andThen(this.store.nsec3Predecessor(this.zone, probe), (node) => {
      if (!node) return { rrset: null, exact: false };
      const rrset = chainRRset(node, this.params);
      if (rrset) return { rrset, exact: node.name.equals(owner) };
      const before = ownerBefore(node.name, this.zone.name);
      if (!before) return { rrset: null, exact: false };
      return this.search(owner, before, step + 1);
    });
  }

  private matching(name: Name): Awaitable<RRset | null> {
    return andThen(this.find(name), (found) => (found.exact ? found.rrset : null));
  }

  private covering(name: Name): Awaitable<RRset | null> {
    return andThen(this.find(name), (found) => found.rrset);
  }

  /** The name one label below `encloser` on the way to `name` (RFC 5155 §1.3, "next closer name"). */
  private static nextCloser(name: Name, encloser: Name): Name {
    return name.stripLeft(name.labelCount - encloser.labelCount - 1);
  }

  /** §7.2.1 for `name` whose closest encloser is `encloser`. */
  private closestEncloserProof(name: Name, encloser: Name): Awaitable<Array<RRset | null>> {
    return andThen(this.matching(encloser), (match) => andThen(this.covering(Nsec3Prover.nextCloser(name, encloser)), (cover) => [match, cover]));
  }

  /**
   * The closest provable encloser proof (§7.2.1 with opt-out): the deepest ancestor of `name` with a matching
   * NSEC3, and the NSEC3 covering the next closer name.
   */
  private provableEncloserProof(name: Name): Awaitable<Array<RRset | null>> {
    const from = (n: Name): Awaitable<Array<RRset | null>> => {
      if (!n.isSubdomainOf(this.zone.name)) return [];
      return andThen(this.matching(n), (match): Awaitable<Array<RRset | null>> => {
        if (match) return andThen(this.covering(Nsec3Prover.nextCloser(name, n)), (cover) => [match, cover]);
        if (n.equals(this.zone.name)) return [];
        return from(n.parent());
      });
    };
    return from(name.parent());
  }

  prove(proof: Proof): Awaitable<Array<RRset | null>> {
    switch (proof.kind) {
      case "nxdomain":
        return andThen(this.closestEncloserProof(proof.name, proof.encloser), (ce) => andThen(this.covering(proof.encloser.child("*")), (wild) => [...ce, wild]));
      case "nodata":
        return andThen(this.matching(proof.name), (match) => {
          if (match || proof.qtype !== RRType.DS) return [match];
          return this.provableEncloserProof(proof.name);
        });
      case "wildcard-answer":
        return andThen(this.covering(Nsec3Prover.nextCloser(proof.name, proof.encloser)), (cover) => [cover]);
      case "wildcard-nodata":
        return andThen(this.closestEncloserProof(proof.name, proof.encloser), (ce) => andThen(this.matching(proof.encloser.child("*")), (match) => [...ce, match]));
      case "no-ds":
        return andThen(this.matching(proof.cut), (match) => (match ? [match] : this.provableEncloserProof(proof.cut)));
    }
  }
}
