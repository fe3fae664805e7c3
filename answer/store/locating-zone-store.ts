/**
 * @module How a store that keeps each tree of a zone in canonical order (RFC 4034 §6.1) answers the
 * answer engine's {@link ZoneStore} port: every lookup is derived from one primitive, `locate`, the node at
 * a name (if any) and its canonical neighbours in a tree. In the D1 store that is one indexed query on a
 * cache miss; in the memory store, a binary search.
 *
 * - zone for a name: longest match over the hosted zones (RFC 1034 §4.3.2 step 2), the store's own;
 * - exact node;
 * - closest encloser (RFC 5155 §7.2.1, and RFC 1034's "best match" walk): the deepest existing ancestor,
 *   empty non-terminals included, computed from the two neighbours (`answer/closest-encloser.ts`);
 * - canonical predecessor (the NSEC that covers a name, RFC 4035 §3.1.3.2);
 * - NSEC3 predecessor: the same lookup in the NSEC3 tree, wrapping around (RFC 5155 §7.2.1).
 */
import type { Name } from "../../dns/name.ts";
import { closestEncloserOf } from "../closest-encloser.ts";
import type { ClosestEncloser, ZoneInfo, ZoneStore } from "../zone-store.ts";
import { TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { StoredNode, Tree } from "./stored-node.ts";

/** A node and its canonical neighbours in one tree. */
export interface Neighbourhood {
  /** The node at exactly the name, if there is one. */
  match: StoredNode | null;
  /** The greatest node sorting before the name, if any. */
  before: StoredNode | null;
  /** The least node sorting after the name, if any. */
  after: StoredNode | null;
}

/** The port's lookups derived from `locate`, shared by the D1 store and the memory store. */
export abstract class LocatingZoneStore implements ZoneStore {
  abstract findZone(qname: Name): Promise<ZoneInfo | null>;
  /** The node and its neighbours in `tree` of the zone's served version. */
  abstract locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood>;
  /** The last node of a tree (the NSEC3 chain's wrap-around), or null when the tree is empty. */
  abstract lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null>;

  async node(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    return (await this.locate(zone, TREE_MAIN, name)).match;
  }

  async closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser> {
    const hood = await this.locate(zone, TREE_MAIN, name);
    if (hood.match) return { name, node: hood.match };
    // Never above the apex: a zone always answers for its own apex.
    const encloser = closestEncloserOf(name, zone.name, hood.before?.name, hood.after?.name);
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
