/**
 * @module Applying IXFR changesets (RFC 1995 §4) to the served version, in proportion to the change:
 *
 * - **Through the overlay** (issue 28, `overlay.ts`, `overlay-table.ts`): each touched owner's node at the
 *   base version is read from the overlay that version sees if it names the owner, else from its block; the
 *   changed owners, whole (or as tombstones), become the new version's `node_overlay` rows, a row per ~1,000
 *   owners, and no block is written. A 1,000-change IXFR on a 1M-record zone wrote ~3,750 rows and now 17.
 * - **From the service's changed nodes** (issue 28, session 10: `changeset-nodes.ts`), when the request carries
 *   them and their base is the served version: checked without a read, then written as the overlay rows; no
 *   block is read (steps 2–4 below are the service's, on its replica of the base version). Nodes for another
 *   version are set aside, and the steps below run as without them.
 * - **The fold**, when the overlay would pass `OVERLAY_MAX_OWNERS` or `OVERLAY_MAX_BYTES`, or the zone's
 *   earliest RRSIG expiration could rise and its earliest-expiring blocks do not settle it (`exactEarliest`): the blocks holding every owner the overlay names and every touched
 *   one are rewritten with the overlay and the change (`added_version = V`), and the overlay rows retired at
 *   V. When a copy starts at the same key, it shadows the old row (`block-table.ts`) and nothing else is
 *   written for it; only a block that empties or whose first owner changes has its old row marked
 *   `removed_version = V`.
 *
 *  1. Check the lease, and that the first changeset starts at the zone's serial and each one continues
 *     the previous one.
 *  2. Find the block holding each touched owner at the current version, and read the overlay that version
 *     sees (one batch of indexed queries; in step 1's batch when the caller read the current version just
 *     before, `expectedBase`).
 *  3. Apply the changesets in order in memory (`answer/store/changed-nodes.ts`, shared with the replica and the
 *     service; the fold edits blocks in place): deletions must exist (a deletion of a record we do not
 *     have means the primary's history and ours differ: "inconsistent", and the service falls back to
 *     AXFR), additions are added (an existing record only takes the new TTL).
 *  4. Check the result has exactly one SOA at the apex, with the last changeset's serial.
 *  5. One D1 batch, guarded by a compare-and-set on (lease, current version, serial): the version row
 *     (committed at once, inserted only under the same conditions as the flip), pointer flip, the overlay
 *     rows (or, in a fold: old blocks retired where not shadowed, new ones inserted, the overlay retired),
 *     journal rows written.
 */
import { RRType } from "../../dns/constants.ts";
import { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES } from "./block-builder.ts";
import { encodeBlock, nodeSize } from "./block-codec.ts";
import { blocksAtOrBeforeStatement, earliestBlocksStatement, earliestRrsigStatement, KEYS_PER_LOOKUP, firstBlockStatement, insertBlocksStatements, rowsOf } from "./block-table.ts";
import type { BlockRow, EncodedBlock } from "./block-table.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import { deleteAbandonedStatements } from "./full-ingest.ts";
import { decodeRawNode, nodeSpans, PieceWriter, rawNodes } from "./raw-nodes.ts";
import { textToBytes } from "./blob-text.ts";
import type { NodeSpan } from "./raw-nodes.ts";
import { wireSortKey } from "../../dns/sort-key.ts";
import type { ZoneRef } from "./full-ingest.ts";
import { encodeRecordStream, parseRecordStream, RecordStreamError } from "./record-stream.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { readSoa } from "./soa.ts";
import type { Budget } from "./statement-budget.ts";
import { StoreError } from "./store-error.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { addRecord, makeNode, sameRecord, treeOf, TREE_MAIN } from "../../answer/store/stored-node.ts";
import type { Overlay } from "./overlay.ts";
import { insertOverlayStatements, overlayAfter, overlayOf, overlayStatement, readOverlay, retireOverlayStatement } from "./overlay-table.ts";
import type { OverlayChange } from "./overlay-table.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { checkNodes } from "./changeset-nodes.ts";
import { applyToNodes, ChangesetMismatch, unchanged } from "../../answer/store/changed-nodes.ts";
import type { TouchedOwner } from "../../answer/store/changed-nodes.ts";
import type { CheckedNodes, NodesInput } from "./changeset-nodes.ts";

export interface ChangesetInput {
  fromSerial: number;
  toSerial: number;
  /** Record streams. */
  deletions: Uint8Array;
  additions: Uint8Array;
}

export interface ChangesetResult {
  version: number;
  serial: number;
  recordCount: number;
  rowsWritten: number;
  /** Rows read by the whole apply (lookups, checks and the commit batch), as D1 counts them. */
  rowsRead: number;
  /** Blocks replaced (shadowed or retired), of them retired, and written. */
  blocksReplaced: number;
  blocksRetired: number;
  blocksWritten: number;
  /** Owners written to the overlay (issue 28; 0 when the apply folded), and whether it folded. */
  overlayOwners: number;
  folded: boolean;
  /** With changed nodes (issue 28, session 10): stored as they came, or set aside (see the contract's `ChangesetResult`). */
  nodes?: "stored" | "ignored" | undefined;
  /**
   * Issue 28, session 11: what the committing isolate's answer path needs to serve the new version without
   * reading it back (`served-store.ts` `servedCommitted`), when the version is the base's blocks and an overlay
   * (no fold: no block was written). Absent after a fold.
   */
  served?: CommittedVersion | undefined;
}

/** A version an IXFR committed through the overlay, as the answer path holds it (`served-store.ts`). */
export interface CommittedVersion {
  /** The version it was committed on (the served one until then). */
  base: number;
  version: number;
  serial: number;
  /** The zones row's `overlay_from` now. */
  overlayFrom: number;
  /** The overlay it sees, made when first asked for (`overlay-table.ts` `overlayAfter`). */
  overlay: () => Overlay;
}

