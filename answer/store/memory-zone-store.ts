/**
 * @module The in-memory `ZoneStore` (the answer engine's port, `answer/zone-store.ts`) over sorted arrays:
 * the reference implementation. It meets the same contract as the D1 store (`answer/testing/store-contract.ts`,
 * run against both), the answer engine's table tests run on it, and the ingest tests compare the D1 store's
 * lookups with its own. Records are grouped and ordered exactly as the D1 store keeps them
 * (`canonical-nodes.ts`), and every lookup is a binary search, the same shape as the D1 store's one query.
 * It never waits, so it returns values, not promises, and the engine answers from it in the same call
 * (`answer/awaitable.ts`); `answer/testing/waiting-store.ts` turns it into a store that always waits.
 */
import type { Name } from "../../dns/name.ts";
import type { ZoneInfo } from "../zone-store.ts";
import { groupIntoNodes } from "./canonical-nodes.ts";
import { nodeIndex } from "./stored-node.ts";
import type { OwnedRecord, StoredNode, Tree } from "./stored-node.ts";
import { LocatingZoneStore } from "./locating-zone-store.ts";
import type { Neighbourhood } from "./locating-zone-store.ts";

export type { OwnedRecord };

/** A zone to load: its settings (the apex is `info.name`) and all its records, in any order. */
export interface MemoryZone {
  info: ZoneInfo;
  records: readonly OwnedRecord[];
}

export class MemoryStoreError extends Error {
  override readonly name = "MemoryStoreError";
}

interface LoadedZone {
  info: ZoneInfo;
  trees: Record<Tree, StoredNode[]>;
}

export class MemoryZoneStore extends LocatingZoneStore {
  private readonly zones = new Map<string, LoadedZone>();

  /** @throws MemoryStoreError for a record outside its zone or two zones with one apex. */
  constructor(zones: readonly MemoryZone[]) {
    super();
    for (const zone of zones) {
      const apex = zone.info.name;
      if (this.zones.has(apex.key)) throw new MemoryStoreError(`zone ${apex} given twice`);
      for (const r of zone.records) {
        if (!r.name.isSubdomainOf(apex)) throw new MemoryStoreError(`record owner ${r.name} is outside zone ${apex}`);
      }
      this.zones.set(apex.key, { info: zone.info, trees: groupIntoNodes(zone.records) });
    }
  }

  findZone(qname: Name): ZoneInfo | null {
    for (let n = 0; n <= qname.labelCount; n++) {
      const zone = this.zones.get(qname.stripLeft(n).key);
      if (zone) return zone.info;
    }
    return null;
  }

  private tree(zone: ZoneInfo, tree: Tree): StoredNode[] {
    return this.zones.get(zone.name.key)?.trees[tree] ?? [];
  }

  locate(zone: ZoneInfo, tree: Tree, name: Name): Neighbourhood {
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

  lastNode(zone: ZoneInfo, tree: Tree): StoredNode | null {
    const nodes = this.tree(zone, tree);
    return nodes[nodes.length - 1] ?? null;
  }
}
