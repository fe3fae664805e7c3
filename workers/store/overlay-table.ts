/**
 * @module SQL over `node_overlay` (issue 28: the overlay of changed nodes, `overlay.ts`). Version V sees a
 * row when `added_version <= V AND (removed_version IS NULL OR removed_version > V)`, like a block; an IXFR
 * adds its version's rows (guarded like its blocks by the flip), and a full transfer's commit or a fold
 * retires every row at its version (older versions still see them until the sweep prunes them). The
 * overlay a version sees is one query on the table's primary key (`zone_id, added_version, …`), read whole:
 * a fold keeps it under `OVERLAY_MAX_OWNERS` owners and `OVERLAY_MAX_BYTES` (`changeset-apply.ts`).
 */
import { encodeBlock } from "./block-codec.ts";
import { MAX_TEXT_BYTES, storedBytes, textToBytes } from "./blob-text.ts";
import { nodeSize } from "./block-codec.ts";
import { EarliestExpiry } from "../../answer/store/rrsig-expiry.ts";
import { nodeIndex } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import { blockAtOrBeforeStatement, firstRow } from "./block-table.ts";
import { decodeBlock } from "./block-codec.ts";
import { Overlay } from "./overlay.ts";
import type { OverlayPart } from "./overlay.ts";
import type { Budget } from "./statement-budget.ts";

const VISIBLE = "zone_id = ?1 AND added_version <= ?2 AND (removed_version IS NULL OR removed_version > ?2)";

interface RawOverlayRow {
  tree: number;
  data: string | ArrayBuffer | number[];
}

/** The rows version `version` sees, oldest version first (`Overlay.fromParts`'s order). */
export function overlayStatement(budget: Budget, zoneId: number, version: number): D1PreparedStatement {
  return budget.prepare(`SELECT tree, data FROM node_overlay WHERE ${VISIBLE} ORDER BY added_version, tree, part`, [zoneId, version]);
}

/**
 * The rows version `version` sees that were added after version `after` (oldest first): with no fold in
 * between (the zones row's `overlay_from` the same for both), what the overlay of `after` lacks.
 */
export function overlaySinceStatement(budget: Budget, zoneId: number, after: number, version: number): D1PreparedStatement {
  return budget.prepare(`SELECT tree, data FROM node_overlay WHERE ${VISIBLE} AND added_version > ?3 ORDER BY added_version, tree, part`, [
    zoneId,
    version,
    after,
  ]);
}

/** The overlay of what {@link overlayStatement} read (or, over `base`, {@link overlaySinceStatement}). */
export function overlayOf(result: D1Result<unknown>, base: Overlay = Overlay.EMPTY): Overlay {
  const rows = result.results as RawOverlayRow[];
  if (rows.length === 0) return base;
  return Overlay.fromParts(
    rows.map((r): OverlayPart => ({ tree: r.tree === 1 ? 1 : 0, data: textToBytes(r.data) })),
    base,
  );
}

/** The overlay version `version` sees (one query, its rows read counted). */
export async function readOverlay(budget: Budget, zoneId: number, version: number): Promise<Overlay> {
  const result = await overlayStatement(budget, zoneId, version).all();
  budget.record(result);
  return overlayOf(result);
}

/** An owner an IXFR changed: its new node, no records meaning the owner is gone (a tombstone). */
export interface OverlayChange {
  tree: Tree;
  node: StoredNode;
}

/** One overlay row as an IXFR writes it: its tree, nodes and their encoding (a block's, `block-codec.ts`). */
interface OverlayRowParts extends OverlayPart {
  nodes: readonly StoredNode[];
}

/** `changes` (sorted by tree, then key) cut into rows of at most MAX_TEXT_BYTES (~1,000 changed owners a row). */
function overlayRows(changes: readonly OverlayChange[]): OverlayRowParts[] {
  const out: OverlayRowParts[] = [];
  let current: StoredNode[] = [];
  let tree: Tree | undefined;
  let size = 3;
  const emit = () => {
    if (current.length === 0) return;
    out.push({ tree: tree!, nodes: current, data: encodeBlock(current) });
    current = [];
    size = 3;
  };
  for (const change of changes) {
    const n = nodeSize(change.node);
    if (change.tree !== tree || (current.length > 0 && (size + n > MAX_TEXT_BYTES || current.length >= 0xffff))) emit();
    tree = change.tree;
    current.push(change.node);
    size += n;
  }
  emit();
  return out;
}

/**
 * Inserts of version `version`'s overlay rows: `changes` (sorted by tree, then key) encoded as blocks, cut
 * into parts of at most MAX_TEXT_BYTES (stored as text: ~1,000 changed owners a row), each written only if
 * the zone's pointer is at `version` (run after the flip in the IXFR's commit batch).
 */
export function insertOverlayStatements(budget: Budget, zoneId: number, version: number, changes: readonly OverlayChange[]): D1PreparedStatement[] {
  return overlayRows(changes).map((row, part) => {
    const expiry = new EarliestExpiry();
    for (const n of row.nodes) for (const r of n.records) expiry.record(r.type, r.rdata);
    return budget.prepare(
      `INSERT INTO node_overlay (zone_id, added_version, tree, part, owners, rrsig_expires_at, data)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE (SELECT current_version FROM zones WHERE id = ?1) = ?2`,
      [zoneId, version, row.tree, part, row.nodes.length, expiry.ms, storedBytes(row.data)],
    );
  });
}

/**
 * The overlay the version an IXFR commits sees, from the base version's and the rows
 * {@link insertOverlayStatements} writes for `changes`: what reading them back would give (issue 28, session 11:
 * the isolate that committed the version hands it to its answer path, `served-store.ts`).
 */
export function overlayAfter(base: Overlay, changes: readonly OverlayChange[]): Overlay {
  return Overlay.fromParts(
    overlayRows(changes).map((row) => ({ tree: row.tree, data: row.data })),
    base,
  );
}

/**
 * Retires every overlay row still seen, at `version` (a full transfer's commit, or a fold), if the zone's
 * pointer is at `version` (in the flip's batch, after the flip).
 */
export function retireOverlayStatement(budget: Budget, zoneId: number, version: number): D1PreparedStatement {
  return budget.prepare(
    `UPDATE node_overlay SET removed_version = ?2 WHERE zone_id = ?1 AND removed_version IS NULL AND added_version < ?2
       AND (SELECT current_version FROM zones WHERE id = ?1) = ?2`,
    [zoneId, version],
  );
}

/** Deletes the rows retired at or before version `oldest` (?2): no kept version sees them. */
export function deleteRetiredOverlayStatement(budget: Budget, zoneId: number, oldest: number): D1PreparedStatement {
  return budget.prepare("DELETE FROM node_overlay WHERE zone_id = ?1 AND removed_version IS NOT NULL AND removed_version <= ?2", [zoneId, oldest]);
}

/**
 * The node at `key` in `tree` of version `version`, with its overlay (read once by the caller): the
 * overlay's if it names the owner, else the block's (one indexed query). Records are a fresh copy.
 */
export async function readNode(budget: Budget, zoneId: number, version: number, tree: Tree, key: Uint8Array, overlay: Overlay): Promise<StoredNode | null> {
  const own = overlay.get(tree, key);
  if (own !== undefined) return own && { ...own, records: own.records.slice() };
  const row = await firstRow(blockAtOrBeforeStatement(budget, zoneId, tree, key, version));
  if (!row) return null;
  const nodes = decodeBlock(row.data);
  const at = nodeIndex(nodes, key);
  return at.found ? nodes[at.index]! : null;
}