/**
 * When the overlay a version sees grows past either bound, the next apply folds it (today's block rewrite
 * for every owner it names plus the changeset's, the overlay rows retired at the new version), so the
 * answer path's extra work per version stays bounded: reading the overlay (once per version and isolate,
 * ~1 MiB at most, the decode ~a few ms) and a binary search in it per lookup. 4,096 owners is four of the
 * bench's 1,000-change IXFRs between folds; 1 MiB is ~15 rows of `MAX_TEXT_BYTES`.
 */
export const OVERLAY_MAX_OWNERS = 4096;
export const OVERLAY_MAX_BYTES = 1024 * 1024;

export interface OverlayLimits {
  owners: number;
  bytes: number;
}

/** Block ids per `UPDATE … WHERE id IN (…)`: stays under 100 bound parameters. */
const IDS_PER_UPDATE = 90;
/** Journal part size: a row carries two streams and must stay under 100 KB. */
const JOURNAL_PART_BYTES = 40 * 1024;

/**
 * A node of a touched block: still the stored bytes (`raw`), or decoded (`node`) because a change lands on
 * it. Only the nodes a change touches are decoded; the others are copied back as bytes (`raw-nodes.ts`):
 * a 1,000-record change over a 1M-record zone touches ~1,000 blocks of ~100 nodes, and decoding all of
 * them into names and record objects, then encoding them again, was most of the apply's Worker CPU and
 * garbage (issue 28's profile).
 */
type Slot = { key?: Uint8Array; raw: NodeSpan; node?: undefined } | { key: Uint8Array; raw?: undefined; node: StoredNode };

/** A slot's sort key, made the first time it is needed (a binary search looks at ~7 nodes of ~100). */
function keyOf(slot: Slot): Uint8Array {
  return (slot.key ??= wireSortKey(slot.raw!.buf, slot.raw!.start).key);
}

/** A touched block being edited. `id` is null for a block that did not exist. */
interface WorkingBlock {
  id: number | null;
  tree: Tree;
  firstKey: Uint8Array;
  nextKey: Uint8Array | null;
  /** Its nodes in canonical order. */
  slots: Slot[];
  /** The stored block's octets (null for a new block), for {@link oldExpiry}. */
  data: Uint8Array | null;
}

/** A block row read for editing: its nodes by offsets. */
function loaded(row: BlockRow, tree: Tree): WorkingBlock {
  const slots: Slot[] = nodeSpans(row.data).map((raw) => ({ raw }));
  return { id: row.id, tree, firstKey: row.firstKey, nextKey: row.nextKey, slots, data: row.data };
}

/**
 * The stored block's earliest RRSIG expiration (ms), before any change; null without RRSIGs. Read only when
 * the block is rewritten (an apply through the overlay rewrites none).
 */
function oldExpiry(b: WorkingBlock): number | null {
  const data = b.data;
  if (!data) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const expiry = new EarliestExpiry();
  for (const n of nodeSpans(data)) {
    // Past the owner name and the record count: the records, each type..rdata.
    let pos = n.start;
    while (data[pos]! !== 0) pos += data[pos]! + 1;
    pos += 3;
    for (let k = 0; k < n.records; k++) {
      expiry.recordAt(view, pos);
      pos += 10 + view.getUint16(pos + 8);
    }
  }
  return expiry.ms;
}

/** Where `key` is, or would go, among a block's nodes (binary search). */
function slotIndex(slots: readonly Slot[], key: Uint8Array): { index: number; found: boolean } {
  let lo = 0, hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(keyOf(slots[mid]!), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: lo < slots.length && compareBytes(keyOf(slots[lo]!), key) === 0 };
}

/** The node at `index`, decoded for editing (once; the slot keeps the decoded node). */
function nodeAt(b: WorkingBlock, index: number): StoredNode {
  const slot = b.slots[index]!;
  if (slot.node) return slot.node;
  const node = decodeRawNode(slot.raw);
  b.slots[index] = { key: keyOf(slot), node };
  return node;
}

function parse(stream: Uint8Array, zone: ZoneRef, what: string): OwnedRecord[] {
  try {
    return parseRecordStream(stream, zone.name);
  } catch (err) {
    if (err instanceof RecordStreamError) throw new StoreError("bad-records", `${what}: ${err.message}`);
    throw err;
  }
}

/** Splits a record stream's records into consecutive groups whose streams stay under `limit` bytes. */
function partsOf(records: OwnedRecord[], limit: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let current: OwnedRecord[] = [], size = 0;
  for (const r of records) {
    const n = r.name.wireLength + 10 + r.rdata.length;
    if (current.length > 0 && size + n > limit) {
      parts.push(encodeRecordStream(current));
      current = [];
      size = 0;
    }
    current.push(r);
    size += n;
  }
  if (current.length > 0 || parts.length === 0) parts.push(encodeRecordStream(current));
  return parts;
}

/** The zone's state the changesets apply to, read and checked under the lease (step 1). */
interface Base {
  /** The oldest version of the overlay the served version sees, or null when it sees none. */
  overlayFrom: number | null;
  /** The served version, and the one being written. */
  base: number;
  version: number;
  serial: number;
  recordCount: number;
  /** The zone's earliest RRSIG expiration (ms) before the change, or null. */
  rrsigExpiresAt: number | null;
  /** Versions left open or abandoned (an earlier transfer that stopped), whose rows the commit sweeps. */
  stale: number;
}

type ParsedChangeset = { deletions: OwnedRecord[]; additions: OwnedRecord[] };

