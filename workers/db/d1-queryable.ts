/**
 * @module What the store and the APIs query: a D1 database or a session of it (D1 read replication, the
 * Sessions API). A `D1DatabaseSession` has `prepare` and `batch` but not `exec`, `dump` or `withSession`, so
 * code that runs inside a request takes this union and uses those two only.
 */
import { drizzle } from "drizzle-orm/d1";

export type D1Queryable = D1Database | D1DatabaseSession;

/**
 * drizzle over a database or a session. drizzle-orm 0.45's D1 driver is typed for `D1Database` only, but
 * it calls `prepare` and `batch` and nothing else (`drizzle-orm/d1/session.js`), both of which a session
 * has; hence the one cast, here.
 */
export function drizzleOf(db: D1Queryable) {
  return drizzle(db as D1Database);
}
