/**
 * @module The `ZoneStore` (the answer engine's port, `answer/zone-store.ts`) over D1 blocks, with two
 * in-isolate caches:
 *
 * - the **zone directory** (`zone-directory.ts`): which zone answers a name, one indexed query on a miss,
 *   kept fresh by following the zone change log at most once per `pointerTtlMs` (1 s by default), so a
 *   commit is seen within a second at O(1) rows read whatever the number of zones;
 * - an **LRU of decoded blocks** by (zone, block id, added version). A block row is immutable (an IXFR
 *   writes a new row), so that key names its content for every version that sees it, and a cached block
 *   can never be stale: the id alone would not do, since SQLite may hand out the id of a pruned row again
 *   (the table has no AUTOINCREMENT), but never with the same zone and added version. Beside it, per
 *   (zone, version, tree), the key ranges already seen: `[first_key, next_key)` → block, so a lookup that
 *   lands in a known range costs no query at all.
 *
 * A miss is one indexed query (`blocks_lookup`); only a lookup that needs a neighbour across a block edge
 * costs a second one.
 */
import { LRUCache } from "lru-cache";
import type { Name } from "../../dns/name.ts";
import { decodeBlock } from "./block-codec.ts";
import {
  blockAtOrBeforeStatement,
  firstBlockStatement,
  firstRow,
  lastBlockStatement,
} from "./block-table.ts";
import type { BlockRow } from "./block-table.ts";
import { Budget } from "./statement-budget.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { nodeIndex } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import type { ZoneInfo } from "../../answer/zone-store.ts";
import { LocatingZoneStore } from "../../answer/store/locating-zone-store.ts";
import type { Neighbourhood } from "../../answer/store/locating-zone-store.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { ZoneDirectory } from "./zone-directory.ts";

export interface D1ZoneStoreOptions {
  /** How long the zones' current-version pointers may be reused without a poll of the change log. Default 1000 ms. */
  pointerTtlMs?: number;
  /** Budget of the block cache, in bytes of block data. Default 32 MiB. */
  blockCacheBytes?: number;
  now?: () => number;
}

/** A block's key range at one version: `[firstKey, nextKey)` holds its nodes and nobody else's. */
interface KnownRange {
  /** The block's cache key: `${zone}:${id}:${addedVersion}`. */
  block: string;
  firstKey: Uint8Array;
  nextKey: Uint8Array | null;
  /** No block precedes this one at this version. */
  first: boolean;
}

interface CachedBlock extends KnownRange {
  nodes: StoredNode[];
}

/** Decoded nodes cost more than their bytes: a rough factor for the cache's size accounting. */
const DECODED_OVERHEAD = 4;

function approximateSize(nodes: readonly StoredNode[]): number {
  let n = 64;
  for (const node of nodes) {
    n += node.key.length * 2 + 32;
    for (const r of node.records) n += r.rdata.length + 24;
  }
  return n;
}

export class D1ZoneStore extends LocatingZoneStore {
  private readonly budget: Budget;
  /** Which zone answers a name, and the freshness of the zones' pointers (`zone-directory.ts`). */
  readonly directory: ZoneDirectory;
  /** Decoded nodes by `${zone}:${block id}:${added version}`. */
  private readonly blocks: LRUCache<string, StoredNode[]>;
  /** `${zone}:${version}:${tree}` → ranges known for that version, sorted by first key. */
  private readonly ranges = new LRUCache<string, KnownRange[]>({
    maxSize: 8 * 1024 * 1024,
    sizeCalculation: (known) => 64 + known.length * 160,
  });
  /** `${zone}:${version}:${tree}` of trees found empty (a zone without NSEC3 asks often). */
  private readonly emptyTrees = new LRUCache<string, true>({ max: 1024 });
  /** Block queries sent; `queries` adds the directory's. */
  private blockQueries = 0;

  /** D1 queries sent, for tests and metrics. */
  get queries(): number {
    return this.blockQueries + this.directory.queries;
  }

  constructor(db: D1Queryable, options: D1ZoneStoreOptions = {}) {
    super();
    this.budget = new Budget(db);
    this.directory = new ZoneDirectory(this.budget, {
      freshnessMs: options.pointerTtlMs ?? 1000,
      ...(options.now ? { now: options.now } : {}),
    });
    this.blocks = new LRUCache<string, StoredNode[]>({
      maxSize: options.blockCacheBytes ?? 32 * 1024 * 1024,
      sizeCalculation: (nodes) => approximateSize(nodes) * DECODED_OVERHEAD,
    });
  }

  /** Drops the cached pointers, so the next lookup re-reads them (after a commit in this isolate). */
  invalidatePointers(): void {
    this.directory.invalidate();
  }

  findZone(qname: Name): Promise<ZoneInfo | null> {
    return this.directory.findZone(qname);
  }