/** The numbered steps of the module comment, each a function below. */
export async function applyChangesets(
  budget: Budget,
  zone: ZoneRef,
  owner: string,
  changesets: readonly ChangesetInput[],
  options: {
    expiresAt?: number | undefined;
    now?: number;
    /**
     * The version the caller read as current just before (the route's zone row). Given, the lookups of step 2
     * go in step 1's batch, at that version: one D1 round trip less (issue 28). Should the zone have moved
     * on meanwhile, step 1 says so and the lookups run again at the version it read.
     */
    expectedBase?: number | null | undefined;
    /** The fold's bounds (tests); default OVERLAY_MAX_OWNERS and OVERLAY_MAX_BYTES. */
    overlayLimits?: OverlayLimits;
    /** The changed nodes the service computed from the base version (issue 28, session 10: `changeset-nodes.ts`). */
    nodes?: NodesInput | undefined;
  } = {},
): Promise<ChangesetResult> {
  const now = options.now ?? Date.now();
  const readBefore = budget.counts.rowsRead;
  const expected = options.expectedBase ?? null;
  const limits = options.overlayLimits ?? { owners: OVERLAY_MAX_OWNERS, bytes: OVERLAY_MAX_BYTES };
  const parseAll = (): ParsedChangeset[] =>
    changesets.map((cs, i) => ({
      deletions: parse(cs.deletions, zone, `changeset ${i} deletions`),
      additions: parse(cs.additions, zone, `changeset ${i} additions`),
    }));
  let base: Base;
  let parsed: ParsedChangeset[];
  let working: WorkingBlock[];
  let overlay: Overlay;
  let nodes: ChangesetResult["nodes"];
  if (options.nodes !== undefined) {
    // Issue 28, session 10: the changed nodes came with the changesets. Checked before any read (400 `bad-nodes`);
    // stored as they are while their base is the served version and the overlay need not fold: no block read.
    const input = options.nodes;
    parsed = parseAll();
    const checked = checkNodes(zone, changesets, parsed, input);
    const [state, overlayRows] = await budget.batch([checkStartStatement(budget, zone, owner, now), overlayStatement(budget, zone.id, input.version)]);
    base = checkStartResult(zone, changesets, state!);
    if (zone.id === input.zoneId && base.base === input.version && base.serial === input.serial) {
      overlay = overlayOf(overlayRows!);
      const stored = await nodesApply(budget, zone, owner, changesets, parsed, base, overlay, checked, input, limits, options.expiresAt, now);
      if (stored !== undefined) return { ...stored, rowsRead: budget.counts.rowsRead - readBefore, nodes: "stored" };
    }
    // Another version is served now, or the overlay folds: the changesets are applied as without the nodes.
    nodes = "ignored";
    [overlay, working] = await Promise.all([readOverlay(budget, zone.id, base.base), findTouchedBlocks(budget, zone, touchedKeys(parsed), base.base)]);
  } else if (expected === null) {
    base = await checkStart(budget, zone, owner, changesets, now);
    parsed = parseAll();
    [overlay, working] = await Promise.all([readOverlay(budget, zone.id, base.base), findTouchedBlocks(budget, zone, touchedKeys(parsed), base.base)]);
  } else {
    parsed = parseAll();
    const lookups = touchedLookups(budget, zone, touchedKeys(parsed), expected);
    const [state, overlayRows, ...results] = await budget.batch([
      checkStartStatement(budget, zone, owner, now),
      overlayStatement(budget, zone.id, expected),
      ...lookups.statements,
    ]);
    base = checkStartResult(zone, changesets, state!);
    if (base.base === expected) {
      overlay = overlayOf(overlayRows!);
      working = await touchedFromResults(budget, zone, lookups, results, expected);
    } else {
      [overlay, working] = await Promise.all([readOverlay(budget, zone.id, base.base), findTouchedBlocks(budget, zone, touchedKeys(parsed), base.base)]);
    }
  }
  // 3–4 through the overlay, unless it would grow past its bounds, or the zone's earliest RRSIG expiration
  // may rise and the earliest-expiring blocks do not settle the new one (`exactEarliest`).
  const touched = touchedKeys(parsed);
  if (overlay.owners + touched.length <= limits.owners && overlay.bytes <= limits.bytes) {
    const applied = overlayApply(working, overlay, zone, changesets, parsed, base);
    if (applied.recompute && applied.bytes + overlay.bytes <= limits.bytes) {
      const exact = await exactEarliest(budget, zone, base.base, overlay, applied.overlayChanges);
      if (exact !== undefined) applied.earliest = exact;
      else applied.bytes = Infinity; // unsettled: fold
    }
    if (applied.bytes + overlay.bytes <= limits.bytes) {
      const result = await commitBatch(budget, zone, owner, changesets, parsed, base, { ...applied, changed: new Set(), baseOverlay: overlay }, options.expiresAt, now);
      return { ...result, rowsRead: budget.counts.rowsRead - readBefore, nodes };
    }
  }
  // The fold: every owner the overlay names joins the touched ones, and their blocks are rewritten.
  if (!overlay.isEmpty) {
    const keys = touched.slice();
    for (const tree of [0, 1] as Tree[]) for (const e of overlay.entries(tree)) keys.push({ tree, key: e.key });
    working = await findTouchedBlocks(budget, zone, keys, base.base);
  }
  const changed = layOverlay(working, overlay);
  const { recordCount } = applyInOrder(working, zone, changesets, parsed, base.recordCount, changed);
  const serial = checkApexSoa(working, zone, changesets);
  // An overlaid node may have held the zone's earliest RRSIG expiration: then it is computed again over the
  // blocks, which after the fold hold every node.
  const overlayHeldEarliest = overlay.owners > 0 && overlayMayHoldEarliest(overlay, base.rrsigExpiresAt);
  const result = await commitBatch(
    budget,
    zone,
    owner,
    changesets,
    parsed,
    base,
    { changed, recordCount, serial, overlayChanges: null, earliest: null, overlayHeldEarliest },
    options.expiresAt,
    now,
  );
  return { ...result, rowsRead: budget.counts.rowsRead - readBefore, nodes };
}

/**
 * Steps 3–5 from the service's changed nodes (checked: `changeset-nodes.ts`), reading no block: the overlay rows
 * are the nodes, the record count the base's plus the service's change, and the earliest RRSIG expiration the
 * least of the old one and the new nodes' unless a replaced node may have held the old one; then the
 * service's figure over the whole new version (or, from a service that gave none, {@link exactEarliest}).
 * Undefined when the overlay must fold instead (the caller applies the changesets as without the nodes).
 */
