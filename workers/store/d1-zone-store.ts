/**
 * @module The `ZoneStore` (the answer engine's port, `answer/zone-store.ts`) over D1 blocks, with two
 * in-isolate caches:
 *
 * - the **zone directory** (`zone-directory.ts`): which zone answers a name, one indexed query on a miss,
 *   kept fresh by following the zone change log at most once per `pointerTtlMs` (1 s by default), so a
 *   commit is seen within a second at O(1) rows read whatever the number of zones;
 * - an **LRU of blocks** by (zone, block id, added version), each kept as its octets and its nodes' offsets
 *   (`block-codec.ts` `BlockReader`: a lookup searches the owners in place and builds only the nodes it
 *   returns, keeping the last four), so a block costs about twice its size and a 100k-record zone's blocks
 *   fit in the default 32 MiB (issue 28: with every node built, a cached block was counted at 7–10× its
 *   size, and a miss mix over such a zone re-read evicted blocks five times over). A block row is
 *   immutable (an IXFR writes a new row), so that key names its content for every version that sees it,
 *   and a cached block can never be stale: the id alone would not do, since SQLite may hand out the id of
 *   a pruned row again (the table has no AUTOINCREMENT), but never with the same zone and added version.
 *   Beside it, per
 *   (zone, version, tree), the key ranges already seen: `[first_key, next_key)` → block, so a lookup that
 *   lands in a known range costs no query at all.
 *
 * Beside them, per (zone, version), the **IXFR overlay** that version sees (issue 28, `overlay.ts`), read
 * whole once and merged into every lookup at the level of `locate` (so `LocatingZoneStore`'s lookups, DNSSEC
 * denial included, see the merged zone). A zone whose row says its served version has no overlay
 * (`overlay_from` null, read by the directory with the pointer) costs no query and no merge for it.
 *
 * A miss is one indexed query (`blocks_lookup`); only a lookup that needs a neighbour across a block edge
 * costs a second one, and the port's lookups ask for a neighbour only when they use it (a name that exists
 * needs none). `d1-miss-queries.test.ts` fixes the statements per miss by query kind. Every read counts
 * the rows D1 read for it (`rowsRead`, what D1 bills), shown by `/internal/v1/answer-stats`.
 */
import { LRUCache } from "lru-cache";
import type { Name } from "../../dns/name.ts";
import { BlockReader } from "./block-codec.ts";
import {
  blockAtOrBeforeStatement,
  firstBlockStatement,
  lastBlockStatement,
  rowsOf,
} from "./block-table.ts";
import type { BlockRow } from "./block-table.ts";
import { Budget } from "./statement-budget.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import type { ClosestEncloser, ZoneInfo } from "../../answer/zone-store.ts";
import { LocatingZoneStore } from "../../answer/store/locating-zone-store.ts";
import type { Neighbourhood } from "../../answer/store/locating-zone-store.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import { ZoneDirectory } from "./zone-directory.ts";
import type { D1ZoneInfo } from "./zone-directory.ts";
import { mergedLastNode, mergedNeighbourhood } from "./overlay.ts";
import type { Overlay } from "./overlay.ts";
import type { CommittedVersion } from "./changeset-apply.ts";
import { overlayOf, overlaySinceStatement, overlayStatement } from "./overlay-table.ts";

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
  reader: BlockReader;
}

