/**
 * @module Per-zone refresh leases, so that two transfer-service instances never refresh the same zone at
 * once. Every change is one compare-and-set UPDATE on the zone row: D1 runs it atomically, so of two
 * instances racing for a free lease exactly one sees its row come back.
 */
import type { Budget } from "./statement-budget.ts";

export interface Lease {
  owner: string;
  until: number;
}

/**
 * Takes the lease when it is free, expired, or already ours (then it is renewed).
 * @returns the lease, or null when another owner holds it.
 */
export async function acquireLease(budget: Budget, zoneId: number, owner: string, ttlMs: number, now = Date.now()): Promise<Lease | null> {
  const row = await budget
    .prepare(
      `UPDATE zones SET lease_owner = ?2, lease_until = ?3
       WHERE id = ?1 AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ?4 OR lease_owner = ?2)
       RETURNING lease_owner, lease_until`,
      [zoneId, owner, now + ttlMs, now],
    )
    .first<{ lease_owner: string; lease_until: number }>();
  return row ? { owner: row.lease_owner, until: row.lease_until } : null;
}

/** Extends a lease the caller still holds (not one that expired and was taken by someone else). */
export async function renewLease(budget: Budget, zoneId: number, owner: string, ttlMs: number, now = Date.now()): Promise<Lease | null> {
  const row = await budget
    .prepare(
      `UPDATE zones SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 AND lease_until > ?4
       RETURNING lease_owner, lease_until`,
      [zoneId, owner, now + ttlMs, now],
    )
    .first<{ lease_owner: string; lease_until: number }>();
  return row ? { owner: row.lease_owner, until: row.lease_until } : null;
}

/** Gives the lease up; true when the caller held it. */
export async function releaseLease(budget: Budget, zoneId: number, owner: string): Promise<boolean> {
  const result = await budget.run(releaseLeaseStatement(budget, zoneId, owner));
  return (result.meta.changes ?? 0) > 0;
}

/** `releaseLease`'s statement, for a batch (`internal/folded.ts`); `meta.changes` > 0 when the caller held it. */
export function releaseLeaseStatement(budget: Budget, zoneId: number, owner: string): D1PreparedStatement {
  return budget.prepare("UPDATE zones SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2", [zoneId, owner]);
}

/** True when `owner` holds a live lease on the zone. */
export async function holdsLease(budget: Budget, zoneId: number, owner: string, now = Date.now()): Promise<boolean> {
  const row = await budget
    .prepare("SELECT 1 AS ok FROM zones WHERE id = ?1 AND lease_owner = ?2 AND lease_until > ?3", [zoneId, owner, now])
    .first();
  return row != null;
}