async function nodesApply(
  budget: Budget,
  zone: ZoneRef,
  owner: string,
  changesets: readonly ChangesetInput[],
  parsed: readonly ParsedChangeset[],
  base: Base,
  overlay: Overlay,
  checked: CheckedNodes,
  input: NodesInput,
  limits: OverlayLimits,
  expiresAt: number | undefined,
  now: number,
): Promise<Omit<ChangesetResult, "rowsRead"> | undefined> {
  if (overlay.owners + checked.touched > limits.owners || overlay.bytes + checked.bytes > limits.bytes) return undefined;
  const old = base.rrsigExpiresAt;
  // A second of slack: the expirations are 32-bit times read relative to "now" (`rrsig-expiry.ts`).
  const recompute = input.replacedExpiry !== null && (old === null || input.replacedExpiry <= old + 1000);
  let earliest: number | null;
  if (!recompute) earliest = old === null ? checked.newExpiry : checked.newExpiry === null ? old : Math.min(old, checked.newExpiry);
  else if (input.earliestAfter !== undefined) earliest = input.earliestAfter;
  else {
    const exact = await exactEarliest(budget, zone, base.base, overlay, checked.changes);
    if (exact === undefined) return undefined;
    earliest = exact;
  }
  const recordCount = base.recordCount + input.recordDelta;
  return commitBatch(budget, zone, owner, changesets, parsed, base, { changed: new Set(), recordCount, serial: checked.serial, overlayChanges: checked.changes, earliest, baseOverlay: overlay }, expiresAt, now);
}

/**
 * The fold's first step: the overlay's owners laid over the touched blocks (a node replaced, a tombstoned
 * one emptied, which `cutBlock` leaves out, a new one inserted); returns the blocks it changed.
 */
function layOverlay(working: readonly WorkingBlock[], overlay: Overlay): Set<WorkingBlock> {
  const changed = new Set<WorkingBlock>();
  if (overlay.isEmpty) return changed;
  const index = indexWorking(working);
  for (const tree of [0, 1] as Tree[]) {
    for (const entry of overlay.entries(tree)) {
      const b = blockFor(index, tree, entry.key);
      const at = slotIndex(b.slots, entry.key);
      const node = decodeRawNode(entry);
      if (at.found) b.slots[at.index] = { key: entry.key, node };
      else if (node.records.length > 0) b.slots.splice(at.index, 0, { key: entry.key, node });
      else continue;
      changed.add(b);
    }
  }
  return changed;
}

/** Whether a live node of the overlay has an RRSIG expiring at or before `earliest` (with a second of slack). */
function overlayMayHoldEarliest(overlay: Overlay, earliest: number | null): boolean {
  for (const tree of [0, 1] as Tree[]) {
    for (const entry of overlay.entries(tree)) {
      if (entry.records === 0) continue;
      const at = nodeExpiry(decodeRawNode(entry));
      if (at !== null && (earliest === null || at <= earliest + 1000)) return true;
    }
  }
  return false;
}

/** The owners the changesets touch, once each, with their trees. */
function touchedKeys(parsed: readonly ParsedChangeset[]): { tree: Tree; key: Uint8Array }[] {
  const touched = new Map<string, { tree: Tree; key: Uint8Array }>();
  for (const p of parsed) {
    for (const list of [p.deletions, p.additions]) {
      for (const r of list) {
        const tree = treeOf(r.type, r.rdata);
        const id = `${tree}:${r.name.key}`;
        if (!touched.has(id)) touched.set(id, { tree, key: r.name.sortKey() });
      }
    }
  }
  return [...touched.values()];
}

/** What the overlay apply gives the commit: the overlay rows' owners and the zone's new figures. */
interface OverlayApplied {
  overlayChanges: OverlayChange[];
  /** Octets of the changed nodes, encoded. */
  bytes: number;
  recordCount: number;
  serial: number;
  /** The zone's earliest RRSIG expiration after the change (exact: see `overlayApply`), unless `recompute`. */
  earliest: number | null;
  /** A changed owner's old node may have held the zone's earliest RRSIG expiration: `exactEarliest` must say. */
  recompute: boolean;
}

/** The earliest RRSIG expiration among a node's records, or null. */
function nodeExpiry(node: StoredNode | null): number | null {
  if (!node) return null;
  const expiry = new EarliestExpiry();
  for (const r of node.records) expiry.record(r.type, r.rdata);
  return expiry.ms;
}

/**
 * 3–4 through the overlay: each touched owner's node at the base version from the overlay if it names it,
 * else from its block (a deletion must find its record: RFC 1995's consistency check), the changesets
 * applied in memory, the apex SOA checked; the changed owners become the new version's overlay rows.
 *
 * The zone's earliest RRSIG expiration after it is the least of the old one and the new nodes' (exact: every
 * node the change replaces expired later than the old earliest), unless a replaced node may have held the
 * old earliest (`recompute`): then the new one may be later, and {@link exactEarliest} reads it.
 */
function overlayApply(
  working: readonly WorkingBlock[],
  overlay: Overlay,
  zone: ZoneRef,
  changesets: readonly ChangesetInput[],
  parsed: readonly ParsedChangeset[],
  start: Base,
): OverlayApplied {
  const index = indexWorking(working);
  // The changesets' rules are `answer/store/changed-nodes.ts`'s (shared with the replica and the service); each
  // touched owner's base node is the overlay's if it names the owner, else its block's.
  const lookup = (tree: Tree, key: Uint8Array): StoredNode | null => {
    const own = overlay.get(tree, key);
    if (own !== undefined) return own;
    const b = index.get(tree) ? blockFor(index, tree, key) : undefined;
    const found = b ? slotIndex(b.slots, key) : undefined;
    return b && found!.found ? nodeAt(b, found!.index) : null;
  };
  let applied: { owners: TouchedOwner[]; recordDelta: number };
  try {
    applied = applyToNodes(lookup, parsed);
  } catch (err) {
    if (!(err instanceof ChangesetMismatch)) throw err;
    const i = err.changeset;
    throw new StoreError(
      "inconsistent",
      `changeset ${i} (serial ${changesets[i]!.fromSerial} → ${changesets[i]!.toSerial}) deletes ${err.record.name} type ${err.record.type}, which ${zone.name} does not have`,
    );
  }
  const touched = new Map(applied.owners.map((t) => [`${t.tree}:${t.node.name.key}`, t]));
  const recordCount = start.recordCount + applied.recordDelta;
  // 4. The apex's SOA: the one owner every IXFR touches (one that does not is refused as having none).
  const apex = touched.get(`${TREE_MAIN}:${zone.name.key}`)?.node;
  const soas = apex ? apex.records.filter((r) => r.type === RRType.SOA) : [];
  const serial = soaSerial(soas, zone, changesets);
  const old = start.rrsigExpiresAt;
  let earliest = old;
  let recompute = false;
  let bytes = 0;
  const overlayChanges: OverlayChange[] = [];
  for (const t of applied.owners) {
    if (unchanged(t)) continue;
    const was = nodeExpiry(t.before);
    // A second of slack: the expirations are 32-bit times read relative to "now" (`rrsig-expiry.ts`).
    if (was !== null && (old === null || was <= old + 1000)) recompute = true;
    const size = nodeSize(t.node);
    if (size > NODE_MAX_BYTES) throw new StoreError("too-large", `owner ${t.node.name} holds ${size} bytes of records, more than ${NODE_MAX_BYTES}`);
    const now = nodeExpiry(t.node);
    if (now !== null && (earliest === null || now < earliest)) earliest = now;
    bytes += size;
    overlayChanges.push({ tree: t.tree, node: t.node });
  }
  return { overlayChanges, bytes, recordCount, serial, earliest, recompute };
}

