#!/usr/bin/env node
/**
 * @module `npm run deploy [-- --env staging|production] [-- --dry-run]`: Backstop's Worker on Cloudflare in
 * one idempotent run of wrangler, instead of seven hand-typed commands and two ids pasted into wrangler.toml.
 *
 *  1. The D1 database and the KV namespace: looked up by name (`wrangler d1 list --json`, `wrangler kv
 *     namespace list`, both JSON on stdout), created when missing (`wrangler d1 create`, `wrangler kv
 *     namespace create`), and looked up again for their ids.
 *  2. `wrangler.deploy.toml` (git-ignored, regenerated on every run): wrangler.toml with those ids, and
 *     SERVICE_CONTROL_URLS from BACKSTOP_SERVICE_CONTROL_URLS when set. wrangler.toml itself is never edited.
 *  3. `wrangler d1 migrations apply DB --remote`: only the migrations not yet applied.
 *  4. Secrets: ADMIN_TOKEN, INTERNAL_TOKEN and TSIG_ENCRYPTION_KEY from the environment when set there;
 *     otherwise a secret the Worker already has is kept (`wrangler secret list`), and only a missing one is
 *     generated and printed, once. TSIG_ENCRYPTION_KEY in particular is never replaced unasked: the stored
 *     TSIG secrets are sealed under it. TRUST_CF_CONNECTING_IP=true is put every time (this is the edge).
 *     They travel with the deploy (`wrangler deploy --secrets-file`, which keeps the other secrets), from a
 *     0600 file in a private temp dir removed at exit, so no value is on a command line.
 *  5. `wrangler deploy` with the cron trigger of wrangler.toml's [triggers].
 *  6. The URLs, and the next step: the transfer-service's environment (BACKSTOP_WORKER_URL,
 *     BACKSTOP_INTERNAL_TOKEN, and on the first deploy a new BACKSTOP_COOKIE_SECRET and BACKSTOP_METRICS_TOKEN).
 *
 * `--dry-run` calls no Cloudflare API and needs no network or login (CI runs it): it prints the plan, and
 * checks the generated configuration with `wrangler deploy --dry-run`, which bundles the Worker offline.
 * `--env` selects a wrangler environment of wrangler.toml ([env.staging], [env.production]); without it
 * the top level is deployed. BACKSTOP_DEPLOY_WRANGLER names another wrangler executable (tests).
 */
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const env = process.env;
const DEPLOY_CONFIG = "wrangler.deploy.toml";

/** Worker secrets: name, generator (as `npm start` makes them), and what a value from the environment must be. */
const WORKER_SECRETS = [
  { name: "ADMIN_TOKEN", make: () => randomBytes(24).toString("base64url"), check: minLength(16) },
  { name: "INTERNAL_TOKEN", make: () => randomBytes(24).toString("base64url"), check: minLength(16) },
  { name: "TSIG_ENCRYPTION_KEY", make: () => randomBytes(32).toString("base64"), check: base64Bytes(32) },
];

class DeployError extends Error {}

function minLength(/** @type {number} */ n) {
  return (/** @type {string} */ v) => (v.length >= n ? undefined : `must be at least ${n} characters`);
}
function base64Bytes(/** @type {number} */ n) {
  return (/** @type {string} */ v) =>
    /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, "base64").length === n ? undefined : `must be ${n} bytes in base64 (openssl rand -base64 ${n})`;
}

// ---- arguments -------------------------------------------------------------------------------------------

