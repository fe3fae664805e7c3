/**
 * Three projects, one `vitest run`:
 * - `dns`: the runtime-neutral protocol core and the transfer-service, under Node;
 * - `workers`: the Worker inside workerd (vitest-pool-workers) with real local D1 and KV, built from
 *   the real migrations/;
 * - `integration`: Node tests that start real peers (knotd, named, nsd, pdns_server) on loopback.
 */
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = path.dirname(new URL(import.meta.url).pathname);

export default defineConfig({
  test: {
    reporters: process.env.VITEST_JSON ? ["default", ["json", { outputFile: process.env.VITEST_JSON }]] : ["default"],
    projects: [
      {
        test: {
          name: "dns",
          include: ["dns/**/*.test.ts", "contract/**/*.test.ts", "answer/**/*.test.ts", "transfer-service/**/*.test.ts", "bench/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: path.join(root, "wrangler.toml") },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
                ADMIN_TOKEN: "test-admin-token",
                INTERNAL_TOKEN: "test-internal-token",
                TSIG_ENCRYPTION_KEY: "dGVzdC10c2lnLWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=",
                // No transfer-service runs beside the workerd tests; pushes to the default control URL would
                // only fail noisily. refresh-signal.test.ts sets its own URLs.
                SERVICE_CONTROL_URLS: "",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["workers/**/*.test.ts"],
          setupFiles: ["./workers/test-setup.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Peers bind fixed-per-test free ports; files run in parallel across the two cores.
          fileParallelism: true,
        },
      },
    ],
  },
});
