/**
 * @module `npm start` as an operator and a supervisor use it (issue 20, item 8): `node scripts/start.mjs` on
 * free loopback ports (PORT and the BACKSTOP_*_LISTEN variables) with its `.dev.vars` and local D1 in a temp
 * dir (BACKSTOP_STATE_DIR), so it runs beside other tests.
 *
 * 1. A secret in the environment wins over `.dev.vars`: the Worker takes the environment's ADMIN_TOKEN and
 *    refuses the file's. The first screen has the migrations in one line, no ENOTFOUND (an offline start
 *    fetched Request.cf data), and ends with the token's origin, every address and a command to paste.
 * 2. SIGTERM, as systemd and Docker stop a program, stops every process it started within a few seconds,
 *    with exit status 0, and frees every port: a second start at once succeeds on the same ports. That one
 *    takes the token from `.dev.vars`, says so, and its TOKEN command reads it from there. SIGINT (Ctrl-C)
 *    stops it the same way.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import { freePorts, isPortFree } from "../peers/ports.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { buildQuery, rcodeOf, udpExchange } from "../tsig/wire-client.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { decodeMessage } from "../../dns/message.ts";
import { EdnsOptionCode } from "../../dns/edns.ts";
import { COOKIE_VALID, ServerCookies } from "../../transfer-service/server/query/cookie.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
/** A start compiles the Worker and applies migrations: generous on a slow machine, but bounded. */
const READY_MS = 180_000;
/** "Within a few seconds" on this machine; the bound leaves room for one twice as slow. */
const STOP_MS = 15_000;

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Started[] = [];
let stateDir: string | undefined;

afterAll(async () => {
  // After a failure: SIGTERM, so start.mjs stops the process groups it started (a SIGKILL would orphan them).
  for (const r of running) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
    r.child.kill("SIGTERM");
    await Promise.race([r.exited, new Promise((resolve) => setTimeout(resolve, STOP_MS))]);
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
  }
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
}, 3 * STOP_MS);

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: stateDir,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const started = { child, output: () => output, exited };
  running.push(started);
  return started;
}

/** The test's environment less anything that would change what start.mjs does. */
function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(ADMIN_TOKEN|INTERNAL_TOKEN|TSIG_ENCRYPTION_KEY|PORT)$/.test(k) || k.startsWith("BACKSTOP_")) continue;
    out[k] = v;
  }
  return out;
}

async function ready(s: Started): Promise<void> {
  await waitFor("Backstop is running", () => s.output().includes("Backstop is running") || s.child.exitCode !== null, READY_MS).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${s.output().slice(-3000)}`);
  });
  if (s.child.exitCode !== null) throw new Error(`start.mjs exited with ${s.child.exitCode}:\n${s.output().slice(-3000)}`);
}

async function stopWith(s: Started, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const sent = Date.now();
  s.child.kill(signal);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not stopped ${STOP_MS} ms after ${signal}:\n${s.output().slice(-2000)}`)), STOP_MS).unref());
  const { code } = await Promise.race([s.exited, timeout]);
  return { code, ms: Date.now() - sent };
}

async function apiStatus(base: string, token: string): Promise<number> {
  return (await fetch(`${base}/api/v1/zones`, { headers: { authorization: `Bearer ${token}` } })).status;
}

/** Processes whose command line names this run's state dir or ports (what start.mjs started). */
function leftovers(marks: string[]): string[] {
  const ps = spawnSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).stdout.split("\n");
  return ps.filter((line) => marks.some((m) => line.includes(m)) && !line.includes("ps -eo"));
}

