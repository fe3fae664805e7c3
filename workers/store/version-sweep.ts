/**
 * @module The cron sweep: deletes what no reader can need any more.
 *
 * - Open versions untouched for longer than a transfer may take (BIND's 120-minute total limit, plus
 *   margin) are abandoned, and the rows of abandoned versions deleted.
 * - Old versions are pruned only well after the 1 s window in which an isolate may still read by an old
 *   pointer: a committed version is kept while it is among the newest `keepVersions` or younger than
 *   `keepMs`. Blocks retired at or before the oldest kept version are invisible to every kept version
 *   (visibility needs `removed_version > V`), and so are blocks shadowed by a newer row of the same key
 *   added at or before it (`block-table.ts`), so both go; journal rows of pruned versions go too, and
 *   overlay rows (issue 28) retired at or before it (an overlay row not yet folded is seen by the served
 *   version, whatever its age).
 */
import { deleteShadowedStatement } from "./block-table.ts";
import { deleteRetiredOverlayStatement } from "./overlay-table.ts";
import { deleteAbandonedStatements } from "./full-ingest.ts";
import { Budget } from "./statement-budget.ts";

export interface SweepOptions {
  /** Committed versions kept per zone, whatever their age. Default 10. */
  keepVersions?: number;
  /** Committed versions younger than this are kept. Default 1 hour; never under 60 s. */
  keepMs?: number;
  /** Open versions older than this are abandoned. Default 3 hours. */
  openMaxMs?: number;
  now?: number;
}

export interface SweepResult {
  zones: number;
  abandoned: number;
  blocksDeleted: number;
  /** Overlay rows deleted (issue 28). */
  overlayRowsDeleted: number;
}

export async function sweepVersions(db: D1Database, options: SweepOptions = {}): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const keepVersions = Math.max(1, options.keepVersions ?? 10);
  const keepMs = Math.max(60_000, options.keepMs ?? 3_600_000);
  const openMaxMs = options.openMaxMs ?? 3 * 3_600_000;
  const budget = new Budget(db);
  const abandoned = await budget.run(
    budget.prepare("UPDATE zone_versions SET state = 'abandoned' WHERE state = 'open' AND created_at < ?1", [now - openMaxMs]),
  );
  const zones = await db.prepare("SELECT id, current_version FROM zones WHERE current_version IS NOT NULL").all<{ id: number; current_version: number }>();
  let blocksDeleted = 0;
  let overlayRowsDeleted = 0;
  for (const zone of zones.results) {
    // The oldest version to keep: the keepVersions-th newest committed one, or an older one still young.
    const kept = await db
      .prepare(
        `SELECT MIN(version) AS oldest FROM (
           SELECT version FROM zone_versions WHERE zone_id = ?1 AND state = 'committed' ORDER BY version DESC LIMIT ?2
         ) UNION ALL SELECT MIN(version) FROM zone_versions WHERE zone_id = ?1 AND state = 'committed' AND committed_at >= ?3`,
      )
      .bind(zone.id, keepVersions, now - keepMs)
      .all<{ oldest: number | null }>();
    const candidates = kept.results.map((r) => r.oldest).filter((v): v is number => v !== null);
    const oldest = Math.min(zone.current_version, ...candidates);
    const abandonedRows = deleteAbandonedStatements(budget, zone.id);
    const results = await budget.batch([
      ...abandonedRows,
      budget.prepare("DELETE FROM blocks WHERE zone_id = ?1 AND removed_version IS NOT NULL AND removed_version <= ?2", [zone.id, oldest]),
      deleteShadowedStatement(budget, zone.id, oldest),
      // Overlay rows a fold or a full transfer retired at or before the oldest kept version (issue 28).
      deleteRetiredOverlayStatement(budget, zone.id, oldest),
      budget.prepare("DELETE FROM changesets WHERE zone_id = ?1 AND version < ?2", [zone.id, oldest]),
      // Abandoned rows go too, now that their data is deleted (a reused version number is then harmless).
      budget.prepare(
        "DELETE FROM zone_versions WHERE zone_id = ?1 AND (state = 'abandoned' OR (state = 'committed' AND version < ?2))",
        [zone.id, oldest],
      ),
    ]);
    const blockDeletes = [0, abandonedRows.length, abandonedRows.length + 1];
    for (const i of blockDeletes) blocksDeleted += results[i]!.meta.changes ?? 0;
    overlayRowsDeleted += results[abandonedRows.length + 2]!.meta.changes ?? 0;
  }
  return { zones: zones.results.length, abandoned: abandoned.meta.changes ?? 0, blocksDeleted, overlayRowsDeleted };
}
