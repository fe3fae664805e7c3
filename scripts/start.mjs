#!/usr/bin/env node
/**
 * @module `npm start`: the whole service locally, on workerd with local D1/KV (SQLite under
 * .wrangler/state), plus the transfer-service beside it.
 *
 *  1. Secrets: ADMIN_TOKEN, INTERNAL_TOKEN, TSIG_ENCRYPTION_KEY and BACKSTOP_COOKIE_SECRET (the DNS cookie
 *     secret, 32 hex digits) from the environment win; what the environment does not set comes from
 *     `.dev.vars` (git-ignored), and what neither has is generated there the first time (a value taken from
 *     the environment is never written to disk). The Worker gets the merged set through a private
 *     `--env-file` in a temp dir (not `--var`, which `ps` would show), less the cookie secrets, which only
 *     the transfer-service uses (BACKSTOP_COOKIE_SECRET_PREVIOUS, when rotating, may sit in either place).
 *  2. Applies the D1 migrations to the local database, and says so in one line (wrangler's tables only
 *     when it fails).
 *  3. Runs `wrangler dev` and the transfer-service, each in its own process group, then ends the first
 *     screen with the token, the addresses and the next command to try, once the Worker's /healthz and the
 *     DNS port answer.
 *  4. Runs the Worker's cron every minute through `/__scheduled` (version sweep, alerts), which `wrangler
 *     dev` does not fire on its own.
 *
 * Addresses (defaults in brackets; the service reads its own BACKSTOP_* variables, which pass through):
 * PORT, the Worker [8787]; BACKSTOP_DNS_LISTEN, DNS and NOTIFY [127.0.0.1:5053,[::1]:5053];
 * BACKSTOP_DOH_LISTEN, the HTTP/2 DoH front [127.0.0.1:8443]; BACKSTOP_HTTP_LISTEN, control and metrics
 * [127.0.0.1:9153], which the Worker is told as SERVICE_CONTROL_URLS. BACKSTOP_STATE_DIR moves
 * `.dev.vars` and the local D1/KV out of the checkout (tests use a temp dir).
 *
 * SIGTERM or SIGINT (Ctrl-C) stops the transfer-service first, so commits in flight finish against a
 * running Worker (within its BACKSTOP_SHUTDOWN_GRACE_MS), then the Worker; each group is killed if it
 * outlives its grace, and `npm start` exits once every process it started has, so every port is free.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { clearInterval, setInterval } from "node:timers";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const bin = (/** @type {string} */ name) => path.join(root, "node_modules", ".bin", name);
const env = process.env;
const port = env.PORT ?? "8787";
const stateDir = env.BACKSTOP_STATE_DIR ? path.resolve(env.BACKSTOP_STATE_DIR) : root;
const dnsListen = env.BACKSTOP_DNS_LISTEN ?? "127.0.0.1:5053,[::1]:5053";
const dohListen = env.BACKSTOP_DOH_LISTEN ?? "127.0.0.1:8443";
const controlListen = env.BACKSTOP_HTTP_LISTEN ?? "127.0.0.1:9153";
const workerUrl = `http://127.0.0.1:${port}`;
/** The service's own grace (config.ts's default) plus a margin, before its group is killed. */
const serviceGraceMs = Number(env.BACKSTOP_SHUTDOWN_GRACE_MS ?? 10_000) + 2_000;
const workerGraceMs = 5_000;