/** Blocks {@link exactEarliest} reads at most: past them it gives up and the apply folds. */
const EARLIEST_BLOCKS = 16;

/**
 * The zone's earliest RRSIG expiration after an apply through the overlay, exactly, when a replaced node may
 * have held the old one: the least over the overlay's live nodes (the old overlay's not replaced, and the
 * change's) and the block nodes the overlay does not hide. The blocks are read earliest-expiring first; a
 * block's own figure is a lower bound of what it adds (its hidden nodes are left out), so the walk stops at
 * the first block whose figure is not below the least found. Undefined when EARLIEST_BLOCKS did not settle it
 * (most signatures hidden): the caller folds.
 */
async function exactEarliest(budget: Budget, zone: ZoneRef, base: number, overlay: Overlay, changes: readonly OverlayChange[]): Promise<number | null | undefined> {
  const changed = new Set(changes.map((c) => `${c.tree}:${bytesKey(c.node.key)}`));
  const hidden = (tree: Tree, key: Uint8Array) => overlay.names(tree, key) !== undefined || changed.has(`${tree}:${bytesKey(key)}`);
  let best: number | null = null;
  const take = (at: number | null) => {
    if (at !== null && (best === null || at < best)) best = at;
  };
  for (const c of changes) take(nodeExpiry(c.node));
  for (const tree of [0, 1] as Tree[]) {
    for (const entry of overlay.entries(tree)) {
      if (entry.records > 0 && !changed.has(`${tree}:${bytesKey(entry.key)}`)) take(nodeExpiry(decodeRawNode(entry)));
    }
  }
  const [read] = await budget.batch([earliestBlocksStatement(budget, zone.id, base, EARLIEST_BLOCKS)]);
  const rows = read!.results as { tree: number; rrsig_expires_at: number; data: string | ArrayBuffer | number[] }[];
  for (const row of rows) {
    if (best !== null && row.rrsig_expires_at >= best) return best;
    const tree: Tree = row.tree === 1 ? 1 : 0;
    for (const node of rawNodes(textToBytes(row.data))) if (!hidden(tree, node.key)) take(nodeExpiry(decodeRawNode(node)));
  }
  return rows.length < EARLIEST_BLOCKS ? best : undefined;
}

/** A sort key as a string, for a Set. */
function bytesKey(key: Uint8Array): string {
  let s = "";
  for (const b of key) s += String.fromCharCode(b);
  return s;
}

/** The zone's state as step 1 reads it. */
interface StartRow {
  current_version: number | null;
  serial: number | null;
  record_count: number;
  leased: number | null;
  max_version: number;
  rrsig_expires_at: number | null;
  stale: number;
  overlay_from: number | null;
}

/** Step 1's read: the zone's pointer, serial, lease, versions. */
function checkStartStatement(budget: Budget, zone: ZoneRef, owner: string, now: number): D1PreparedStatement {
  return budget.prepare(
    `SELECT current_version, serial, record_count, lease_owner = ?2 AND lease_until > ?3 AS leased, rrsig_expires_at, overlay_from,
       (SELECT COALESCE(MAX(version), 0) FROM zone_versions WHERE zone_id = ?1) AS max_version,
       (SELECT COUNT(*) FROM zone_versions WHERE zone_id = ?1 AND state IN ('open', 'abandoned')) AS stale
     FROM zones WHERE id = ?1`,
    [zone.id, owner, now],
  );
}

/** 1. The lease is ours, the zone has a version, and the changesets chain from its serial. */
async function checkStart(budget: Budget, zone: ZoneRef, owner: string, changesets: readonly ChangesetInput[], now: number): Promise<Base> {
  // Through `batch`, so that its rows read are counted.
  const [read] = await budget.batch([checkStartStatement(budget, zone, owner, now)]);
  return checkStartResult(zone, changesets, read!);
}

/** Step 1's checks on what its statement read. */
function checkStartResult(zone: ZoneRef, changesets: readonly ChangesetInput[], read: D1Result<unknown>): Base {
  const state = (read.results as StartRow[])[0];
  if (!state) throw new StoreError("not-found", `no zone ${zone.name}`);
  if (!state.leased) throw new StoreError("lease", `this instance does not hold the refresh lease of ${zone.name}`);
  if (state.current_version === null || state.serial === null) {
    throw new StoreError("inconsistent", `${zone.name} has no version yet: a changeset needs a full transfer first`);
  }
  if (changesets.length === 0) throw new StoreError("inconsistent", "no changesets");
  let expected = state.serial;
  for (const cs of changesets) {
    if (cs.fromSerial !== expected) {
      throw new StoreError("inconsistent", `a changeset starts at serial ${cs.fromSerial}, but ${zone.name} is at ${expected}`);
    }
    expected = cs.toSerial;
  }
  return { overlayFrom: state.overlay_from, base: state.current_version, version: state.max_version + 1, serial: state.serial, recordCount: state.record_count, rrsigExpiresAt: state.rrsig_expires_at, stale: state.stale };
}