export class D1ZoneStore extends LocatingZoneStore {
  private readonly budget: Budget;
  /** Which zone answers a name, and the freshness of the zones' pointers (`zone-directory.ts`). */
  readonly directory: ZoneDirectory;
  /** Blocks by `${zone}:${block id}:${added version}`, read lazily (`block-codec.ts` `BlockReader`). */
  private readonly blocks: LRUCache<string, BlockReader>;
  /** `${zone}:${version}:${tree}` → ranges known for that version, sorted by first key. */
  private readonly ranges = new LRUCache<string, KnownRange[]>({
    maxSize: 8 * 1024 * 1024,
    sizeCalculation: (known) => 64 + known.length * 160,
  });
  /** `${zone}:${version}` → the overlay that version sees (`Overlay.EMPTY` when none), by its size. */
  private readonly overlays = new LRUCache<string, Overlay>({
    maxSize: 16 * 1024 * 1024,
    sizeCalculation: (overlay) => overlay.memoryBytes,
  });
  /** Per zone, the newest served version whose overlay was read, with its `overlay_from`: the next version extends it (if still cached). */
  private readonly latestOverlay = new LRUCache<number, { version: number; from: number }>({ max: 4096 });
  /** `${zone}:${version}:${tree}` of trees found empty (a zone without NSEC3 asks often). */
  private readonly emptyTrees = new LRUCache<string, true>({ max: 1024 });
  /** Block queries sent; `queries` adds the directory's. */
  private blockQueries = 0;

  /** D1 queries sent, for tests and metrics. */
  get queries(): number {
    return this.blockQueries + this.directory.queries;
  }

  /** Of `queries`, those for blocks (the rest are the zone directory's). */
  get blockStatements(): number {
    return this.blockQueries;
  }

  /** Rows D1 read for them (`meta.rows_read`, what D1 bills reads by). */
  get rowsRead(): number {
    return this.budget.counts.rowsRead;
  }

  /** One block query: its row, if any, with the rows it read counted. */
  private async blockRow(statement: D1PreparedStatement): Promise<BlockRow | null> {
    this.blockQueries++;
    const result = await statement.all();
    this.budget.record(result);
    return rowsOf(result)[0] ?? null;
  }

  constructor(db: D1Queryable, options: D1ZoneStoreOptions = {}) {
    super();
    this.budget = new Budget(db);
    this.directory = new ZoneDirectory(this.budget, {
      freshnessMs: options.pointerTtlMs ?? 1000,
      ...(options.now ? { now: options.now } : {}),
    });
    this.blocks = new LRUCache<string, BlockReader>({
      maxSize: options.blockCacheBytes ?? 32 * 1024 * 1024,
      sizeCalculation: (block) => block.memoryBytes,
    });
  }

  /** Drops the cached pointers, so the next lookup re-reads them (after a commit in this isolate). */
  invalidatePointers(): void {
    this.directory.invalidate();
  }

  /**
   * Issue 28, session 11: an IXFR this isolate committed through the overlay (`changeset-apply.ts`
   * `CommittedVersion`): the zone's pointer moves to it and its overlay is the one handed here, so the next
   * query reads nothing back (the version's blocks are the base's, already readable). When the zone is not
   * cached at the base version, the pointers are dropped instead, as after any commit.
   */
  committed(name: Name, zoneId: number, committed: CommittedVersion, expiresAt?: number): void {
    if (!this.directory.committed(name, committed.base, { version: committed.version, serial: committed.serial, overlayFrom: committed.overlayFrom, expiresAt })) {
      this.invalidatePointers();
      return;
    }
    this.handed.set(`${zoneId}:${committed.version}`, { from: committed.overlayFrom, overlay: committed.overlay });
  }

  /** Overlays handed over by a commit in this isolate (`committed`), by `${zone}:${version}`, until first read. */
  private readonly handed = new LRUCache<string, { from: number; overlay: () => Overlay }>({ max: 256 });

  /** The zone directory's epoch (`zone-directory.ts` `epoch`), for the DoH hot path. */
  answerEpoch(): number | undefined {
    return this.directory.epoch();
  }

  findZone(qname: Name): Promise<ZoneInfo | null> {
    return this.directory.findZone(qname);
  }

