/**
 * @module `npm run deploy` (scripts/deploy.mjs, #26 item 1).
 *
 * - `--dry-run` for each wrangler environment runs offline: inside an empty network namespace
 *   (`unshare -n`, when this machine allows it; as root it does), it prints the plan and wrangler itself
 *   bundles the Worker with the generated configuration, naming that environment's database.
 * - The real path runs against `fake-wrangler.mjs`, a stand-in that prints wrangler 4.86's output formats
 *   and keeps an account in a file (no Cloudflare account is reachable here): the first run creates the
 *   database and namespace and generates the secrets, printing them once; a second run creates nothing
 *   and replaces no secret; a secret from the environment replaces only that one.
 *
 * The real path runs in a temp copy of the script, wrangler.toml and migrations/, so a developer's own
 * wrangler.deploy.toml is never touched.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The cron trigger wrangler.toml declares (alerts and sweeps, issue 25), which the deploy must carry as it is. */
const CRON = /^crons = \["([^"]+)"\]/m.exec(readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8"))![1]!;

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const MIGRATIONS = readdirSync(path.join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
/** Environment without any secret or Cloudflare credential of the machine's. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(ADMIN_TOKEN|INTERNAL_TOKEN|TSIG_ENCRYPTION_KEY|CLOUDFLARE_|BACKSTOP_)/.test(k)),
);
const offline = spawnSync("unshare", ["-n", "true"]).status === 0;

function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}, opts: { offline?: boolean } = {}) {
  const argv = [process.execPath, script, ...args];
  const [cmd, ...rest] = opts.offline && offline ? ["unshare", "-n", ...argv] : argv;
  const r = spawnSync(cmd!, rest, { encoding: "utf8", env: { ...cleanEnv, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sha = (file: string) => (existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "absent");

describe("npm run deploy -- --dry-run (offline)", () => {
  const script = path.join(root, "scripts/deploy.mjs");
  const before = { toml: sha(path.join(root, "wrangler.toml")), deploy: sha(path.join(root, "wrangler.deploy.toml")) };

  it.each([
    { env: undefined, worker: "backstop", db: "backstop", kv: "backstop-ZONE_CACHE" },
    { env: "staging", worker: "backstop-staging", db: "backstop-staging", kv: "backstop-staging-ZONE_CACHE" },
    { env: "production", worker: "backstop", db: "backstop", kv: "backstop-ZONE_CACHE" },
  ])("plans and bundles --env $env without a network", ({ env, worker, db, kv }) => {
    const admin = "dry-run-admin-token-must-not-print";
    const r = run(script, ["--dry-run", ...(env ? ["--env", env] : [])], { ADMIN_TOKEN: admin }, { offline: true });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Worker "${worker}", D1 database "${db}", KV namespace "${kv}"`);
    const e = env ? ` --env ${env}` : "";
    // The order: resources, config, migrations, secrets, deploy with the cron.
    const steps = [
      "wrangler d1 list --json",
      "wrangler kv namespace list",
      "write wrangler.deploy.toml",
      `wrangler d1 migrations apply DB --remote --config wrangler.deploy.toml${e}   (${MIGRATIONS.length} migrations`,
      `wrangler secret list --format json --config wrangler.deploy.toml${e}`,
      "ADMIN_TOKEN (environment), INTERNAL_TOKEN (kept or generated), TSIG_ENCRYPTION_KEY (kept or generated), TRUST_CF_CONNECTING_IP=true",
      `wrangler deploy --config wrangler.deploy.toml${e} --secrets-file`,
    ];
    let at = 0;
    for (const s of steps) {
      const i = r.out.indexOf(s, at);
      expect(i, s).toBeGreaterThan(at);
      at = i;
    }
    expect(r.out).toContain(`(cron: ${CRON})`);
    // wrangler's own offline check of the generated config: this environment's bindings.
    expect(r.out).toContain(`env.DB (${db})  D1 Database`);
    expect(r.out).toContain("env.ZONE_CACHE (00000000000000000000000000000000)  KV Namespace");
    // npm start's loopback control URL never goes to the edge.
    expect(r.out).toContain('env.SERVICE_CONTROL_URLS ("")');
    expect(r.out).toContain(`Dry run done: ${worker} would be deployed.`);
    expect(r.out).not.toContain(admin);
  });

  it("refuses an environment wrangler.toml does not define, naming those it has", () => {
    const r = run(script, ["--dry-run", "--env", "qa"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--env qa: wrangler.toml has no [env.qa] (it has "staging", "production")');
  });

  it("leaves wrangler.toml and wrangler.deploy.toml as they were", () => {
    expect(sha(path.join(root, "wrangler.toml"))).toBe(before.toml);
    expect(sha(path.join(root, "wrangler.deploy.toml"))).toBe(before.deploy);
  });
});

describe("npm run deploy against a stand-in wrangler", () => {
  let dir: string;
  let statePath: string;
  let env: NodeJS.ProcessEnv;
  type State = {
    calls: string[][];
    d1: { uuid: string; name: string; migrations: string[] }[];
    kv: { id: string; title: string }[];
    workers: Record<string, { secrets: Record<string, string>; crons: string[]; vars: Record<string, string> }>;
  };
  const state = (): State => JSON.parse(readFileSync(statePath, "utf8"));
  const creates = (s: State) => s.calls.filter((c) => c.includes("create")).map((c) => c.join(" "));
  const deploy = (args: string[], extra: NodeJS.ProcessEnv = {}) => run(path.join(dir, "scripts/deploy.mjs"), args, { ...env, ...extra });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "backstop-deploy-test-"));
    mkdirSync(path.join(dir, "scripts"));
    cpSync(path.join(root, "scripts/deploy.mjs"), path.join(dir, "scripts/deploy.mjs"));
    cpSync(path.join(root, "wrangler.toml"), path.join(dir, "wrangler.toml"));
    cpSync(path.join(root, "migrations"), path.join(dir, "migrations"), { recursive: true });
    symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    const fake = path.join(dir, "wrangler");
    writeFileSync(fake, `#!/bin/sh\nexec "${process.execPath}" "${path.join(root, "test/deploy/fake-wrangler.mjs")}" "$@"\n`);
    chmodSync(fake, 0o755);
    statePath = path.join(dir, "account.json");
    env = { BACKSTOP_DEPLOY_WRANGLER: fake, FAKE_WRANGLER_STATE: statePath };
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("first run: creates the database and namespace, writes their ids, migrates, generates and prints the secrets once", () => {
    const r = deploy(["--env", "staging"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const s = state();
    expect(creates(s)).toEqual(["d1 create backstop-staging", "kv namespace create backstop-staging-ZONE_CACHE"]);
    const generated = parse(readFileSync(path.join(dir, "wrangler.deploy.toml"), "utf8")) as {
      main: string;
      env: { staging: { d1_databases: { database_id: string }[]; kv_namespaces: { id: string }[] } };
    };
    expect(generated.env.staging.d1_databases[0].database_id).toBe(s.d1[0]!.uuid);
    expect(generated.env.staging.kv_namespaces[0].id).toBe(s.kv[0]!.id);
    expect(generated.main).toBe("workers/index.ts");
    expect(s.d1[0]!.migrations).toEqual(MIGRATIONS);
    const w = s.workers["backstop-staging"]!;
    expect(w.crons).toEqual([CRON]);
    expect(w.secrets.TRUST_CF_CONNECTING_IP).toBe("true");
    expect(Buffer.from(w.secrets.TSIG_ENCRYPTION_KEY!, "base64")).toHaveLength(32);
    for (const name of ["ADMIN_TOKEN", "INTERNAL_TOKEN", "TSIG_ENCRYPTION_KEY"]) {
      expect(w.secrets[name]!.length).toBeGreaterThanOrEqual(16);
      expect(r.out.split(`\n  ${name}=${w.secrets[name]}\n`)).toHaveLength(2); // printed exactly once
    }
    const url = "https://backstop-staging.example-account.workers.dev";
    expect(r.out).toContain(`DoH        ${url}/dns-query`);
    expect(r.out).toContain(`BACKSTOP_WORKER_URL=${url}`);
    expect(r.out).toContain(`BACKSTOP_INTERNAL_TOKEN=${w.secrets.INTERNAL_TOKEN}`);
    expect(r.out).toMatch(/BACKSTOP_COOKIE_SECRET=[0-9a-f]{32}\n/);
    expect(r.out).toContain("BACKSTOP_SERVICE_CONTROL_URLS=http://<host>:9153,... npm run deploy -- --env staging");
  });

  it("second run: creates nothing, applies nothing, keeps every secret and prints none", () => {
    const before = state();
    const r = deploy(["--env", "staging"]);
    expect(r.code).toBe(0);
    const s = state();
    expect(creates(s)).toEqual(creates(before));
    expect(r.out).toContain("No migrations to apply!");
    expect(s.workers["backstop-staging"]!.secrets).toEqual(before.workers["backstop-staging"]!.secrets);
    expect(r.out).not.toContain("New secrets");
    expect(r.out).toContain("TSIG_ENCRYPTION_KEY  kept (already set)");
    for (const v of Object.values(s.workers["backstop-staging"]!.secrets)) if (v !== "true") expect(r.out).not.toContain(v);
  });

  it("a secret and the service URLs from the environment replace only what they name, unprinted", () => {
    const before = state().workers["backstop-staging"]!.secrets;
    const admin = "operator-chosen-admin-token-123";
    const r = deploy(["--env", "staging"], { ADMIN_TOKEN: admin, BACKSTOP_SERVICE_CONTROL_URLS: "http://ns1.example.net:9153,http://ns2.example.org:9153" });
    expect(r.code).toBe(0);
    const w = state().workers["backstop-staging"]!;
    expect(w.secrets).toEqual({ ...before, ADMIN_TOKEN: admin });
    expect(w.vars.SERVICE_CONTROL_URLS).toBe("http://ns1.example.net:9153,http://ns2.example.org:9153");
    expect(r.out).not.toContain(admin);
    expect(r.out).toContain("ADMIN_TOKEN          from the environment");
  });

  it("the top level is its own Worker and database, without npm start's loopback control URL", () => {
    const r = deploy([]);
    expect(r.code).toBe(0);
    const s = state();
    expect(s.d1.map((d) => d.name)).toEqual(["backstop-staging", "backstop"]);
    expect(s.kv.map((k) => k.title)).toEqual(["backstop-staging-ZONE_CACHE", "backstop-ZONE_CACHE"]);
    expect(s.workers.backstop!.vars.SERVICE_CONTROL_URLS).toBe("");
    expect(Object.keys(s.workers.backstop!.secrets).sort()).toEqual(["ADMIN_TOKEN", "INTERNAL_TOKEN", "TRUST_CF_CONNECTING_IP", "TSIG_ENCRYPTION_KEY"]);
  });

  it("refuses a bad secret from the environment before calling wrangler", () => {
    const calls = state().calls.length;
    const r = deploy(["--env", "production"], { TSIG_ENCRYPTION_KEY: "too-short" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("TSIG_ENCRYPTION_KEY from the environment must be 32 bytes in base64");
    expect(state().calls.length).toBe(calls);
  });

  it("a failing wrangler command ends the run, naming the command", () => {
    const r = deploy(["--env", "production"], { FAKE_WRANGLER_STATE: path.join(dir, "missing-dir", "x.json") });
    expect(r.code).toBe(1);
    expect(r.err).toContain("wrangler d1 list --json failed");
  });
});
