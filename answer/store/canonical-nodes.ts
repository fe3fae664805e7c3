/**
 * @module Turning records in arbitrary order (AXFR order is whatever the primary likes, RFC 5936 §2.2)
 * into nodes in canonical order, per tree, and merging sorted node sequences.
 */
import { compareBytes } from "../../dns/bytes.ts";
import { makeNode, normalizeRecords, treeOf, TREE_MAIN, TREE_NSEC3 } from "./stored-node.ts";
import type { OwnedRecord, StoredNode, Tree } from "./stored-node.ts";

/** Nodes of each tree, in canonical order, records normalized. */
export type NodesByTree = Record<Tree, StoredNode[]>;

/** Groups records by owner (case-insensitively) and tree, then sorts the owners canonically. */
export function groupIntoNodes(records: readonly OwnedRecord[]): NodesByTree {
  const maps: [Map<string, StoredNode>, Map<string, StoredNode>] = [new Map(), new Map()];
  for (const r of records) {
    const map = maps[treeOf(r.type, r.rdata)];
    const k = r.name.key;
    let node = map.get(k);
    if (!node) {
      node = makeNode(r.name, []);
      map.set(k, node);
    }
    node.records.push({ type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata });
  }
  const sorted = (map: Map<string, StoredNode>): StoredNode[] => {
    const nodes = [...map.values()];
    for (const n of nodes) normalizeRecords(n.records);
    return nodes.sort((a, b) => compareBytes(a.key, b.key));
  };
  return { [TREE_MAIN]: sorted(maps[0]), [TREE_NSEC3]: sorted(maps[1]) } as NodesByTree;
}

/** Merges two nodes of the same owner (from different chunks): union of records, normalized. */
export function mergeSameOwner(a: StoredNode, b: StoredNode): StoredNode {
  return { name: a.name, key: a.key, records: normalizeRecords([...a.records, ...b.records]) };
}
