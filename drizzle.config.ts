/**
 * @module drizzle-kit configuration: `npm run db:generate` writes SQL migrations for D1 from
 * `workers/db/schema.ts`. wrangler and `readD1Migrations` read only the top-level `*.sql` files of
 * `migrations/`, and drizzle-kit's own bookkeeping goes to `migrations/meta/`, which both ignore.
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/db/schema.ts",
  out: "./migrations",
  // Plain `0000_name.sql` files, in the order wrangler applies them (it sorts by file name).
  migrations: { prefix: "index" },
  breakpoints: true,
});