  private cacheRow(zone: ZoneInfo, tree: Tree, row: BlockRow): CachedBlock {
    const block = `${zone.id}:${row.id}:${row.addedVersion}`;
    let nodes = this.blocks.get(block);
    if (!nodes) {
      nodes = decodeBlock(row.data);
      this.blocks.set(block, nodes);
    }
    // next_key depends on the version, so the range is remembered per version.
    const rangeKey = `${zone.id}:${zone.version}:${tree}`;
    const known = this.ranges.get(rangeKey) ?? [];
    const entry: KnownRange = { block, firstKey: row.firstKey, nextKey: row.nextKey, first: row.first };
    const at = known.findIndex((b) => compareBytes(b.firstKey, entry.firstKey) >= 0);
    if (at < 0) known.push(entry);
    else if (compareBytes(known[at]!.firstKey, entry.firstKey) === 0) known[at] = entry;
    else known.splice(at, 0, entry);
    this.ranges.set(rangeKey, known);
    return { ...entry, nodes };
  }

  /** A cached block whose range at this version holds `key`, without a query. */
  private knownBlock(zone: ZoneInfo, tree: Tree, key: Uint8Array): CachedBlock | undefined {
    const known = this.ranges.get(`${zone.id}:${zone.version}:${tree}`);
    if (!known) return undefined;
    let lo = 0, hi = known.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes(known[mid]!.firstKey, key) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const range = known[found]!;
    if (range.nextKey !== null && compareBytes(key, range.nextKey) >= 0) return undefined;
    const nodes = this.blocks.get(range.block);
    return nodes ? { ...range, nodes } : undefined;
  }

  /** The block holding `key` (or, before the first block, the first block), or null for an empty tree. */
  private async blockFor(zone: ZoneInfo, tree: Tree, key: Uint8Array): Promise<CachedBlock | null> {
    if (zone.version === null) return null;
    const known = this.knownBlock(zone, tree, key);
    if (known) return known;
    const treeKey = `${zone.id}:${zone.version}:${tree}`;
    if (this.emptyTrees.has(treeKey)) return null;
    this.blockQueries++;
    let row = await firstRow(blockAtOrBeforeStatement(this.budget, zone.id, tree, key, zone.version));
    if (!row) {
      this.blockQueries++;
      row = await firstRow(firstBlockStatement(this.budget, zone.id, tree, zone.version));
      if (!row) this.emptyTrees.set(treeKey, true);
    }
    return row ? this.cacheRow(zone, tree, row) : null;
  }

  /** The block just before `block`, or null when it is the first of its tree. */
  private async blockBefore(zone: ZoneInfo, tree: Tree, block: CachedBlock): Promise<CachedBlock | null> {
    if (block.first) return null;
    // The greatest key below firstKey: search at-or-before the key just under it.
    const prev = this.predecessorKey(block.firstKey);
    const found = prev ? await this.blockFor(zone, tree, prev) : null;
    return found && compareBytes(found.firstKey, block.firstKey) < 0 ? found : null;
  }

  /**
   * A key strictly below `key` and above every key that sorts below it: `key` with its last octet
   * decremented followed by 0xff octets up to the longest possible key (~ 2 × 255). Keys never end in
   * the middle of such a run, so this is exact for the at-or-before lookup.
   */
  private predecessorKey(key: Uint8Array): Uint8Array | null {
    let end = key.length;
    while (end > 0 && key[end - 1] === 0) end--;
    if (end === 0) return null;
    const out = new Uint8Array(512).fill(0xff);
    out.set(key.subarray(0, end), 0);
    out[end - 1] = key[end - 1]! - 1;
    return out;
  }

  async locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood> {
    const key = name.sortKey();
    const block = await this.blockFor(zone, tree, key);
    if (!block) return { match: null, before: null, after: null };
    const nodes = block.nodes;
    const { index: lo, found } = nodeIndex(nodes, key);
    const match = found ? nodes[lo]! : null;
    let before: StoredNode | null = nodes[lo - 1] ?? null;
    if (!before && lo === 0) {
      const prev = await this.blockBefore(zone, tree, block);
      before = prev?.nodes[prev.nodes.length - 1] ?? null;
    }
    const afterIndex = match ? lo + 1 : lo;
    let after: StoredNode | null = nodes[afterIndex] ?? null;
    if (!after && block.nextKey) {
      const next = await this.blockFor(zone, tree, block.nextKey);
      after = next?.nodes[0] ?? null;
    }
    return { match, before, after };
  }

  async lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null> {
    if (zone.version === null) return null;
    const treeKey = `${zone.id}:${zone.version}:${tree}`;
    if (this.emptyTrees.has(treeKey)) return null;
    const known = this.ranges.get(treeKey);
    const last = known?.[known.length - 1];
    const cached = last && last.nextKey === null ? this.blocks.get(last.block) : undefined;
    if (cached) return cached[cached.length - 1] ?? null;
    this.blockQueries++;
    const row = await firstRow(lastBlockStatement(this.budget, zone.id, tree, zone.version));
    if (!row) {
      this.emptyTrees.set(treeKey, true);
      return null;
    }
    const block = this.cacheRow(zone, tree, row);
    return block.nodes[block.nodes.length - 1] ?? null;
  }
}
