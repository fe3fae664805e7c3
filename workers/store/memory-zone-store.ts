/**
 * @module An in-memory `ZoneStore` over sorted arrays: the reference the D1 store is tested against, and
 * the store the answer engine's unit tests run on.
 */
import type { Name } from "../../dns/name.ts";
import { groupIntoNodes } from "./canonical-nodes.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { nodeIndex } from "./stored-node.ts";
import type { StoredNode, Tree } from "./stored-node.ts";
import { LocatingZoneStore } from "./zone-store.ts";
import type { Neighbourhood, ZoneInfo } from "./zone-store.ts";

interface MemoryZone {
  info: ZoneInfo;
  trees: Record<Tree, StoredNode[]>;
}

export class MemoryZoneStore extends LocatingZoneStore {
  private readonly zones = new Map<string, MemoryZone>();

  /** Adds (or replaces) a zone with its records in any order. */
  put(info: ZoneInfo, records: readonly OwnedRecord[]): void {
    this.zones.set(info.name.key, { info, trees: groupIntoNodes(records) });
  }

  async findZone(qname: Name): Promise<ZoneInfo | null> {
    for (let n = 0; n <= qname.labelCount; n++) {
      const zone = this.zones.get(qname.stripLeft(n).key);
      if (zone) return zone.info;
    }
    return null;
  }

  private tree(zone: ZoneInfo, tree: Tree): StoredNode[] {
    return this.zones.get(zone.name.key)?.trees[tree] ?? [];
  }

  async locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood> {
    const nodes = this.tree(zone, tree);
    const key = name.sortKey();
    const { index: lo, found } = nodeIndex(nodes, key);
    const match = found ? nodes[lo]! : null;
    return {
      match,
      before: nodes[lo - 1] ?? null,
      after: nodes[match ? lo + 1 : lo] ?? null,
    };
  }

  async lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null> {
    const nodes = this.tree(zone, tree);
    return nodes[nodes.length - 1] ?? null;
  }
}