// 1. Secrets: the environment first, then .dev.vars, then generated into .dev.vars.
mkdirSync(stateDir, { recursive: true });
const devVarsPath = path.join(stateDir, ".dev.vars");
const shownDevVars = path.relative(process.cwd(), devVarsPath) || devVarsPath;
const fileVars = parseDevVars(existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "");
/** @type {Array<[string, () => string, string | undefined]>} name, generator, value from the environment */
const secrets = [
  ["ADMIN_TOKEN", () => randomBytes(24).toString("base64url"), env.ADMIN_TOKEN],
  ["INTERNAL_TOKEN", () => randomBytes(24).toString("base64url"), env.INTERNAL_TOKEN ?? env.BACKSTOP_INTERNAL_TOKEN],
  ["TSIG_ENCRYPTION_KEY", () => randomBytes(32).toString("base64"), env.TSIG_ENCRYPTION_KEY],
  ["BACKSTOP_COOKIE_SECRET", () => randomBytes(16).toString("hex"), env.BACKSTOP_COOKIE_SECRET],
];
/** @type {Record<string, string>} */
const effective = { ...fileVars };
/** @type {Record<string, "environment" | "file" | "new">} */
const source = {};
let fileChanged = false;
for (const [key, make, fromEnv] of secrets) {
  if (fromEnv) {
    effective[key] = fromEnv;
    source[key] = "environment";
  } else if (fileVars[key]) {
    source[key] = "file";
  } else {
    effective[key] = fileVars[key] = make();
    source[key] = "new";
    fileChanged = true;
  }
}
if (fileChanged) writeFileSync(devVarsPath, formatVars(fileVars), { mode: 0o600 });
// The Worker's copy: private, in a temp dir that is removed on exit.
const secretDir = mkdtempSync(path.join(tmpdir(), "backstop-start-"));
const envFile = path.join(secretDir, "worker.env");
const { BACKSTOP_COOKIE_SECRET: cookieSecret, BACKSTOP_COOKIE_SECRET_PREVIOUS: filePreviousCookieSecret, ...workerVars } = effective;
writeFileSync(envFile, formatVars(workerVars), { mode: 0o600 });
const previousCookieSecret = env.BACKSTOP_COOKIE_SECRET_PREVIOUS || filePreviousCookieSecret;
process.on("exit", () => rmSync(secretDir, { recursive: true, force: true }));

// 2. Migrations, in one line unless they fail.
const persist = path.join(stateDir, ".wrangler", "state");
const migrate = spawnSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
  cwd: root,
  encoding: "utf8",
  env: { ...env, CI: "1" },
});
if (migrate.status !== 0) {
  process.stderr.write(`${migrate.stdout ?? ""}${migrate.stderr ?? ""}${migrate.error ? `${migrate.error.message}\n` : ""}`);
  console.error(`D1 migrations failed (wrangler exited with ${migrate.status ?? migrate.signal}); nothing started.`);
  process.exit(migrate.status || 1);
}
console.log(`D1 (local, ${path.relative(process.cwd(), persist) || persist}): ${migrationSummary(`${migrate.stdout}${migrate.stderr}`)}`);

// 3. Worker and transfer-service, each leading its own process group (detached), so a stop reaches
// workerd and every other child of theirs, and Ctrl-C reaches them only through stop() below.
/** @type {Array<{ name: string, child: import("node:child_process").ChildProcess, graceMs: number }>} */
const parts = [];
const workerEnv = {
  ...env,
  // Request.cf is wrangler's built-in sample instead of one fetched from workers.cloudflare.com at every
  // start: nothing here reads it, and offline the fetch printed ENOTFOUND stack traces.
  CLOUDFLARE_CF_FETCH_ENABLED: env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
  ...(process.stdout.isTTY && env.FORCE_COLOR === undefined ? { FORCE_COLOR: "1" } : {}),
};
const worker = spawn(
  bin("wrangler"),
  [
    "dev", "--ip", "127.0.0.1", "--port", port, "--inspector-port", "0", "--test-scheduled",
    "--persist-to", persist, "--env-file", envFile, "--show-interactive-dev-session=false",
    "--var", `SERVICE_CONTROL_URLS:http://${hostPort(controlListen)}`,
  ],
  { cwd: root, env: workerEnv, stdio: ["ignore", "pipe", "pipe"], detached: true },
);
parts.push({ name: "worker", child: worker, graceMs: workerGraceMs });
relay(worker, workerLine);

