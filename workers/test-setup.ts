// Setup files run outside the per-test-file storage isolation, so applying migrations here
// gives every test file a D1 built from the real migrations/ (schema and migrations cannot drift).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
