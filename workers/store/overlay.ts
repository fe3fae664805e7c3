/**
 * @module The overlay of changed nodes (issue 28, BIND's journal and Knot's zone-in-journal as models): an
 * IXFR writes each owner it changed, whole, or a tombstone (a node of no records: the owner is gone), into
 * `node_overlay` rows of its version (`overlay-table.ts`) instead of rewriting the blocks that hold them, so
 * an apply of 1,000 changes on a 1M-record zone writes a row or two, not a thousand 4 KiB blocks. A version
 * then reads as its blocks **with** the overlay it sees laid over them; this file is that merge, pure and
 * runtime-neutral (no D1), used by every reader of a stored version:
 *
 * - {@link Overlay}: the overlay a version sees, built from its rows (oldest version first, so the newest
 *   row naming an owner wins), per tree sorted by key, nodes decoded only when asked for;
 * - {@link mergedNeighbourhood} and {@link mergedLastNode}: the answer path's primitive (`locate`, and the
 *   NSEC3 chain's wrap-around) over blocks and overlay: the overlay's node at the key if it names the key (a
 *   tombstone: none), else the block's; each neighbour the nearer of the overlay's live one and the blocks'
 *   one, a block node the overlay replaces or tombstones skipped (stepping past tombstones one block lookup at
 *   a time, so a run of N tombstones costs N cached lookups);
 * - {@link OverlayBlockMerger}: the blocks of a tree read in order (AXFR/IXFR out, exports, the records API)
 *   with the overlay merged in by copying octets, only the blocks an overlaid owner falls in rebuilt.
 */
import { compareBytes } from "../../dns/bytes.ts";
import { wireSortKey } from "../../dns/sort-key.ts";
import type { Neighbourhood } from "../../answer/store/locating-zone-store.ts";
import { nodeIndex } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { decodeRawNode, nodeSpans, rawNodes } from "./raw-nodes.ts";
import type { NodeSpan } from "./raw-nodes.ts";

/** One owner of the overlay: its key and encoded node (`records === 0`: a tombstone). */
export interface OverlayEntry extends NodeSpan {
  key: Uint8Array;
}

/** One part of the overlay as stored: its tree and encoded nodes (a block's encoding, `block-codec.ts`). */
export interface OverlayPart {
  tree: Tree;
  data: Uint8Array;
}

class OverlayTree {
  /** Decoded nodes, by entry index, made when first asked for. */
  private readonly decoded: (StoredNode | undefined)[];
  /** Per entry index, the greatest index at or below it of a live entry (-1: none), and the least at or above (length: none). */
  private readonly liveAtOrBelow: Int32Array;
  private readonly liveAtOrAbove: Int32Array;

  constructor(readonly entries: readonly OverlayEntry[]) {
    const n = entries.length;
    this.decoded = new Array(n);
    this.liveAtOrBelow = new Int32Array(n);
    this.liveAtOrAbove = new Int32Array(n);
    let last = -1;
    for (let i = 0; i < n; i++) {
      if (entries[i]!.records > 0) last = i;
      this.liveAtOrBelow[i] = last;
    }
    last = n;
    for (let i = n - 1; i >= 0; i--) {
      if (entries[i]!.records > 0) last = i;
      this.liveAtOrAbove[i] = last;
    }
  }

  /** Where `key` is or would go: the first entry not below it, and whether it is `key`'s own. */
  search(key: Uint8Array): { index: number; found: boolean } {
    return nodeIndex(this.entries, key);
  }

  /** The entry's node, or null for a tombstone. */
  node(index: number): StoredNode | null {
    const entry = this.entries[index]!;
    if (entry.records === 0) return null;
    return (this.decoded[index] ??= decodeRawNode(entry));
  }

  /** The greatest live node below `key`. */
  liveBefore(key: Uint8Array): StoredNode | null {
    const at = this.search(key).index - 1;
    const live = at >= 0 ? this.liveAtOrBelow[at]! : -1;
    return live >= 0 ? this.node(live) : null;
  }

  /** The least live node above `key`. */
  liveAfter(key: Uint8Array): StoredNode | null {
    const { index, found } = this.search(key);
    const at = found ? index + 1 : index;
    const live = at < this.entries.length ? this.liveAtOrAbove[at]! : this.entries.length;
    return live < this.entries.length ? this.node(live) : null;
  }

  lastLive(): StoredNode | null {
    const n = this.entries.length;
    const live = n > 0 ? this.liveAtOrBelow[n - 1]! : -1;
    return live >= 0 ? this.node(live) : null;
  }
}

