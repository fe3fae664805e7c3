/**
 * @module An in-memory {@link ZoneStore} built from records: the reference implementation the engine's
 * table tests run on, and a yardstick for the D1 store. Nodes are kept in canonical order (RFC 4034 §6.1) in
 * a sorted array, so every lookup is a binary search, the same shape as the D1 store's one indexed query.
 */
import { RRType } from "../../dns/constants.ts";
import type { Name } from "../../dns/name.ts";
import { closestEncloserOf } from "./closest-encloser.ts";
import type { ClosestEncloser, ZoneInfo, ZoneNode, ZoneRecord, ZoneStore } from "./zone-store.ts";

/** A record with its owner, as a zone file or a transfer yields it. */
export interface OwnedRecord extends ZoneRecord {
  name: Name;
}

/** A zone to load: its settings (apex taken from `info`) and all its records. */
export interface MemoryZone {
  info: ZoneInfo;
  records: readonly OwnedRecord[];
}

interface LoadedZone {
  info: ZoneInfo;
  /** Main tree, canonical order. */
  nodes: ZoneNode[];
  byKey: Map<string, ZoneNode>;
  /** NSEC3 chain (NSEC3 records and the RRSIGs covering them), canonical order. */
  nsec3: ZoneNode[];
}

export class MemoryStoreError extends Error {
  override readonly name = "MemoryStoreError";
}

/** RFC 5155 §7.1: NSEC3 owners are not names of the zone; they and their RRSIGs form a chain apart. */
function inNsec3Chain(r: ZoneRecord): boolean {
  if (r.type === RRType.NSEC3) return true;
  return r.type === RRType.RRSIG && r.rdata.length >= 2 && ((r.rdata[0]! << 8) | r.rdata[1]!) === RRType.NSEC3;
}

function sortedNodes(records: readonly OwnedRecord[]): { nodes: ZoneNode[]; byKey: Map<string, ZoneNode> } {
  const byKey = new Map<string, { name: Name; records: ZoneRecord[] }>();
  for (const r of records) {
    let node = byKey.get(r.name.key);
    if (!node) {
      node = { name: r.name, records: [] };
      byKey.set(r.name.key, node);
    }
    node.records.push({ type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata });
  }
  const nodes: ZoneNode[] = [...byKey.values()].sort((a, b) => a.name.compare(b.name));
  return { nodes, byKey };
}

/** Index of the first node whose owner sorts after `name` (so `index - 1` is at or before it). */
function upperBound(nodes: readonly ZoneNode[], name: Name): number {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (nodes[mid]!.name.compare(name) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStore implements ZoneStore {
  private readonly zones = new Map<string, LoadedZone>();

  /** @throws MemoryStoreError for a record outside its zone or two zones with one apex. */
  constructor(zones: readonly MemoryZone[]) {
    for (const zone of zones) {
      const apex = zone.info.name;
      if (this.zones.has(apex.key)) throw new MemoryStoreError(`zone ${apex} given twice`);
      for (const r of zone.records) {
        if (!r.name.isSubdomainOf(apex)) throw new MemoryStoreError(`record owner ${r.name} is outside zone ${apex}`);
      }
      const main = sortedNodes(zone.records.filter((r) => !inNsec3Chain(r)));
      const chain = sortedNodes(zone.records.filter(inNsec3Chain));
      this.zones.set(apex.key, { info: zone.info, nodes: main.nodes, byKey: main.byKey, nsec3: chain.nodes });
    }
  }

  private loaded(zone: ZoneInfo): LoadedZone {
    const z = this.zones.get(zone.name.key);
    if (!z) throw new MemoryStoreError(`zone ${zone.name} is not in this store`);
    return z;
  }

  async findZone(name: Name): Promise<ZoneInfo | null> {
    for (let n = name; ; n = n.parent()) {
      const z = this.zones.get(n.key);
      if (z) return z.info;
      if (n.isRoot()) return null;
    }
  }

  async node(zone: ZoneInfo, name: Name): Promise<ZoneNode | null> {
    return this.loaded(zone).byKey.get(name.key) ?? null;
  }

  async closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser> {
    const z = this.loaded(zone);
    const exact = z.byKey.get(name.key);
    if (exact) return { name, node: exact };
    const after = upperBound(z.nodes, name);
    const encloser = closestEncloserOf(name, zone.name, z.nodes[after - 1]?.name, z.nodes[after]?.name);
    return { name: encloser, node: z.byKey.get(encloser.key) ?? null };
  }

  async predecessor(zone: ZoneInfo, name: Name): Promise<ZoneNode | null> {
    const z = this.loaded(zone);
    let i = upperBound(z.nodes, name) - 1;
    if (i >= 0 && z.nodes[i]!.name.equals(name)) i--;
    return i >= 0 ? z.nodes[i]! : null;
  }

  async nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Promise<ZoneNode | null> {
    const chain = this.loaded(zone).nsec3;
    if (chain.length === 0) return null;
    const i = upperBound(chain, hashedOwner) - 1;
    return chain[i >= 0 ? i : chain.length - 1]!;
  }
}
