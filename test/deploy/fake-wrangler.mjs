/**
 * @module A stand-in for wrangler's account-side commands, for testing `npm run deploy` without a
 * Cloudflare account. It prints what wrangler 4.86 prints for each command the deploy script runs (read
 * from node_modules/wrangler/wrangler-dist/cli.js: `d1 list --json` and `kv namespace list` print JSON
 * lists, `secret list` fails with "not found" before the first deploy, `deploy` lists its targets indented
 * under "Deployed … triggers"), keeps the account in a JSON file (FAKE_WRANGLER_STATE), and checks what a
 * real account would refuse: a config whose ids are not the account's, an unknown --env. Every call is
 * logged to the state, so a test can tell what was created and what was left alone.
 */
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";

const statePath = process.env.FAKE_WRANGLER_STATE;
if (!statePath) throw new Error("FAKE_WRANGLER_STATE is not set");
/** @type {{ calls: string[][], d1: {uuid: string, name: string, migrations: string[]}[], kv: {id: string, title: string}[], workers: Record<string, {secrets: Record<string, string>, crons: string[], vars: Record<string, string>}> }} */
const state = existsSync(statePath)
  ? JSON.parse(readFileSync(statePath, "utf8"))
  : { calls: [], d1: [], kv: [], workers: {} };
const args = process.argv.slice(2);
state.calls.push(args);
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));
let n = state.calls.length;
const hex = (len) => Array.from({ length: len }, () => ((n = (n * 1103515245 + 12345) >>> 0) % 16).toString(16)).join("");

/** @param {string} name */
function flag(name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
function die(/** @type {string} */ msg) {
  save();
  process.stderr.write(`\n✘ [ERROR] ${msg}\n\n`);
  process.exit(1);
}

/** The config named by --config, the section --env selects, and the Worker's name (legacy environments). */
function target() {
  const file = flag("--config") ?? "wrangler.toml";
  /** @type {any} */
  const config = parse(readFileSync(file, "utf8"));
  const env = flag("--env");
  if (env && !config.env?.[env]) die(`No environment found in configuration with name "${env}".`);
  const section = env ? config.env[env] : config;
  const name = env ? (section.name ?? `${config.name}-${env}`) : config.name;
  const db = section.d1_databases.find((/** @type {any} */ d) => d.binding === "DB");
  const kv = section.kv_namespaces.find((/** @type {any} */ k) => k.binding === "ZONE_CACHE");
  const account = state.d1.find((d) => d.uuid === db.database_id);
  if (!account) die(`Couldn't find DB with id "${db.database_id}"`);
  if (!state.kv.some((k) => k.id === kv.id)) die(`KV namespace '${kv.id}' is not valid. [code: 10041]`);
  const migrationsDir = path.resolve(path.dirname(file), db.migrations_dir);
  return { config, section, name, account, migrationsDir, crons: (section.triggers ?? config.triggers)?.crons ?? [], vars: section.vars ?? {} };
}

const cmd = args.filter((a) => !a.startsWith("-")).slice(0, 3).join(" ");
if (cmd.startsWith("d1 list")) {
  console.log(JSON.stringify(state.d1.map((d) => ({ uuid: d.uuid, name: d.name, created_at: "2026-12-07T07:00:00.000Z", version: "production", num_tables: 0, file_size: 0 })), null, 2));
} else if (cmd.startsWith("d1 create")) {
  const name = args[2];
  if (state.d1.some((d) => d.name === name)) die(`A database with that name already exists [code: 7502]`);
  const uuid = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  state.d1.push({ uuid, name, migrations: [] });
  console.log(`\n ⛅️ wrangler 4.86.0\n───────────────────\n✅ Successfully created DB '${name}' in region WEUR\nCreated your new D1 database.\n`);
  console.log(`To access your new D1 Database in your Worker, add the following snippet to your configuration file:\n[[d1_databases]]\nbinding = "${name}"\ndatabase_name = "${name}"\ndatabase_id = "${uuid}"`);
} else if (cmd.startsWith("kv namespace list")) {
  console.log(JSON.stringify(state.kv.map((k) => ({ id: k.id, title: k.title, supports_url_encoding: true })), null, "  "));
} else if (cmd.startsWith("kv namespace create")) {
  const title = args[3];
  if (args.includes("--env")) die("the deploy script must name the namespace's title itself");
  if (state.kv.some((k) => k.title === title)) die(`A KV namespace with the title "${title}" already exists.`);
  const id = hex(32);
  state.kv.push({ id, title });
  console.log(`Resource location: remote\n🌀 Creating namespace with title "${title}"\n✨ Success!\nTo access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n[[kv_namespaces]]\nbinding = "${title}"\nid = "${id}"`);
} else if (cmd.startsWith("d1 migrations apply")) {
  if (!args.includes("--remote")) die("expected --remote");
  const t = target();
  const todo = readdirSync(t.migrationsDir).filter((f) => f.endsWith(".sql")).sort().filter((f) => !t.account.migrations.includes(f));
  if (todo.length === 0) console.log("✅ No migrations to apply!");
  else {
    console.log(`Migrations to be applied:\n${todo.map((f) => `│ ${f} │`).join("\n")}`);
    for (const f of todo) {
      t.account.migrations.push(f);
      console.log(`🚣 Executed ${f}`);
    }
  }
} else if (cmd.startsWith("secret list")) {
  const t = target();
  const w = state.workers[t.name];
  if (!w) die(`Worker "${t.name}"${flag("--env") ? ` (env: ${flag("--env")})` : ""} not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`);
  console.log(JSON.stringify(Object.keys(w.secrets).map((name) => ({ name, type: "secret_text" })), null, "  "));
} else if (cmd.startsWith("deploy")) {
  const t = target();
  const file = flag("--secrets-file");
  const secrets = file ? JSON.parse(readFileSync(file, "utf8")) : {};
  const w = (state.workers[t.name] ??= { secrets: {}, crons: [], vars: {} });
  Object.assign(w.secrets, secrets); // --secrets-file keeps the secrets it does not name
  w.crons = t.crons;
  w.vars = t.vars;
  console.log(`Total Upload: 1311.82 KiB / gzip: 253.73 KiB\nUploaded ${t.name} (3.21 sec)\nDeployed ${t.name} triggers (0.91 sec)`);
  console.log(`  https://${t.name}.example-account.workers.dev`);
  for (const c of t.crons) console.log(`  schedule: ${c}`);
  console.log(`Current Version ID: ${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`);
} else {
  die(`fake wrangler: unexpected command ${args.join(" ")}`);
}
save();
