/**
 * @module D1's per-statement limits as the store counts them: the byte count of text values without
 * encoding them, and packed block inserts filled up to the limits and no further, against real local D1.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToText } from "./blob-text.ts";
import { insertBlocksStatements } from "./block-table.ts";
import type { EncodedBlock } from "./block-table.ts";
import { boundSize, Budget, MAX_BOUND_PARAMETERS, MAX_STATEMENT_BYTES, utf8Length } from "./statement-budget.ts";

describe("utf8Length", () => {
  it("equals TextEncoder's length for any string, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
      { numRuns: 500, seed: 28 },
    );
    for (const s of ["", "a", "é", "€", "😀", "\ud800", "\udc00x", "a\ud83d\ude00b\ud800"]) expect(utf8Length(s), JSON.stringify(s)).toBe(new TextEncoder().encode(s).length);
    // Past one statement's size, counted another way: the same answer.
    for (const s of ["€".repeat(100_000), "a😀".repeat(40_000), "x".repeat(100_001)]) expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    expect(boundSize("€uro")).toBe(6);
  });
});

/** A block of `size` octets whose keys sort by `i`. */
function block(i: number, size: number): EncodedBlock {
  const key = new Uint8Array([0x7a, i >> 8, i & 0xff]);
  const data = new Uint8Array(size).fill(i & 0xff);
  return { tree: 0, firstKey: key, lastKey: key, records: 1, rrsigExpiresAt: null, data };
}

describe("packed block inserts at the statement budget's edge", () => {
  it.each([
    ["parameters bind the pack (small blocks)", 200, 40],
    ["bytes bind the pack (blocks near the byte limit of one statement)", 9, 60_000],
    ["bytes bind the pack (a few blocks per statement)", 30, 20_000],
  ] as const)("%s: every statement within D1's limits, every row written once", async (_label, count, size) => {
    const zone = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id")
      .bind(`budget-${count}-${size}.test.`)
      .first<{ id: number }>();
    const budget = new Budget(env.DB);
    const blocks = Array.from({ length: count }, (_, i) => block(i, size));
    const statements = insertBlocksStatements(budget, zone!.id, 1, blocks, { kind: "none" });
    expect(budget.counts.maxParams).toBeLessThanOrEqual(MAX_BOUND_PARAMETERS);
    expect(budget.counts.maxBytes).toBeLessThanOrEqual(MAX_STATEMENT_BYTES);
    // Packed: no more statements than the tighter of the two limits needs, give or take one.
    const perRowBytes = 80 + 6 + bytesToText(blocks[0]!.data).length;
    const byParams = Math.floor((96 - 2) / 6);
    const byBytes = Math.floor((90_000 - 400) / perRowBytes);
    expect(statements.length).toBeLessThanOrEqual(Math.ceil(count / Math.max(1, Math.min(byParams, byBytes))) + 1);
    await budget.batch(statements);
    const rows = await env.DB.prepare("SELECT first_key, data FROM blocks WHERE zone_id = ?1 ORDER BY first_key").bind(zone!.id).all<{ first_key: ArrayBuffer; data: string }>();
    expect(rows.results.length).toBe(count);
    rows.results.forEach((r, i) => {
      expect([...new Uint8Array(r.first_key)]).toEqual([...blocks[i]!.firstKey]);
      expect(r.data).toBe(bytesToText(blocks[i]!.data));
    });
  });
});
