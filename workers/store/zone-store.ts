/**
 * @module The read side of the store, as the answer engine sees it. Every lookup the engine needs is
 * derived from one primitive, `locate`: the node at a name (if any) and its canonical neighbours in a
 * tree (RFC 4034 §6.1 order). In the D1 store that is one indexed query on a cache miss.
 *
 * - zone for a name: longest match over the hosted zones (RFC 1034 §4.3.2 step 2);
 * - exact node;
 * - closest encloser (RFC 5155 §7.2.1, and RFC 1034's "best match" walk): the deepest existing ancestor,
 *   empty non-terminals included, computed from the two neighbours (see `closestEncloser`);
 * - canonical predecessor (the NSEC that covers a name, RFC 4035 §3.1.3.2);
 * - NSEC3 predecessor: the same lookup in the NSEC3 tree, wrapping around (RFC 5155 §7.2.1).
 */
import { compareLabels } from "../../dns/name.ts";
import type { Name } from "../../dns/name.ts";
import type { ZoneModel } from "../db/schema.ts";
import { TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { StoredNode, Tree } from "./stored-node.ts";

export type { StoredNode, StoredRecord, Tree } from "./stored-node.ts";
export { TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";

/** A hosted zone as the answer path needs it, at the version being served. */
export interface ZoneInfo {
  id: number;
  /** The apex. */
  name: Name;
  model: ZoneModel;
  /** The served version; null before the first transfer (nothing to answer from). */
  version: number | null;
  serial: number | null;
  /** Past this instant (ms) the zone is expired and must not be answered from (SERVFAIL). */
  expiresAt: number | null;
  /** CIDR prefixes that may get answers; empty means everyone. */
  answerAllow: readonly string[];
  /** When (ms) the store began the read that gave `version` (the port-53 front's cache expires from it). */
  pointerReadAt?: number | undefined;
}

/** A node and its canonical neighbours in one tree. */
export interface Neighbourhood {
  /** The node at exactly the name, if there is one. */
  match: StoredNode | null;
  /** The greatest node sorting before the name, if any. */
  before: StoredNode | null;
  /** The least node sorting after the name, if any. */
  after: StoredNode | null;
}

export interface ClosestEncloser {
  /** The deepest ancestor-or-self of the name that exists (a node or an empty non-terminal). */
  name: Name;
  /** Its node, or null when it is an empty non-terminal. */
  node: StoredNode | null;
}

export interface ZoneStore {
  /** The hosted zone that is the longest match for `qname`, or null. */
  findZone(qname: Name): Promise<ZoneInfo | null>;
  /** The node and its neighbours in `tree` of the zone's served version. */
  locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood>;
  /** The last node of a tree (the NSEC3 chain's wrap-around), or null when the tree is empty. */
  lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null>;
  /** The node at exactly `name` in the main tree, or null (empty non-terminals included). */
  node(zone: ZoneInfo, name: Name): Promise<StoredNode | null>;
  closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser>;
  /** The greatest node whose owner sorts strictly before `name`. */
  predecessor(zone: ZoneInfo, name: Name): Promise<StoredNode | null>;
  /** The NSEC3 node at or before `hashedOwner`, wrapping to the last one; null when there is no chain. */
  nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Promise<StoredNode | null>;
}

/** Number of rightmost labels two names share (case-insensitively). */
export function commonSuffixLabels(a: Name, b: Name): number {
  let i = a.labels.length - 1, j = b.labels.length - 1, n = 0;
  while (i >= 0 && j >= 0 && compareLabels(a.labels[i]!, b.labels[j]!) === 0) {
    i--;
    j--;
    n++;
  }
  return n;
}

/**
 * The closest encloser of `name` from its neighbours. Names below an ancestor A form one contiguous range
 * of the canonical order that contains `name`; if anything exists below A, the nearest existing names on
 * either side of `name` include one in that range. So the deepest ancestor of `name` that is also an
 * ancestor-or-self of `before` or `after` is the deepest existing ancestor, and it exists (as a node, or
 * as an empty non-terminal above one).
 */
export function encloserFromNeighbours(name: Name, hood: Neighbourhood): Name {
  if (hood.match) return name;
  let best = 0;
  for (const n of [hood.before, hood.after]) {
    if (n) best = Math.max(best, commonSuffixLabels(name, n.name));
  }
  return name.stripLeft(name.labelCount - best);
}

/** The lookups derived from `locate`, shared by the D1 store and the in-memory store. */
export abstract class LocatingZoneStore implements ZoneStore {
  abstract findZone(qname: Name): Promise<ZoneInfo | null>;
  abstract locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood>;
  abstract lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null>;

  async node(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    return (await this.locate(zone, TREE_MAIN, name)).match;
  }

  async closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser> {
    const hood = await this.locate(zone, TREE_MAIN, name);
    if (hood.match) return { name, node: hood.match };
    let encloser = encloserFromNeighbours(name, hood);
    // Never above the apex: a zone always answers for its own apex.
    if (!encloser.isSubdomainOf(zone.name)) encloser = zone.name;
    if (hood.before && hood.before.name.equals(encloser)) return { name: encloser, node: hood.before };
    return { name: encloser, node: await this.node(zone, encloser) };
  }

  async predecessor(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    return (await this.locate(zone, TREE_MAIN, name)).before;
  }

  async nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Promise<StoredNode | null> {
    const hood = await this.locate(zone, TREE_NSEC3, hashedOwner);
    return hood.match ?? hood.before ?? (await this.lastNode(zone, TREE_NSEC3));
  }
}
