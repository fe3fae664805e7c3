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
import { andThen, type Awaitable } from "../awaitable.ts";
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

/**
 * The port's lookups derived from `locate`, shared by the D1 store and the memory store. Each passes on what
 * `locate` gives: values from a store that never waits, promises from one that does (an `async` override of
 * `locate`, as D1's, is one of those).
 */
export abstract class LocatingZoneStore implements ZoneStore {
  abstract findZone(qname: Name): Awaitable<ZoneInfo | null>;
  /** The node and its neighbours in `tree` of the zone's served version. */
  abstract locate(zone: ZoneInfo, tree: Tree, name: Name): Awaitable<Neighbourhood>;
  /** The last node of a tree (the NSEC3 chain's wrap-around), or null when the tree is empty. */
  abstract lastNode(zone: ZoneInfo, tree: Tree): Awaitable<StoredNode | null>;

  node(zone: ZoneInfo, name: Name): Awaitable<StoredNode | null> {
    return andThen(this.locate(zone, TREE_MAIN, name), matchOf);
  }

  closestEncloser(zone: ZoneInfo, name: Name): Awaitable<ClosestEncloser> {
    return andThen(this.locate(zone, TREE_MAIN, name), (hood): Awaitable<ClosestEncloser> => {
      if (hood.match) return { name, node: hood.match };
      // Never above the apex: a zone always answers for its own apex.
      const encloser = closestEncloserOf(name, zone.name, hood.before?.name, hood.after?.name);
      if (hood.before && hood.before.name.equals(encloser)) return { name: encloser, node: hood.before };
      return andThen(this.node(zone, encloser), (node) => ({ name: encloser, node }));
    });
  }

  predecessor(zone: ZoneInfo, name: Name): Awaitable<StoredNode | null> {
    return andThen(this.locate(zone, TREE_MAIN, name), beforeOf);
  }

  nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Awaitable<StoredNode | null> {
    return andThen(this.locate(zone, TREE_NSEC3, hashedOwner), (hood) => hood.match ?? hood.before ?? this.lastNode(zone, TREE_NSEC3));
  }
}

function matchOf(hood: Neighbourhood): StoredNode | null {
  return hood.match;
}

function beforeOf(hood: Neighbourhood): StoredNode | null {
  return hood.before;
}