  private cacheRow(zone: ZoneInfo, tree: Tree, row: BlockRow): CachedBlock {
    const block = `${zone.id}:${row.id}:${row.addedVersion}`;
    let reader = this.blocks.get(block);
    if (!reader) {
      reader = new BlockReader(row.data);
      this.blocks.set(block, reader);
    }
    // next_key depends on the version, so the range is remembered per version.
    const rangeKey = `${zone.id}:${zone.version}:${tree}`;
    const entry: KnownRange = { block, firstKey: row.firstKey, nextKey: row.nextKey, first: row.first };
    const known = this.ranges.get(rangeKey);
    if (!known) this.ranges.set(rangeKey, [entry]);
    else {
      // Binary search for the insertion point: a miss mix fills a version's list one block at a time, so a
      // linear scan made a zone's first pass quadratic in its blocks (the profile's top item, issue 28).
      let lo = 0, hi = known.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareBytes(known[mid]!.firstKey, entry.firstKey) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo < known.length && compareBytes(known[lo]!.firstKey, entry.firstKey) === 0) known[lo] = entry;
      else known.splice(lo, 0, entry);
      // Set again so that the LRU re-sizes the list.
      this.ranges.set(rangeKey, known);
    }
    return { ...entry, reader };
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
    const reader = this.blocks.get(range.block);
    return reader ? { ...range, reader } : undefined;
  }

  /** The block holding `key` (or, before the first block, the first block), or null for an empty tree. */
  private async blockFor(zone: ZoneInfo, tree: Tree, key: Uint8Array): Promise<CachedBlock | null> {
    if (zone.version === null) return null;
    const known = this.knownBlock(zone, tree, key);
    if (known) return known;
    const treeKey = `${zone.id}:${zone.version}:${tree}`;
    if (this.emptyTrees.has(treeKey)) return null;
    let row = await this.blockRow(blockAtOrBeforeStatement(this.budget, zone.id, tree, key, zone.version));
    if (!row) {
      row = await this.blockRow(firstBlockStatement(this.budget, zone.id, tree, zone.version));
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

  locate(zone: ZoneInfo, tree: Tree, name: Name): Promise<Neighbourhood> {
    return this.neighbours(zone, tree, name, true, true);
  }

  /**
   * The overlay the zone's served version sees, or null when it has none: no query when the zone's row said
   * so for this version (`D1ZoneInfo.overlay`), else one per (zone, version) and isolate.
   */
  private overlayOf(zone: ZoneInfo): Promise<Overlay> | null {
    if (zone.version === null) return null;
    const said = (zone as D1ZoneInfo).overlay;
    const known = said && said.version === zone.version;
    if (known && said.from === null) return null;
    const key = `${zone.id}:${zone.version}`;
    const cached = this.overlays.get(key);
    if (cached) return cached.isEmpty ? null : Promise.resolve(cached);
    const handed = this.handed.get(key);
    if (handed !== undefined) {
      this.handed.delete(key);
      const overlay = handed.overlay();
      this.overlays.set(key, overlay);
      this.latestOverlay.set(zone.id, { version: zone.version, from: handed.from });
      return overlay.isEmpty ? null : Promise.resolve(overlay);
    }
    return this.readOverlay(zone.id, zone.version, key, known ? said.from : null);
  }

  /**
   * Reads the overlay of (zone, version) whole, or, when the served version's overlay starts where that of an
   * older version this isolate holds started (`from`: no fold in between), only the rows added since: a zone
   * taking an IXFR every few seconds re-reads its ~1,000 new owners, not the whole overlay, each time.
   */
  private async readOverlay(zoneId: number, version: number, key: string, from: number | null): Promise<Overlay> {
    const older = from === null ? undefined : this.latestOverlay.get(zoneId);
    const base = older && older.from === from && older.version < version ? this.overlays.get(`${zoneId}:${older.version}`) : undefined;
    this.blockQueries++;
    const statement = base ? overlaySinceStatement(this.budget, zoneId, older!.version, version) : overlayStatement(this.budget, zoneId, version);
    const result = await statement.all();
    this.budget.record(result);
    const overlay = overlayOf(result, base);
    this.overlays.set(key, overlay);
    if (from !== null && !(older && older.version > version)) this.latestOverlay.set(zoneId, { version, from });
    return overlay;
  }

  /**
   * `locate`, reading a neighbour block only for a neighbour that is asked for: a node at the edge of its
   * block needs no second query to be found (`before`/`after` false leave those null); with the version's
   * overlay laid over the blocks when it has one.
   */
  private async neighbours(zone: ZoneInfo, tree: Tree, name: Name, wantBefore: boolean, wantAfter: boolean): Promise<Neighbourhood> {
    const key = name.sortKey();
    const pending = this.overlayOf(zone);
    const overlay = pending && (await pending);
    if (!overlay || overlay.entries(tree).length === 0) return this.blockNeighbours(zone, tree, key, wantBefore, wantAfter);
    return mergedNeighbourhood(overlay, tree, key, wantBefore, wantAfter, (k, before, after) => this.blockNeighbours(zone, tree, k, before, after));
  }

  /** `neighbours` among the blocks alone. */
  private async blockNeighbours(zone: ZoneInfo, tree: Tree, key: Uint8Array, wantBefore: boolean, wantAfter: boolean): Promise<Neighbourhood> {
    const block = await this.blockFor(zone, tree, key);
    if (!block) return { match: null, before: null, after: null };
    const reader = block.reader;
    const { index: lo, found } = reader.search(key);
    const match = found ? reader.node(lo) : null;
    let before: StoredNode | null = null;
    if (wantBefore) {
      before = reader.node(lo - 1);
      if (!before && lo === 0) {
        const prev = await this.blockBefore(zone, tree, block);
        before = prev ? prev.reader.node(prev.reader.count - 1) : null;
      }
    }
    let after: StoredNode | null = null;
    if (wantAfter) {
      const afterIndex = match ? lo + 1 : lo;
      after = reader.node(afterIndex);
      if (!after && block.nextKey) {
        const next = await this.blockFor(zone, tree, block.nextKey);
        after = next ? next.reader.node(0) : null;
      }
    }
    return { match, before, after };
  }

  // The port's lookups, as `LocatingZoneStore` derives them, asking `neighbours` only for what each uses.

  override async node(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    return (await this.neighbours(zone, TREE_MAIN, name, false, false)).match;
  }

  override async closestEncloser(zone: ZoneInfo, name: Name): Promise<ClosestEncloser> {
    // A name that exists is its own closest encloser; only a missing one needs both neighbours.
    const match = await this.node(zone, name);
    return match ? { name, node: match } : super.closestEncloser(zone, name);
  }

  override async predecessor(zone: ZoneInfo, name: Name): Promise<StoredNode | null> {
    return (await this.neighbours(zone, TREE_MAIN, name, true, false)).before;
  }

  override async nsec3Predecessor(zone: ZoneInfo, hashedOwner: Name): Promise<StoredNode | null> {
    const match = (await this.neighbours(zone, TREE_NSEC3, hashedOwner, false, false)).match;
    if (match) return match;
    return (await this.neighbours(zone, TREE_NSEC3, hashedOwner, true, false)).before ?? (await this.lastNode(zone, TREE_NSEC3));
  }

  async lastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null> {
    const pending = this.overlayOf(zone);
    const overlay = pending && (await pending);
    if (!overlay || overlay.entries(tree).length === 0) return this.blockLastNode(zone, tree);
    return mergedLastNode(overlay, tree, () => this.blockLastNode(zone, tree), (k, before, after) => this.blockNeighbours(zone, tree, k, before, after));
  }

  /** The last node of a tree among the blocks alone. */
  private async blockLastNode(zone: ZoneInfo, tree: Tree): Promise<StoredNode | null> {
    if (zone.version === null) return null;
    const treeKey = `${zone.id}:${zone.version}:${tree}`;
    if (this.emptyTrees.has(treeKey)) return null;
    const known = this.ranges.get(treeKey);
    const last = known?.[known.length - 1];
    const cached = last && last.nextKey === null ? this.blocks.get(last.block) : undefined;
    if (cached) return cached.node(cached.count - 1);
    const row = await this.blockRow(lastBlockStatement(this.budget, zone.id, tree, zone.version));
    if (!row) {
      this.emptyTrees.set(treeKey, true);
      return null;
    }
    const block = this.cacheRow(zone, tree, row);
    return block.reader.node(block.reader.count - 1);
  }
}
