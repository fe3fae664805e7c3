/**
 * @module A committed version read back as a record stream (for AXFR out and for checks): every record,
 * the apex SOA first, then the rest in canonical order (RFC 4034 §6.1), the NSEC3 chain last. Read a few
 * blocks per query, so a 1M-record zone is never held whole.
 */
import { RRType } from "../../dns/constants.ts";
import { decodeBlock } from "./block-codec.ts";
import { pageStatement, rowsOf } from "./block-table.ts";
import { encodeNodesAsStream } from "./record-stream.ts";
import { Budget } from "./statement-budget.ts";
import { TREE_MAIN, TREE_NSEC3 } from "../../answer/store/stored-node.ts";
import type { StoredNode, Tree } from "../../answer/store/stored-node.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";

const BLOCKS_PER_QUERY = 8;

/** Every node of a version, tree by tree, in canonical order. */
export async function* versionNodes(db: D1Queryable, zoneId: number, version: number): AsyncGenerator<StoredNode> {
  const budget = new Budget(db);
  for (const tree of [TREE_MAIN, TREE_NSEC3] as Tree[]) {
    let after: Uint8Array | null = null;
    for (;;) {
      const rows = rowsOf(await pageStatement(budget, zoneId, version, tree, after, BLOCKS_PER_QUERY).all());
      for (const row of rows) yield* decodeBlock(row.data);
      if (rows.length < BLOCKS_PER_QUERY) break;
      after = rows[rows.length - 1]!.firstKey;
    }
  }
}

/** The stream of a committed version, or null when there is no such committed version. */
export async function streamVersion(
  db: D1Queryable,
  zoneId: number,
  version: number,
): Promise<{ serial: number; body: ReadableStream<Uint8Array> } | null> {
  const row = await db
    .prepare("SELECT serial FROM zone_versions WHERE zone_id = ?1 AND version = ?2 AND state = 'committed'")
    .bind(zoneId, version)
    .first<{ serial: number }>();
  if (!row) return null;
  const nodes = versionNodes(db, zoneId, version);
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const batch: StoredNode[] = [];
      // Roughly one block's worth of nodes per enqueue.
      while (batch.length < 256) {
        const next = await nodes.next();
        if (next.done) break;
        let node = next.value;
        if (first) {
          // The apex comes first in canonical order; put its SOA at the very front, as AXFR wants.
          first = false;
          const soa = node.records.filter((r) => r.type === RRType.SOA);
          node = { ...node, records: [...soa, ...node.records.filter((r) => r.type !== RRType.SOA)] };
        }
        batch.push(node);
      }
      if (batch.length > 0) controller.enqueue(encodeNodesAsStream(batch));
      if (batch.length < 256) controller.close();
    },
  });
  return { serial: row.serial, body };
}