/** The overlay one version sees: per tree, its owners in canonical order, each the newest row's. */
export class Overlay {
  static readonly EMPTY = new Overlay([[], []], 0);

  private readonly trees: [OverlayTree, OverlayTree];

  private constructor(
    entries: [OverlayEntry[], OverlayEntry[]],
    /** Octets of the overlay's nodes as stored (the fold's bound and the answer path's cache size). */
    readonly bytes: number,
  ) {
    this.trees = [new OverlayTree(entries[0]), new OverlayTree(entries[1])];
  }

  /**
   * The overlay of `parts`, given oldest version first (within a version, in part order): an owner named by
   * several parts takes the last one's node. With `base`, the parts are newer than its own (the answer path
   * extends the overlay of an older version with the rows added since, `d1-zone-store.ts`).
   * @throws BlockFormatError for a part that is not a block's encoding.
   */
  static fromParts(parts: readonly OverlayPart[], base: Overlay = Overlay.EMPTY): Overlay {
    if (parts.length === 0) return base;
    const all: [OverlayEntry[], OverlayEntry[]] = [base.entries(0).slice(), base.entries(1).slice()];
    let bytes = base.bytes;
    for (const part of parts) {
      bytes += part.data.length;
      for (const span of nodeSpans(part.data)) all[part.tree].push({ ...span, key: wireSortKey(part.data, span.start).key });
    }
    for (let t = 0; t < 2; t++) {
      // A stable sort: of equal keys the later part stays last, and is the one kept.
      const sorted = all[t]!.map((e, i) => ({ e, i })).sort((a, b) => compareBytes(a.e.key, b.e.key) || a.i - b.i);
      const kept: OverlayEntry[] = [];
      for (const { e } of sorted) {
        const prev = kept[kept.length - 1];
        if (prev && compareBytes(prev.key, e.key) === 0) kept[kept.length - 1] = e;
        else kept.push(e);
      }
      all[t] = kept;
    }
    return new Overlay(all, bytes);
  }

  /** Owners named (tombstones included). */
  get owners(): number {
    return this.trees[0].entries.length + this.trees[1].entries.length;
  }

  get isEmpty(): boolean {
    return this.owners === 0;
  }

  /** What the overlay costs an isolate's cache, roughly. */
  get memoryBytes(): number {
    return 256 + this.bytes + this.owners * 160;
  }

  entries(tree: Tree): readonly OverlayEntry[] {
    return this.trees[tree].entries;
  }

  /** The overlay's word on `key`: undefined when it names no such owner, null for a tombstone, else the node. */
  get(tree: Tree, key: Uint8Array): StoredNode | null | undefined {
    const t = this.trees[tree];
    const { index, found } = t.search(key);
    return found ? t.node(index) : undefined;
  }

  /** Whether the overlay names `key` with a live node (true), a tombstone (false), or not at all (undefined). */
  names(tree: Tree, key: Uint8Array): boolean | undefined {
    const t = this.trees[tree];
    const { index, found } = t.search(key);
    return found ? t.entries[index]!.records > 0 : undefined;
  }

  liveBefore(tree: Tree, key: Uint8Array): StoredNode | null {
    return this.trees[tree].liveBefore(key);
  }

  liveAfter(tree: Tree, key: Uint8Array): StoredNode | null {
    return this.trees[tree].liveAfter(key);
  }

  lastLive(tree: Tree): StoredNode | null {
    return this.trees[tree].lastLive();
  }
}

/** The blocks' own `locate` at a key: the node there and, where asked for, its neighbours among the blocks. */
export type BlockLocate = (key: Uint8Array, wantBefore: boolean, wantAfter: boolean) => Promise<Neighbourhood>;

const nearer = (a: StoredNode | null, b: StoredNode | null, sign: 1 | -1): StoredNode | null =>
  !a ? b : !b ? a : sign * compareBytes(a.key, b.key) >= 0 ? a : b;

/**
 * A block neighbour with the overlay laid over it: the first block node out from `node` (in `step`'s
 * direction) that the overlay does not tombstone, or null when the overlay replaces it (then the overlay's
 * own neighbour is at least as near) or there is none.
 */
async function blockNeighbourPast(overlay: Overlay, tree: Tree, node: StoredNode | null, step: (key: Uint8Array) => Promise<StoredNode | null>): Promise<StoredNode | null> {
  let at = node;
  while (at) {
    const named = overlay.names(tree, at.key);
    if (named === undefined) return at;
    if (named) return null;
    at = await step(at.key);
  }
  return null;
}