/**
 * 2. The blocks holding each touched owner at the served version: one D1 batch of packed lookups, ~96
 * owners a statement (`blocksAtOrBeforeStatement`: a 1,000-owner change is 11 statements, not 1,000,
 * which D1's 1,000 queries per invocation would not allow); an owner before every block goes to the
 * tree's first block, or to a new one.
 */
async function findTouchedBlocks(budget: Budget, zone: ZoneRef, keys: readonly { tree: Tree; key: Uint8Array }[], base: number): Promise<WorkingBlock[]> {
  const lookups = touchedLookups(budget, zone, keys, base);
  return touchedFromResults(budget, zone, lookups, await budget.batch(lookups.statements), base);
}

/** Step 2's packed lookups, and what reading their results needs. */
interface TouchedLookups {
  statements: D1PreparedStatement[];
  treeOfStatement: Tree[];
  byTree: Map<Tree, Uint8Array[]>;
}

function touchedLookups(budget: Budget, zone: ZoneRef, touched: readonly { tree: Tree; key: Uint8Array }[], base: number): TouchedLookups {
  const byTree = new Map<Tree, Uint8Array[]>();
  for (const l of touched) {
    const keys = byTree.get(l.tree);
    if (keys) keys.push(l.key);
    else byTree.set(l.tree, [l.key]);
  }
  const statements: D1PreparedStatement[] = [];
  const treeOfStatement: Tree[] = [];
  for (const [tree, keys] of byTree) {
    for (let i = 0; i < keys.length; i += KEYS_PER_LOOKUP) {
      statements.push(blocksAtOrBeforeStatement(budget, zone.id, tree, keys.slice(i, i + KEYS_PER_LOOKUP), base));
      treeOfStatement.push(tree);
    }
  }
  return { statements, treeOfStatement, byTree };
}

/** The touched blocks from the lookups' results (and the first block of a tree, where a key precedes all). */
async function touchedFromResults(budget: Budget, zone: ZoneRef, lookups: TouchedLookups, results: readonly D1Result<unknown>[], base: number): Promise<WorkingBlock[]> {
  const { treeOfStatement, byTree } = lookups;
  const blocks = new Map<number, WorkingBlock>();
  const fresh: WorkingBlock[] = [];
  const needFirst = new Set<Tree>();
  const lowest = new Map<Tree, Uint8Array>();
  results.forEach((result, j) => {
    const tree = treeOfStatement[j]!;
    for (const row of rowsOf(result)) {
      if (!blocks.has(row.id)) blocks.set(row.id, loaded(row, tree));
      const low = lowest.get(tree);
      if (!low || compareBytes(row.firstKey, low) < 0) lowest.set(tree, row.firstKey);
    }
  });
  // A key below every block found has no block at or before it (else that block would have been found).
  for (const [tree, keys] of byTree) {
    const low = lowest.get(tree);
    if (!low || keys.some((k) => compareBytes(k, low) < 0)) needFirst.add(tree);
  }
  for (const tree of needFirst) {
    const row = rowsOf(await budget.batch([firstBlockStatement(budget, zone.id, tree, base)]).then((r) => r[0]!))[0];
    if (row) {
      if (!blocks.has(row.id)) {
        blocks.set(row.id, loaded(row, tree));
      }
    } else {
      fresh.push({ id: null, tree, firstKey: new Uint8Array(0), nextKey: null, slots: [], data: null });
    }
  }
  return [...blocks.values(), ...fresh];
}

/** The touched blocks of each tree sorted by first key, for {@link blockFor}'s binary search. */
type WorkingIndex = Map<Tree, WorkingBlock[]>;

function indexWorking(working: readonly WorkingBlock[]): WorkingIndex {
  const index: WorkingIndex = new Map();
  for (const b of working) {
    const list = index.get(b.tree) ?? [];
    list.push(b);
    index.set(b.tree, list);
  }
  for (const list of index.values()) list.sort((a, b) => compareBytes(a.firstKey, b.firstKey));
  return index;
}

/**
 * The block that holds `key` in `tree`: the last one starting at or before it, else the first (a binary
 * search: a 1,000-record change over as many blocks made the former scan a million comparisons).
 */
function blockFor(index: WorkingIndex, tree: Tree, key: Uint8Array): WorkingBlock {
  const list = index.get(tree)!;
  let lo = 0, hi = list.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(list[mid]!.firstKey, key) <= 0) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return list[best]!;
}

/**
 * 3. The changesets in order, in memory: a deletion must find its record (else the primary's history
 * and ours differ: "inconsistent", and the service falls back to AXFR); an addition of a record we have
 * only takes its TTL.
 */
function applyInOrder(
  working: readonly WorkingBlock[],
  zone: ZoneRef,
  changesets: readonly ChangesetInput[],
  parsed: readonly ParsedChangeset[],
  recordCountBefore: number,
  changed = new Set<WorkingBlock>(),
): { changed: Set<WorkingBlock>; recordCount: number } {
  let recordCount = recordCountBefore;
  const index = indexWorking(working);
  parsed.forEach((p, i) => {
    for (const r of p.deletions) {
      const tree = treeOf(r.type, r.rdata);
      const key = r.name.sortKey();
      const b = blockFor(index, tree, key);
      const at = slotIndex(b.slots, key);
      const node = at.found ? nodeAt(b, at.index) : undefined;
      const k = node ? node.records.findIndex((x) => sameRecord(x, r)) : -1;
      if (!node || k < 0) {
        throw new StoreError(
          "inconsistent",
          `changeset ${i} (serial ${changesets[i]!.fromSerial} → ${changesets[i]!.toSerial}) deletes ${r.name} type ${r.type}, which ${zone.name} does not have`,
        );
      }
      node.records.splice(k, 1);
      recordCount--;
      changed.add(b);
    }
    for (const r of p.additions) {
      const tree = treeOf(r.type, r.rdata);
      const key = r.name.sortKey();
      const b = blockFor(index, tree, key);
      const at = slotIndex(b.slots, key);
      let node = at.found ? nodeAt(b, at.index) : undefined;
      if (!node) {
        node = makeNode(r.name, []);
        b.slots.splice(at.index, 0, { key: node.key, node });
      }
      if (addRecord(node.records, r)) recordCount++;
      changed.add(b);
    }
  });
  return { changed, recordCount };
}