const serviceMain = path.join(root, "transfer-service", "main.ts");
if (existsSync(serviceMain)) {
  // One process (node with tsx's loader), not tsx's wrapper around a second node: a SIGTERM to the group
  // then reaches the service once, and it drains instead of taking a second signal as "exit now".
  const service = spawn(process.execPath, ["--import", "tsx", serviceMain], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: {
      ...env,
      BACKSTOP_WORKER_URL: workerUrl,
      BACKSTOP_INTERNAL_TOKEN: effective.INTERNAL_TOKEN,
      BACKSTOP_COOKIE_SECRET: cookieSecret,
      ...(previousCookieSecret ? { BACKSTOP_COOKIE_SECRET_PREVIOUS: previousCookieSecret } : {}),
      BACKSTOP_DNS_LISTEN: dnsListen,
      BACKSTOP_HTTP_LISTEN: controlListen,
      // The HTTP/2 DoH front, so `dig +https` and `kdig +https` reach the local Worker.
      BACKSTOP_DOH_LISTEN: dohListen,
    },
  });
  parts.push({ name: "transfer-service", child: service, graceMs: serviceGraceMs });
  relay(service, (line) => {
    if (line.includes('"msg":"listening"')) serviceListening = true;
    return line;
  });
}

let stopping = false;
let serviceListening = false;
for (const { child } of parts) child.on("exit", (code, signal) => void stop(code ?? (signal ? 1 : 0), "a child exited"));
process.on("SIGINT", () => void stop(0, "SIGINT"));
process.on("SIGTERM", () => void stop(0, "SIGTERM"));
void announceWhenReady().then(driveCron);

/**
 * Stops the transfer-service (it finishes commits in flight while the Worker still runs), then the
 * Worker: SIGTERM to each leader, SIGKILL to its whole group past its grace or once the leader is gone.
 * Exits when every process of both groups is.
 * @param {number} code @param {string} why
 */
async function stop(code, why) {
  if (stopping) return;
  stopping = true;
  if (why !== "a child exited") console.log(`\n${why}: stopping the transfer-service, then the Worker…`);
  for (const part of [...parts].reverse()) await stopGroup(part);
  process.exit(code);
}

/** @param {{ name: string, child: import("node:child_process").ChildProcess, graceMs: number }} part */
async function stopGroup({ child, graceMs }) {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "exit");
  // The leader first: it stops its own children in order (wrangler its workerd, the service its sockets).
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // Already gone.
  }
  const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  // The leader is gone; whatever it left in its group (wrangler leaves workerd to wind down) goes too.
  signalGroup(pid, "SIGTERM");
  const leftovers = setTimeout(() => signalGroup(pid, "SIGKILL"), 1_000);
  while (groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(leftovers);
}

/** @param {number} pgid @param {NodeJS.Signals} signal */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already empty.
  }
}

/** @param {number} pgid */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies a child's output to ours line by line, through `filter` (which returns the line, or undefined to
 * drop it).
 * @param {import("node:child_process").ChildProcess} child @param {(line: string) => string | undefined} filter
 */
function relay(child, filter) {
  for (const [stream, out] of /** @type {const} */ ([[child.stdout, process.stdout], [child.stderr, process.stderr]])) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
      const kept = filter(line);
      if (kept !== undefined) out.write(`${kept}\n`);
    });
  }
}

/**
 * wrangler's lines, less the request log of the service's own successful `/internal/v1` calls (its zone
 * poll alone is a line every few seconds) and of successful /healthz probes (ours, and a supervisor's).
 * Every other line passes, errors and other statuses included.
 * @param {string} line
 */
function workerLine(line) {
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*m/g, "");
  if (/^\[wrangler:info\] [A-Z]+ \/internal\/v1\/\S* 2\d\d /.test(plain)) return undefined;
  if (/^\[wrangler:info\] GET \/healthz 2\d\d /.test(plain)) return undefined;
  // The local cron driver's calls (driveCron); the alert round logs its own line when something happened.
  if (/^\[wrangler:info\] GET \/__scheduled 2\d\d /.test(plain)) return undefined;
  // It names our private temp file; say where each secret came from instead.
  if (plain.startsWith("Using secrets defined in ") && plain.includes(path.basename(secretDir))) {
    const from = { environment: "the environment", file: shownDevVars, new: `${shownDevVars} (new)` };
    return `Using secrets: ${secrets.map(([key]) => `${key} from ${from[source[key] ?? "file"]}`).join(", ")}`;
  }
  return line;
}