describe("npm start", () => {
  it("takes secrets from the environment over .dev.vars, stops on SIGTERM freeing every port, and starts again at once", async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "backstop-start-test-"));
    const [workerPort, dnsPort, dohPort, controlPort] = await freePorts(4);
    const env = {
      PORT: String(workerPort),
      BACKSTOP_STATE_DIR: stateDir,
      BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
      BACKSTOP_DOH_LISTEN: `127.0.0.1:${dohPort}`,
      BACKSTOP_HTTP_LISTEN: `127.0.0.1:${controlPort}`,
      BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    };
    const base = `http://127.0.0.1:${workerPort}`;
    const fileToken = "file-token-0123456789abcdef";
    const envToken = "env-token-0123456789abcdef";
    await writeFile(path.join(stateDir, ".dev.vars"), `ADMIN_TOKEN=${fileToken}\n`, { mode: 0o600 });

    // 1. The environment's token wins.
    const first = start({ ...env, ADMIN_TOKEN: envToken });
    await ready(first);
    expect(await apiStatus(base, envToken), "the environment's ADMIN_TOKEN").toBe(200);
    expect(await apiStatus(base, fileToken), ".dev.vars's ADMIN_TOKEN, overridden").toBe(401); // no credential at all: 401 (issue 24, RFC 6750 §3.1)
    const dnsAnswer = await udpExchange(dnsPort, buildQuery(7, "example.com.", RRType.SOA), 5_000);
    expect(rcodeOf(dnsAnswer), "an SOA query for a zone not served").toBe(5); // REFUSED, answered
    // A DNS cookie, made with the secret npm start generated into .dev.vars (see below).
    const cookieQuery = (data: Uint8Array) => queryWire("example.com.", "SOA", { id: 9, edns: { options: [{ code: EdnsOptionCode.COOKIE, data }] } });
    const cookieOf = (reply: Uint8Array) => decodeMessage(reply).edns?.options.find((o) => o.code === EdnsOptionCode.COOKIE)?.data;
    const serverCookie = cookieOf(await udpExchange(dnsPort, cookieQuery(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])), 5_000));
    expect(serverCookie, "a server cookie").toHaveLength(24);
    expect((await fetch(`http://127.0.0.1:${controlPort}/metrics`)).status).not.toBe(404);

    const screen = first.output();
    expect(screen).toMatch(/^D1 \(local, .*\): applied 0000_init\.sql/m);
    expect(screen.match(/│ name/g)?.length ?? 0, "migration tables").toBeLessThanOrEqual(1);
    expect(screen).not.toContain("ENOTFOUND");
    expect(screen).not.toContain(envToken);
    const block = screen.slice(screen.indexOf("Backstop is running"));
    expect(block).toContain("from the environment (ADMIN_TOKEN)");
    expect(block).toContain(`${base}/api/v1`);
    expect(block).toContain(`127.0.0.1:${dnsPort}`);
    expect(block).toContain(`https://127.0.0.1:${dohPort}/dns-query`);
    expect(block).toContain(`http://127.0.0.1:${controlPort}/metrics`);
    expect(block).toContain(`dig @127.0.0.1 -p ${dnsPort}`);
    // The environment's secret is never written to disk; the missing ones are generated there.
    const devVars = await readFile(path.join(stateDir, ".dev.vars"), "utf8");
    expect(devVars).toContain(`ADMIN_TOKEN=${fileToken}`);
    expect(devVars).not.toContain(envToken);
    expect(devVars).toMatch(/^INTERNAL_TOKEN=\S{16,}$/m);
    expect(devVars).toMatch(/^TSIG_ENCRYPTION_KEY=\S+$/m);
    const cookieSecret = /^BACKSTOP_COOKIE_SECRET=([0-9a-f]{32})$/m.exec(devVars)?.[1];
    expect(cookieSecret, "a generated BACKSTOP_COOKIE_SECRET").toBeDefined();
    const check = cookieQuery(serverCookie!);
    expect(new ServerCookies({ secret: new Uint8Array(Buffer.from(cookieSecret!, "hex")) }).check(check, check.length - 24, 24, "127.0.0.1")).toBe(COOKIE_VALID);

    // 2. SIGTERM: everything stops, every port is free.
    const stopped = await stopWith(first, "SIGTERM");
    console.log(`npm start stopped ${stopped.ms} ms after SIGTERM`);
    expect(stopped.code).toBe(0);
    expect(leftovers([stateDir, `--port ${workerPort}`]), "processes left running").toEqual([]);
    for (const p of [workerPort, dnsPort, dohPort, controlPort]) expect(await isPortFree(p!), `port ${p} free`).toBe(true);

    // 3. Again at once, on the same ports; the token now comes from .dev.vars, and the screen says so.
    const second = start(env);
    await ready(second);
    expect(await apiStatus(base, fileToken)).toBe(200);
    expect(rcodeOf(await udpExchange(dnsPort, buildQuery(8, "example.com.", RRType.SOA), 5_000))).toBe(5);
    // The cookie secret came from .dev.vars again: the first run's server cookie is still valid (echoed as it was).
    expect([...cookieOf(await udpExchange(dnsPort, cookieQuery(serverCookie!), 5_000))!]).toEqual([...serverCookie!]);
    const again = second.output().slice(second.output().indexOf("Backstop is running"));
    expect(again).toMatch(/Admin token +in \S*\.dev\.vars/);
    expect(again).not.toContain(fileToken);
    const command = /TOKEN=\$\(sed -n 's\/\^ADMIN_TOKEN=\/\/p' (\S+)\)/.exec(again);
    expect(command, "a TOKEN command to paste").not.toBeNull();
    const pasted = spawnSync("sh", ["-c", `${command![0]}; printf %s "$TOKEN"`], { cwd: stateDir, encoding: "utf8" });
    expect(pasted.stdout).toBe(fileToken);

    const interrupted = await stopWith(second, "SIGINT");
    expect(interrupted.code).toBe(0);
    expect(leftovers([stateDir, `--port ${workerPort}`])).toEqual([]);
    for (const p of [workerPort, dnsPort, dohPort, controlPort]) expect(await isPortFree(p!), `port ${p} free`).toBe(true);
  }, 2 * READY_MS + 4 * STOP_MS);
});