/** 4. Exactly one SOA at the apex afterwards, with the last changeset's serial; returns that serial. */
function checkApexSoa(working: readonly WorkingBlock[], zone: ZoneRef, changesets: readonly ChangesetInput[]): number {
  const apexKey = zone.name.sortKey();
  const apexBlock = blockFor(indexWorking(working), TREE_MAIN, apexKey);
  const apexAt = slotIndex(apexBlock.slots, apexKey);
  const soas = apexAt.found ? nodeAt(apexBlock, apexAt.index).records.filter((r) => r.type === RRType.SOA) : [];
  return soaSerial(soas, zone, changesets);
}

/** The serial of the apex's SOA records after the changesets: exactly one, with the last changeset's serial. */
function soaSerial(soas: readonly StoredNode["records"][number][], zone: ZoneRef, changesets: readonly ChangesetInput[]): number {
  const lastSerial = changesets[changesets.length - 1]!.toSerial;
  if (soas.length !== 1) {
    // The apex block may not have been touched at all (a changeset without SOA records).
    throw new StoreError("inconsistent", `after the changesets ${zone.name} has ${soas.length} SOA records at the apex, not one`);
  }
  let serial: number;
  try {
    serial = readSoa(soas[0]!.rdata).serial;
  } catch {
    throw new StoreError("bad-records", `the new SOA of ${zone.name} does not parse`);
  }
  if (serial !== lastSerial) {
    throw new StoreError("serial-mismatch", `the changesets end at serial ${lastSerial} but the SOA says ${serial}`);
  }
  return serial;
}

/**
 * 5. One D1 batch, guarded by a compare-and-set on (lease, current version, serial): the version row, the
 * pointer flip, old rows retired where not shadowed, new rows, journal rows, and the sweep of abandoned
 * versions.
 */
async function commitBatch(
  budget: Budget,
  zone: ZoneRef,
  owner: string,
  changesets: readonly ChangesetInput[],
  parsed: readonly ParsedChangeset[],
  start: Base,
  result: {
    changed: Set<WorkingBlock>;
    recordCount: number;
    serial: number;
    /** The overlay apply's owners (then `changed` is empty and no block is written), or null: a fold, or no overlay. */
    overlayChanges: OverlayChange[] | null;
    /** With `overlayChanges`, the zone's new earliest RRSIG expiration. */
    earliest: number | null;
    /** In a fold, whether an overlaid node may have held the old earliest RRSIG expiration. */
    overlayHeldEarliest?: boolean;
    /** With `overlayChanges`, the overlay the base version sees (for `ChangesetResult.served`). */
    baseOverlay?: Overlay;
  },
  expiresAt: number | undefined,
  now: number,
): Promise<Omit<ChangesetResult, "rowsRead">> {
  const { base, version } = start;
  const { changed, recordCount, serial, overlayChanges } = result;
  // The served version's overlay: kept growing (from its first version on), or gone after a fold.
  const overlayFrom = overlayChanges === null ? null : (start.overlayFrom ?? version);
  const moved = "(SELECT current_version FROM zones WHERE id = ?1) = ?2";
  const statements: D1PreparedStatement[] = [
    // Inserted committed, under the flip's own conditions: the whole batch is one transaction.
    budget.prepare(
      `INSERT INTO zone_versions (zone_id, version, kind, base_version, owner, state, serial, record_count, committed_at)
       SELECT ?1, ?2, 'ixfr', ?3, ?4, 'committed', ?5, ?6, ?7
       WHERE EXISTS (SELECT 1 FROM zones WHERE id = ?1 AND current_version = ?3 AND serial = ?8 AND lease_owner = ?4 AND lease_until > ?7)`,
      [zone.id, version, base, owner, serial, recordCount, now, start.serial],
    ),
    budget.prepare(
      `UPDATE zones SET current_version = ?2, serial = ?5, record_count = ?6, status = 'active', status_detail = ?7,
         expires_at = COALESCE(?8, expires_at), updated_at = ?9, overlay_from = ?11
       WHERE id = ?1 AND current_version = ?3 AND serial = ?10 AND lease_owner = ?4 AND lease_until > ?9`,
      [
        zone.id,
        version,
        base,
        owner,
        serial,
        recordCount,
        `serving serial ${serial} (${recordCount} records) from an IXFR`,
        expiresAt ?? null,
        now,
        start.serial,
        overlayFrom,
      ],
    ),
  ];
  if (overlayChanges !== null) statements.push(...insertOverlayStatements(budget, zone.id, version, overlayChanges));
  else if (start.overlayFrom !== null) statements.push(retireOverlayStatement(budget, zone.id, version));
  // New rows per touched block; an old row is retired only when its copy does not start at its key.
  const written: EncodedBlock[] = [];
  const retired: number[] = [];
  let shadowedBlocks = 0;
  // Whether a replaced block may have held the zone's earliest RRSIG expiration (then it is computed over
  // the whole version again; else it is the least of the old one and the new blocks').
  let earliestReplaced = result.overlayHeldEarliest ?? false;
  const oldEarliest = start.rrsigExpiresAt;
  for (const b of changed) {
    // A second of slack: the expirations are 32-bit times read relative to "now" (`rrsig-expiry.ts`).
    const was = oldExpiry(b);
    if (was !== null && (oldEarliest === null || was <= oldEarliest + 1000)) earliestReplaced = true;
    const pieces = cutBlock(b);
    if (b.id !== null) {
      if (pieces.length > 0 && compareBytes(pieces[0]!.firstKey, b.firstKey) === 0) shadowedBlocks++;
      else retired.push(b.id);
    }
    written.push(...pieces);
  }
  const inserts = insertBlocksStatements(budget, zone.id, version, written, { kind: "flipped" });
  for (let i = 0; i < retired.length; i += IDS_PER_UPDATE) {
    const ids = retired.slice(i, i + IDS_PER_UPDATE);
    statements.push(
      budget.prepare(
        `UPDATE blocks SET removed_version = ?2 WHERE zone_id = ?1 AND removed_version IS NULL AND ${moved}
           AND id IN (${ids.map((_, k) => `?${k + 3}`).join(", ")})`,
        [zone.id, version, ...ids],
      ),
    );
  }
  statements.push(...inserts);
  const blocksWritten = written.length;
  parsed.forEach((p, seq) => {
    const cs = changesets[seq]!;
    const dels = partsOf(p.deletions, JOURNAL_PART_BYTES);
    const adds = partsOf(p.additions, JOURNAL_PART_BYTES);
    const empty = new Uint8Array(0);
    for (let part = 0; part < Math.max(dels.length, adds.length); part++) {
      statements.push(
        budget.prepare(
          `INSERT INTO changesets (zone_id, version, seq, part, from_serial, to_serial, deletions, additions)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ${moved}`,
          [zone.id, version, seq, part, cs.fromSerial, cs.toSerial, dels[part] ?? empty, adds[part] ?? empty],
        ),
      );
    }
  });
  // The sweep of stale versions reads every block row of the zone (no index leads with the version), so
  // it runs only when there is one; a new one cannot appear meanwhile: only the lease holder opens versions.
  if (start.stale > 0) {
    statements.push(
      budget.prepare(
        `UPDATE zone_versions SET state = 'abandoned' WHERE zone_id = ?1 AND state = 'open' AND version < ?2 AND ${moved}`,
        [zone.id, version],
      ),
      ...deleteAbandonedStatements(budget, zone.id, version),
    );
  }
  statements.push(
    overlayChanges !== null
      ? budget.prepare("UPDATE zones SET rrsig_expires_at = ?3 WHERE id = ?1 AND current_version = ?2", [zone.id, version, result.earliest])
      : earliestStatement(budget, zone.id, version, oldEarliest, earliestReplaced, written),
  );
  const before = budget.counts.rowsWritten;
  let results: D1Result[];
  try {
    results = await budget.batch(statements);
  } catch (err) {
    // A concurrent commit took the same version number first.
    if (err instanceof Error && /UNIQUE|PRIMARY KEY/i.test(err.message)) {
      throw new StoreError("conflict", `${zone.name} changed while the changesets were applied`);
    }
    throw err;
  }
  // `changes` counts the rows the zone change log's triggers write too (`zone_changes`): 0 means the guard failed.
  if ((results[1]!.meta.changes ?? 0) === 0) {
    throw new StoreError("conflict", `${zone.name} changed while the changesets were applied (or the lease was lost)`);
  }
  return {
    version,
    serial,
    recordCount,
    rowsWritten: budget.counts.rowsWritten - before,
    blocksReplaced: retired.length + shadowedBlocks,
    blocksRetired: retired.length,
    blocksWritten,
    overlayOwners: overlayChanges?.length ?? 0,
    folded: overlayChanges === null && start.overlayFrom !== null,
    served:
      overlayChanges !== null && overlayFrom !== null && result.baseOverlay !== undefined
        ? { base, version, serial, overlayFrom, overlay: lazyOverlay(result.baseOverlay, overlayChanges) }
        : undefined,
  };
}