/** @type {{ "dry-run": boolean, env?: string, help: boolean }} */
let opts = { "dry-run": false, help: false };
try {
  opts = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      env: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err instanceof Error ? err.message : err}\n${usage()}`);
}
if (opts.help) {
  console.log(usage());
  process.exit(0);
}

function usage() {
  return "usage: npm run deploy [-- --env staging|production] [-- --dry-run]";
}

/** @returns {never} */
function fail(/** @type {string} */ message) {
  console.error(`npm run deploy: ${message}`);
  process.exit(1);
}

// ---- wrangler.toml: what this environment deploys ---------------------------------------------------------

const baseText = readFileSync(path.join(root, "wrangler.toml"), "utf8");
const base = /** @type {Record<string, any>} */ (parseToml(baseText));
const envNames = Object.keys(base.env ?? {});
const envName = opts.env === "" ? undefined : opts.env;
if (envName !== undefined && !envNames.includes(envName)) {
  fail(`--env ${envName}: wrangler.toml has no [env.${envName}] (it has ${envNames.map((e) => `"${e}"`).join(", ") || "none"})`);
}
const section = envName ? base.env[envName] : base;
const workerName = envName ? (section.name ?? `${base.name}-${envName}`) : base.name;
const d1 = (section.d1_databases ?? []).find((/** @type {any} */ d) => d.binding === "DB");
const kv = (section.kv_namespaces ?? []).find((/** @type {any} */ k) => k.binding === "ZONE_CACHE");
if (!d1 || !kv) fail(`wrangler.toml${envName ? ` [env.${envName}]` : ""} must bind D1 "DB" and KV "ZONE_CACHE"`);
/** The namespace's title on the account: the Worker's name and the binding, so environments never share one. */
const kvTitle = `${workerName}-${kv.binding}`;
const crons = (section.triggers ?? base.triggers)?.crons ?? [];
const migrationsDir = path.join(root, d1.migrations_dir ?? "migrations");
const migrations = existsSync(migrationsDir) ? readdirSync(migrationsDir).filter((f) => f.endsWith(".sql")) : [];
const serviceUrls = env.BACKSTOP_SERVICE_CONTROL_URLS;
for (const u of (serviceUrls ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "")) {
  if (!/^https?:\/\/[^/\s]+/.test(u)) fail(`BACKSTOP_SERVICE_CONTROL_URLS: "${u}" is not an http(s) URL (e.g. http://ns1.example.net:9153)`);
}
const envArgs = envName ? ["--env", envName] : [];

/**
 * wrangler.toml with the ids filled in for this environment, as TOML. Paths (`main`, `migrations_dir`)
 * are rewritten relative to where the file is written, since wrangler resolves them from the config's folder.
 */
function deployConfig(/** @type {{ d1Id: string, kvId: string }} */ ids, /** @type {string} */ outDir) {
  const config = JSON.parse(JSON.stringify(base));
  const target = envName ? config.env[envName] : config;
  const rebase = (/** @type {string} */ p) => path.relative(outDir, path.resolve(root, p)) || ".";
  config.main = rebase(config.main);
  for (const s of [config, ...Object.values(config.env ?? {})]) {
    for (const db of s.d1_databases ?? []) if (db.migrations_dir) db.migrations_dir = rebase(db.migrations_dir);
  }
  target.d1_databases.find((/** @type {any} */ d) => d.binding === "DB").database_id = ids.d1Id;
  target.kv_namespaces.find((/** @type {any} */ k) => k.binding === "ZONE_CACHE").id = ids.kvId;
  // The top level's loopback URL is `npm start`'s: from the edge it reaches nothing, so it is dropped.
  const current = String(target.vars?.SERVICE_CONTROL_URLS ?? "");
  const urls = serviceUrls ?? (/^\s*https?:\/\/(127\.|localhost|\[::1\])/.test(current) ? "" : current);
  target.vars = { ...(target.vars ?? {}), SERVICE_CONTROL_URLS: urls };
  return (
    `# Generated by \`npm run deploy${envName ? ` -- --env ${envName}` : ""}\` (scripts/deploy.mjs) from wrangler.toml: do not edit,\n` +
    "# it is rewritten on every run. Ids of the D1 database and KV namespace looked up on the account.\n" +
    stringifyToml(config) +
    "\n"
  );
}

// ---- running wrangler -------------------------------------------------------------------------------------

