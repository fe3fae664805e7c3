#!/usr/bin/env node
/**
 * @module `npm start`: the whole service locally, on workerd with local D1/KV (SQLite under
 * .wrangler/state), plus the transfer-service beside it.
 *
 *  1. Writes `.dev.vars` (git-ignored) with ADMIN_TOKEN, INTERNAL_TOKEN and TSIG_ENCRYPTION_KEY the
 *     first time, and prints the admin token once.
 *  2. Applies the D1 migrations to the local database.
 *  3. Runs `wrangler dev` on http://127.0.0.1:8787 and the transfer-service: DNS on 127.0.0.1:5053 and
 *     [::1]:5053, UDP and TCP (the port-53 front, `dig @127.0.0.1 -p 5053 …`, and NOTIFY), the HTTP/2 DoH
 *     front on 127.0.0.1:8443, control/metrics on 127.0.0.1:9153. BACKSTOP_* variables in the
 *     environment pass through (e.g. BACKSTOP_RRL_RESPONSES_PER_SECOND=0 for a local load test).
 *  Ctrl-C stops everything and waits for the children to exit.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const bin = (/** @type {string} */ name) => path.join(root, "node_modules", ".bin", name);
const port = process.env.PORT ?? "8787";

// 1. Local secrets.
const devVarsPath = path.join(root, ".dev.vars");
const vars = parseDevVars(existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "");
let created = false;
/** @type {Array<[string, () => string]>} */
const generated = [
  ["ADMIN_TOKEN", () => randomBytes(24).toString("base64url")],
  ["INTERNAL_TOKEN", () => randomBytes(24).toString("base64url")],
  ["TSIG_ENCRYPTION_KEY", () => randomBytes(32).toString("base64")],
];
for (const [key, make] of generated) {
  if (!vars[key]) {
    vars[key] = make();
    created = true;
    if (key === "ADMIN_TOKEN") {
      console.log(`\nBackstop admin token (shown once, stored in .dev.vars):\n  ${vars[key]}\n`);
    }
  }
}
if (created) {
  writeFileSync(devVarsPath, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
}

// 2. Migrations.
const migrate = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "1" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// 3. Worker and transfer-service.
/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
children.push(
  spawn(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, "--inspector-port", "0", "--test-scheduled"], {
    cwd: root,
    stdio: "inherit",
  }),
);
const serviceMain = path.join(root, "transfer-service", "main.ts");
if (existsSync(serviceMain)) {
  children.push(
    spawn(bin("tsx"), [serviceMain], {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        BACKSTOP_WORKER_URL: `http://127.0.0.1:${port}`,
        BACKSTOP_INTERNAL_TOKEN: vars.INTERNAL_TOKEN,
        // The HTTP/2 DoH front, so `dig +https` and `kdig +https` reach the local Worker.
        BACKSTOP_DOH_LISTEN: process.env.BACKSTOP_DOH_LISTEN ?? "127.0.0.1:8443",
      },
    }),
  );
}

let stopping = false;
/** @param {number} code */
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  const deadline = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  }, 5000);
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once("exit", r))))).then(() => {
    clearTimeout(deadline);
    process.exit(code);
  });
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
for (const child of children) child.on("exit", (code) => stop(code ?? 1));

/** @param {string} text @returns {Record<string, string>} */
function parseDevVars(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return out;
}