/** The overlay after `changes`, made once when first asked for (the next query, in the isolate that committed). */
function lazyOverlay(base: Overlay, changes: readonly OverlayChange[]): () => Overlay {
  let made: Overlay | undefined;
  return () => (made ??= overlayAfter(base, changes));
}

/**
 * A touched block's nodes, emptied ones left out, as blocks cut as `block-builder.ts` cuts them: untouched
 * nodes are copied as bytes, edited ones encoded.
 * @throws StoreError (too-large) for an owner over the node size limit.
 */
function cutBlock(b: WorkingBlock): EncodedBlock[] {
  const out: EncodedBlock[] = [];
  let writer: PieceWriter | undefined;
  // The piece's first and last nodes: only their keys are made.
  let first: Slot | undefined, last: Slot | undefined;
  const finish = (w: PieceWriter) =>
    out.push({ tree: b.tree, firstKey: keyOf(first!), lastKey: keyOf(last!), records: w.recordCount, rrsigExpiresAt: w.rrsigExpiresAt, data: w.finish() });
  for (const slot of b.slots) {
    let raw = slot.raw;
    if (!raw) {
      const node = slot.node!;
      if (node.records.length === 0) continue;
      const encoded = encodeBlock([node]);
      raw = { buf: encoded, start: 3, end: encoded.length, records: node.records.length };
    }
    const size = raw.end - raw.start;
    if (size > NODE_MAX_BYTES) {
      throw new StoreError("too-large", `owner ${decodeRawNode(raw).name} holds ${size} bytes of records, more than ${NODE_MAX_BYTES}`);
    }
    if (writer && (writer.size + size > BLOCK_TARGET_BYTES || writer.nodeCount >= BLOCK_MAX_NODES)) {
      finish(writer);
      writer = undefined;
    }
    if (!writer) {
      writer = new PieceWriter(BLOCK_TARGET_BYTES + 4096);
      first = slot;
    }
    last = slot;
    writer.addNode(raw);
  }
  if (writer) finish(writer);
  return out;
}

/**
 * The zone's earliest RRSIG expiration after the change, in the commit batch: the least of the old value
 * and the new blocks' when no replaced block can have held the old value (reads no block row), else the
 * minimum over the whole version again (`earliestRrsigStatement`: every block row of the zone is read).
 */
function earliestStatement(budget: Budget, zoneId: number, version: number, old: number | null, replacedHeldIt: boolean, written: readonly EncodedBlock[]): D1PreparedStatement {
  if (replacedHeldIt) return earliestRrsigStatement(budget, zoneId, version);
  let least = old;
  for (const b of written) if (b.rrsigExpiresAt !== null && (least === null || b.rrsigExpiresAt < least)) least = b.rrsigExpiresAt;
  return budget.prepare("UPDATE zones SET rrsig_expires_at = ?3 WHERE id = ?1 AND current_version = ?2", [zoneId, version, least]);
}