const wranglerBin = env.BACKSTOP_DEPLOY_WRANGLER || path.join(root, "node_modules", ".bin", "wrangler");

/**
 * Runs wrangler. `capture`: stdout is returned (and not shown); otherwise its output goes to the terminal as
 * well and is returned too, for the URLs. A failure ends the run naming the command and wrangler's words.
 */
function wrangler(/** @type {string[]} */ args, { capture = false, allowFailure = false } = {}) {
  const shown = `wrangler ${args.join(" ")}`;
  if (!capture) console.log(`\n$ ${shown}`);
  const r = spawnSync(wranglerBin, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["inherit", "pipe", "pipe"],
    env: { ...env, WRANGLER_SEND_METRICS: env.WRANGLER_SEND_METRICS ?? "false" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!capture) {
    process.stdout.write(r.stdout ?? "");
    process.stderr.write(r.stderr ?? "");
  }
  if (r.error) throw new DeployError(`${shown}: ${r.error.message}`);
  if (r.status !== 0 && !allowFailure) {
    const words = `${r.stderr ?? ""}\n${r.stdout ?? ""}`.trim().split("\n").slice(-12).join("\n");
    const hint = /auth|login|token|10000|not authorized/i.test(words)
      ? "\n(Log in with `npx wrangler login`, or set CLOUDFLARE_API_TOKEN and, with several accounts, CLOUDFLARE_ACCOUNT_ID.)"
      : "";
    throw new DeployError(`${shown} failed (exit ${r.status}):\n${words}${hint}`);
  }
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The JSON array wrangler printed (it may print a banner or warnings around it). */
function jsonArray(/** @type {string} */ text, /** @type {string} */ what) {
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start < 0 || end < start) throw new DeployError(`${what}: no JSON list in wrangler's output:\n${text.slice(0, 500)}`);
  try {
    const value = JSON.parse(text.slice(start, end + 1));
    if (!Array.isArray(value)) throw new Error("not a list");
    return value;
  } catch (err) {
    throw new DeployError(`${what}: wrangler's output is not the JSON list expected (${err instanceof Error ? err.message : err})`);
  }
}

function findDatabase() {
  const list = jsonArray(wrangler(["d1", "list", "--json"], { capture: true }).stdout, "wrangler d1 list --json");
  return list.find((db) => db.name === d1.database_name)?.uuid;
}

function findNamespace() {
  const list = jsonArray(wrangler(["kv", "namespace", "list"], { capture: true }).stdout, "wrangler kv namespace list");
  return list.find((ns) => ns.title === kvTitle)?.id;
}

// ---- the plan ---------------------------------------------------------------------------------------------

function secretSources() {
  return WORKER_SECRETS.map((s) => {
    const value = env[s.name];
    if (value !== undefined && value !== "") {
      const problem = s.check(value);
      if (problem) throw new DeployError(`${s.name} from the environment ${problem}`);
      return { ...s, value, source: "environment" };
    }
    return { ...s, value: undefined, source: "kept or generated" };
  });
}

function dryRun() {
  const where = envName ? `environment "${envName}" (wrangler --env ${envName})` : "the top level of wrangler.toml (no --env)";
  const secrets = secretSources();
  const c = envArgs.length ? ` ${envArgs.join(" ")}` : "";
  console.log(`npm run deploy --dry-run: ${where}. Nothing is created, changed or uploaded; no network.`);
  console.log(`Worker "${workerName}", D1 database "${d1.database_name}", KV namespace "${kvTitle}".\n`);
  console.log("Would run:");
  const steps = [
    `wrangler d1 list --json   -> the id of "${d1.database_name}"; when missing: wrangler d1 create ${d1.database_name}`,
    `wrangler kv namespace list   -> the id of "${kvTitle}"; when missing: wrangler kv namespace create ${kvTitle}`,
    `write ${DEPLOY_CONFIG} (wrangler.toml with those ids${serviceUrls !== undefined ? `, SERVICE_CONTROL_URLS="${serviceUrls}"` : ""})`,
    `wrangler d1 migrations apply DB --remote --config ${DEPLOY_CONFIG}${c}   (${migrations.length} migrations in ${path.relative(root, migrationsDir)}/, only those not applied yet)`,
    `wrangler secret list --format json --config ${DEPLOY_CONFIG}${c}   -> which secrets the Worker has`,
    `secrets with the deploy: ${secrets.map((s) => `${s.name} (${s.source})`).join(", ")}, TRUST_CF_CONNECTING_IP=true`,
    `wrangler deploy --config ${DEPLOY_CONFIG}${c} --secrets-file <0600 temp file>   (cron: ${crons.join(", ") || "none"})`,
  ];
  steps.forEach((s, i) => console.log(`  ${i + 1}. ${s}`));

  // The generated configuration, checked by wrangler itself (bundles the Worker; calls no API).
  const dir = mkdtempSync(path.join(tmpdir(), "backstop-deploy-dry-"));
  try {
    const file = path.join(dir, DEPLOY_CONFIG);
    writeFileSync(file, deployConfig({ d1Id: "00000000-0000-0000-0000-000000000000", kvId: "00000000000000000000000000000000" }, dir));
    const out = wrangler(["deploy", "--dry-run", "--outdir", path.join(dir, "out"), "--config", file, ...envArgs], { capture: true });
    const bindings = `${out.stdout}`.split("\n").filter((l) => /^env\.\w+ /.test(l.trim()));
    console.log(`\nChecked offline with wrangler deploy --dry-run: the Worker bundles, with these bindings:`);
    for (const b of bindings) console.log(`  ${b.trim().replace(/\s{2,}/g, "  ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nDry run done: ${workerName} would be deployed.`);
}

function deploy() {
  const secrets = secretSources();
  const c = envName ? ` (--env ${envName})` : "";
  console.log(`npm run deploy${c}: Worker "${workerName}"`);

  // 1. Resources.
  let d1Id = findDatabase();
  if (d1Id) console.log(`D1 database "${d1.database_name}": ${d1Id} (exists)`);
  else {
    wrangler(["d1", "create", d1.database_name]);
    d1Id = findDatabase();
    if (!d1Id) throw new DeployError(`wrangler d1 create ${d1.database_name} succeeded, but wrangler d1 list does not show it`);
    console.log(`D1 database "${d1.database_name}": ${d1Id} (created)`);
  }
  let kvId = findNamespace();
  if (kvId) console.log(`KV namespace "${kvTitle}": ${kvId} (exists)`);
  else {
    wrangler(["kv", "namespace", "create", kvTitle]);
    kvId = findNamespace();
    if (!kvId) throw new DeployError(`wrangler kv namespace create ${kvTitle} succeeded, but wrangler kv namespace list does not show it`);
    console.log(`KV namespace "${kvTitle}": ${kvId} (created)`);
  }

  // 2. The generated configuration.
  writeFileSync(path.join(root, DEPLOY_CONFIG), deployConfig({ d1Id, kvId }, root));
  console.log(`Wrote ${DEPLOY_CONFIG}`);
  const cfg = ["--config", DEPLOY_CONFIG, ...envArgs];

  // 3. Migrations first: the new Worker may read new columns.
  wrangler(["d1", "migrations", "apply", "DB", "--remote", ...cfg]);

  // 4. Secrets: the environment's, else kept, else generated.
  const listed = wrangler(["secret", "list", "--format", "json", ...cfg], { capture: true, allowFailure: true });
  /** @type {Set<string>} */
  let existing = new Set();
  if (listed.ok) existing = new Set(jsonArray(listed.stdout, "wrangler secret list").map((s) => s.name));
  else if (!/not found/i.test(`${listed.stderr}${listed.stdout}`)) {
    throw new DeployError(`wrangler secret list failed:\n${`${listed.stderr}${listed.stdout}`.trim().split("\n").slice(-8).join("\n")}`);
  }
  /** @type {Record<string, string>} */
  const put = { TRUST_CF_CONNECTING_IP: "true" };
  /** @type {Record<string, string>} */
  const generated = {};
  for (const s of secrets) {
    if (s.value !== undefined) put[s.name] = s.value;
    else if (!existing.has(s.name)) put[s.name] = generated[s.name] = s.make();
  }
  const secretDir = mkdtempSync(path.join(tmpdir(), "backstop-deploy-"));
  const secretsFile = path.join(secretDir, "secrets.json");
  let out;
  try {
    writeFileSync(secretsFile, JSON.stringify(put), { mode: 0o600 });
    // 5. The Worker, its secrets and its cron trigger.
    out = wrangler(["deploy", ...cfg, "--secrets-file", secretsFile]);
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }

  // 6. Where it is, and what next.
  const urls = [...out.stdout.matchAll(/^\s+(https:\/\/\S+)\s*$/gm)].map((m) => m[1]);
  const url = urls[0] ?? "https://<your route>";
  const newService = "INTERNAL_TOKEN" in generated;
  /** @type {Record<string, string>} */
  const serviceSecrets = newService
    ? { BACKSTOP_COOKIE_SECRET: randomBytes(16).toString("hex"), BACKSTOP_METRICS_TOKEN: randomBytes(24).toString("base64url") }
    : {};
  const bar = "─".repeat(72);
  console.log(`\n${bar}\nDeployed ${workerName}${c}.`);
  console.log(`  Worker     ${url}${urls.length > 1 ? `   (also ${urls.slice(1).join(", ")})` : ""}`);
  console.log(`  DoH        ${url}/dns-query`);
  console.log(`  API        ${url}/api/v1   (bearer ADMIN_TOKEN)`);
  console.log(`  health     ${url}/healthz`);
  if (crons.length) console.log(`  cron       ${crons.join(", ")}`);
  for (const s of secrets) {
    const how = s.name in generated ? "generated now" : s.source === "environment" ? "from the environment" : "kept (already set)";
    console.log(`  ${s.name.padEnd(20)} ${how}`);
  }
  const shown = { ...generated, ...serviceSecrets };
  if (Object.keys(shown).length) {
    console.log(`\nNew secrets, shown this once (they are not stored anywhere else; keep them in your secret store):`);
    for (const [k, v] of Object.entries(shown)) console.log(`  ${k}=${v}`);
  }
  const internal = generated.INTERNAL_TOKEN ?? (env.INTERNAL_TOKEN ? "$INTERNAL_TOKEN" : "<the INTERNAL_TOKEN you kept>");
  console.log(`\nNext: run the transfer-service (port 53) on two or more hosts, see deploy/ and docs/operating.md:`);
  console.log(`  BACKSTOP_WORKER_URL=${url}`);
  console.log(`  BACKSTOP_INTERNAL_TOKEN=${internal}`);
  console.log(`  BACKSTOP_COOKIE_SECRET=${serviceSecrets.BACKSTOP_COOKIE_SECRET ?? "<the same on every instance>"}`);
  console.log(`  BACKSTOP_METRICS_TOKEN=${serviceSecrets.BACKSTOP_METRICS_TOKEN ?? "<your scraper's bearer token>"}`);
  console.log(
    `then tell the Worker where they listen: BACKSTOP_SERVICE_CONTROL_URLS=http://<host>:9153,... npm run deploy${envName ? ` -- --env ${envName}` : ""}`,
  );
  console.log(`and add a zone: curl -H "authorization: Bearer $ADMIN_TOKEN" ${url}/api/v1/zones\n${bar}`);
}

try {
  if (opts["dry-run"]) dryRun();
  else deploy();
} catch (err) {
  if (err instanceof DeployError) fail(err.message);
  throw err;
}