/** Waits (bounded) for /healthz and the service's ports, then ends the first screen with what to do next. */
async function announceWhenReady() {
  const deadline = Date.now() + 180_000;
  const [dnsHost, dnsPort] = splitHostPort(dnsListen.split(",")[0] ?? "127.0.0.1:5053");
  // The service logs "listening" once its DNS, control and DoH ports are all open.
  while (!stopping && Date.now() < deadline) {
    if (parts.length < 2 || serviceListening) {
      if (await globalThis.fetch(`${workerUrl}/healthz`).then((r) => r.ok, () => false)) break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (stopping) return;
  if (Date.now() >= deadline) {
    console.error("Backstop did not come up within 3 minutes: see the lines above.");
    return;
  }
  const token =
    source.ADMIN_TOKEN === "new"
      ? `${effective.ADMIN_TOKEN}   (new; kept in ${shownDevVars})`
      : source.ADMIN_TOKEN === "environment"
        ? "from the environment (ADMIN_TOKEN)"
        : `in ${shownDevVars}`;
  const tokenCommand =
    source.ADMIN_TOKEN === "environment" ? "TOKEN=$ADMIN_TOKEN" : `TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' ${shownDevVars})`;
  const doh = dohListen === "off" ? "off" : `https://${hostPort(dohListen)}/dns-query (HTTP/2, self-signed)`;
  console.log(
    [
      "",
      "Backstop is running.",
      `  Admin token   ${token}`,
      `  Worker API    ${workerUrl}/api/v1   (DoH: ${workerUrl}/dns-query)`,
      `  DNS + NOTIFY  ${dnsListen.split(",").map((a) => a.trim()).join(" and ")}, UDP and TCP`,
      `  HTTP/2 DoH    ${doh}`,
      `  Control       http://${hostPort(controlListen)}/metrics`,
      "Try:",
      `  ${tokenCommand}`,
      `  curl -s ${workerUrl}/api/v1/zones -H "Authorization: Bearer $TOKEN"`,
      `  dig @${dnsHost} -p ${dnsPort} example.com SOA`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

/**
 * The Worker's cron, locally: `wrangler dev` fires no wall-clock triggers, so every minute (as the
 * deployed trigger in wrangler.toml) this calls `/__scheduled` (`--test-scheduled`), which sweeps old
 * versions and works out and delivers alerts (issue 25). A run that overlaps another is harmless: both are
 * idempotent.
 */
function driveCron() {
  if (stopping) return;
  const timer = setInterval(() => {
    if (stopping) return clearInterval(timer);
    void globalThis.fetch(`${workerUrl}/__scheduled?cron=*+*+*+*+*`).then((r) => r.body?.cancel(), () => undefined);
  }, 60_000);
  timer.unref();
}

/** `host:port` as a URL authority (IPv6 in brackets). @param {string} listen */
function hostPort(listen) {
  const [host, p] = splitHostPort(listen.trim());
  return host.includes(":") ? `[${host}]:${p}` : `${host}:${p}`;
}

/** @param {string} listen @returns {[string, number]} */
function splitHostPort(listen) {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen.trim());
  if (!m) return [listen, 0];
  return [m[1] === "0.0.0.0" ? "127.0.0.1" : m[1] === "::" ? "::1" : m[1], Number(m[2])];
}

/** What `wrangler d1 migrations apply` did, in words. @param {string} output */
function migrationSummary(output) {
  if (/No migrations to apply/i.test(output)) return "migrations up to date";
  const start = output.indexOf("Migrations to be applied");
  const names = new Set();
  for (const m of output.slice(start < 0 ? 0 : start).matchAll(/│\s*(\S+\.sql)\s*│/g)) names.add(m[1]);
  return names.size > 0 ? `applied ${[...names].join(", ")}` : "migrations applied";
}

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

/** @param {Record<string, string>} vars */
function formatVars(vars) {
  return Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}
