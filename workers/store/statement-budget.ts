/**
 * @module D1's per-statement limits, counted by us: at most 100 bound parameters and 100 KB of SQL text
 * plus bound values per statement (https://developers.cloudflare.com/d1/platform/limits/). Local D1
 * (SQLite under miniflare) does not enforce them, so every statement the store builds goes through
 * `Budget.prepare`, which refuses an oversized one and keeps counts for the tests to assert on.
 */
import type { D1Queryable } from "../db/d1-queryable.ts";

export const MAX_BOUND_PARAMETERS = 100;
export const MAX_STATEMENT_BYTES = 100_000;

export type Bindable = string | number | null | Uint8Array | ArrayBuffer | boolean;

export class StatementLimitError extends Error {
  override readonly name = "StatementLimitError";
}

export interface BudgetCounts {
  statements: number;
  batches: number;
  maxParams: number;
  maxBytes: number;
  /** Sum of `meta.rows_written` over the results the store passed to `record`. */
  rowsWritten: number;
  /** Sum of `meta.rows_read` likewise (what D1 bills reads by). */
  rowsRead: number;
}

/** Bytes a bound value adds to a statement, as D1 counts them (text as UTF-8, blobs raw, numbers 8). */
export function boundSize(v: Bindable): number {
  if (v === null || typeof v === "number" || typeof v === "boolean") return 8;
  if (typeof v === "string") return utf8Length(v);
  return v.byteLength;
}

/** Reused by {@link utf8Length}: a bound value is at most 100 KB, so at most 300 KB of UTF-8. */
const encoder = new TextEncoder();
const scratch = new Uint8Array(3 * MAX_STATEMENT_BYTES);

/**
 * The UTF-8 length of `s`, without allocating its encoding: a full transfer binds ~50 MB of base64 text per
 * million records, and `new TextEncoder().encode(v).length` for each value cost ~0.2 s of Worker CPU there
 * (issue 28's profile), as did a JavaScript loop over the characters. `encodeInto` a reused buffer is a
 * native copy. A string too long for the buffer (past any statement's limit anyway) is counted in a loop.
 */
export function utf8Length(s: string): number {
  if (s.length <= MAX_STATEMENT_BYTES) return encoder.encodeInto(s, scratch).written;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 2 UTF-16 units, 4 octets.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

export class Budget {
  readonly counts: BudgetCounts = { statements: 0, batches: 0, maxParams: 0, maxBytes: 0, rowsWritten: 0, rowsRead: 0 };

  constructor(readonly db: D1Queryable) {}

  /** @throws StatementLimitError when the statement would break D1's limits. */
  prepare(sql: string, params: readonly Bindable[] = []): D1PreparedStatement {
    if (params.length > MAX_BOUND_PARAMETERS) {
      throw new StatementLimitError(`statement binds ${params.length} parameters, D1 allows ${MAX_BOUND_PARAMETERS}`);
    }
    let bytes = sql.length;
    for (const p of params) bytes += boundSize(p);
    if (bytes > MAX_STATEMENT_BYTES) {
      throw new StatementLimitError(`statement is ${bytes} bytes, D1 allows ${MAX_STATEMENT_BYTES}`);
    }
    this.counts.statements++;
    if (params.length > this.counts.maxParams) this.counts.maxParams = params.length;
    if (bytes > this.counts.maxBytes) this.counts.maxBytes = bytes;
    return this.db.prepare(sql).bind(...params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p)));
  }

  /** Runs statements as one D1 batch (one implicit transaction: all or nothing) and counts rows written. */
  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    if (statements.length === 0) return [];
    this.counts.batches++;
    const results = await this.db.batch<T>(statements);
    for (const r of results) this.record(r);
    return results;
  }

  async run(statement: D1PreparedStatement): Promise<D1Result> {
    const result = await statement.run();
    this.record(result);
    return result;
  }

  record(result: D1Result<unknown>): void {
    this.counts.rowsWritten += result.meta?.rows_written ?? 0;
    this.counts.rowsRead += result.meta?.rows_read ?? 0;
  }
}