/** `locate` over blocks (`block`) with `overlay` laid over them, asking the blocks only for what is wanted. */
export async function mergedNeighbourhood(
  overlay: Overlay,
  tree: Tree,
  key: Uint8Array,
  wantBefore: boolean,
  wantAfter: boolean,
  block: BlockLocate,
): Promise<Neighbourhood> {
  const own = overlay.get(tree, key);
  const hood = own === undefined || wantBefore || wantAfter ? await block(key, wantBefore, wantAfter) : null;
  const match = own !== undefined ? own : hood!.match;
  let before: StoredNode | null = null, after: StoredNode | null = null;
  if (wantBefore) {
    const fromBlocks = await blockNeighbourPast(overlay, tree, hood!.before, async (k) => (await block(k, true, false)).before);
    before = nearer(overlay.liveBefore(tree, key), fromBlocks, 1);
  }
  if (wantAfter) {
    const fromBlocks = await blockNeighbourPast(overlay, tree, hood!.after, async (k) => (await block(k, false, true)).after);
    after = nearer(overlay.liveAfter(tree, key), fromBlocks, -1);
  }
  return { match, before, after };
}

/** The last node of a tree over blocks (`blockLast`: the blocks' own last node) with `overlay` laid over them. */
export async function mergedLastNode(overlay: Overlay, tree: Tree, blockLast: () => Promise<StoredNode | null>, block: BlockLocate): Promise<StoredNode | null> {
  const fromBlocks = await blockNeighbourPast(overlay, tree, await blockLast(), async (k) => (await block(k, true, false)).before);
  return nearer(overlay.lastLive(tree), fromBlocks, 1);
}

/** Nodes a block's encoding counts in 16 bits. */
const MAX_BLOCK_NODES = 0xffff;

/** Node spans written as blocks (`block-codec.ts`'s format), by copying, at most 65,535 nodes each. */
export function spansAsBlocks(spans: readonly NodeSpan[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let from = 0; from < spans.length; from += MAX_BLOCK_NODES) {
    const some = spans.slice(from, from + MAX_BLOCK_NODES);
    let size = 3;
    for (const s of some) size += s.end - s.start;
    const block = new Uint8Array(size);
    block[0] = 1;
    block[1] = some.length >> 8;
    block[2] = some.length & 0xff;
    let at = 3;
    for (const s of some) {
      block.set(s.buf.subarray(s.start, s.end), at);
      at += s.end - s.start;
    }
    out.push(block);
  }
  return out;
}

/**
 * The blocks of one tree, read in key order, with the overlay merged in. Each block takes the overlay's
 * owners up to its last key (and, the first, those before it); {@link rest} gives those after the last
 * block. A block no overlaid owner falls in is passed on as it is; the others are rebuilt by copying node
 * octets (tombstoned and replaced nodes left out), so the records come out exactly as a block of the merged
 * content would hold them.
 */
export class OverlayBlockMerger {
  private next: number;

  /** `from`: the merge starts at this key (the blocks given start at or before it). */
  constructor(
    private readonly overlay: Overlay,
    private readonly tree: Tree,
    from?: Uint8Array,
  ) {
    this.next = 0;
    if (from) {
      const entries = overlay.entries(tree);
      while (this.next < entries.length && compareBytes(entries[this.next]!.key, from) < 0) this.next++;
    }
  }

  /** `data` (a block whose last owner's key is `lastKey`) with the overlay's owners up to `lastKey` merged in. */
  block(data: Uint8Array, lastKey: Uint8Array): Uint8Array[] {
    const entries = this.overlay.entries(this.tree);
    if (this.next >= entries.length || compareBytes(entries[this.next]!.key, lastKey) > 0) return [data];
    const nodes = rawNodes(data);
    const out: NodeSpan[] = [];
    let i = 0;
    while (i < nodes.length || (this.next < entries.length && compareBytes(entries[this.next]!.key, lastKey) <= 0)) {
      const entry = this.next < entries.length && compareBytes(entries[this.next]!.key, lastKey) <= 0 ? entries[this.next]! : undefined;
      const node = nodes[i];
      const order = !entry ? 1 : !node ? -1 : compareBytes(entry.key, node.key);
      if (order <= 0) {
        if (entry!.records > 0) out.push(entry!);
        this.next++;
        if (order === 0) i++;
      } else {
        out.push(node!);
        i++;
      }
    }
    return out.length === 0 ? [] : spansAsBlocks(out);
  }

  /** The overlay's live owners after the last block, as blocks (none when there are none). */
  rest(): Uint8Array[] {
    const entries = this.overlay.entries(this.tree);
    const out = entries.slice(this.next).filter((e) => e.records > 0);
    this.next = entries.length;
    return out.length === 0 ? [] : spansAsBlocks(out);
  }
}
