/**
 * @module D1 rows read by the requests of `/internal/v1` (the transfer-service's calls) and `/api/v1`, summed
 * per isolate from each result's `meta.rows_read` (what D1 bills reads by), for `/internal/v1/answer-stats`
 * beside the answer path's own count. Issue 19 asks for both at 1 and at N zones: an idle service must read
 * rows in proportion to what changed, not to the zones it holds.
 *
 * The session's statements are counted where D1 hands back a result with `meta`: `all()`, `run()` and
 * `batch()`. `first()` and `raw()` give no meta (drizzle's selects go through `raw()`); they are counted as
 * `unmetered` statements, so a figure read from here says how much it could not see.
 *
 * The statement objects are D1's own, with their methods wrapped on the instance (not a Proxy), so that
 * `batch()` still takes them.
 */

/** What one kind of request read since the isolate started. */
export interface ReadCounts {
  /** Statements run (each statement of a batch counts). */
  statements: number;
  /** Sum of `meta.rows_read` over those whose result carries it. */
  rowsRead: number;
  /** Statements run through `first()` or `raw()`, which return no `meta`: their rows are not in `rowsRead`. */
  unmetered: number;
}

export type MeteredRoutes = "internal" | "api";

/** This isolate's counts, by the routes whose sessions read them. */
export const sessionReads: Record<MeteredRoutes, ReadCounts> = {
  internal: { statements: 0, rowsRead: 0, unmetered: 0 },
  api: { statements: 0, rowsRead: 0, unmetered: 0 },
};

type WithMeta = { meta?: { rows_read?: number } | undefined };

function add(counts: ReadCounts, result: WithMeta): void {
  counts.statements++;
  counts.rowsRead += result.meta?.rows_read ?? 0;
}

/** `stmt` with its results counted into `counts`, and every statement `bind` makes from it likewise. */
function meterStatement(stmt: D1PreparedStatement, counts: ReadCounts): D1PreparedStatement {
  const { bind, all, run, first, raw } = stmt;
  Object.assign(stmt, {
    bind: (...values: unknown[]) => meterStatement(bind.apply(stmt, values), counts),
    all: async () => {
      const r = await all.call(stmt);
      add(counts, r);
      return r;
    },
    run: async () => {
      const r = await run.call(stmt);
      add(counts, r);
      return r;
    },
    first: (...args: unknown[]) => {
      counts.statements++;
      counts.unmetered++;
      return (first as (...a: unknown[]) => Promise<unknown>).apply(stmt, args);
    },
    raw: (...args: unknown[]) => {
      counts.statements++;
      counts.unmetered++;
      return (raw as (...a: unknown[]) => Promise<unknown>).apply(stmt, args);
    },
  });
  return stmt;
}

/** `session` with every statement it prepares, and every batch it runs, counted into `counts`. */
export function meterSession(session: D1DatabaseSession, counts: ReadCounts): D1DatabaseSession {
  const { prepare, batch } = session;
  Object.assign(session, {
    prepare: (sql: string) => meterStatement(prepare.call(session, sql), counts),
    batch: async (statements: D1PreparedStatement[]) => {
      const results = await batch.call(session, statements);
      for (const r of results) add(counts, r as WithMeta);
      return results;
    },
  });
  return session;
}
