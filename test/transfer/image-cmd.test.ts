/**
 * @module The container image's CMD without a Docker engine: the Dockerfile's esbuild step bundles
 * `main.ts` and `healthcheck.ts`, then `node main.mjs` runs with environment variables only, as in the
 * image. Checked: it comes up with the Worker unreachable, the HEALTHCHECK command passes, the DNS
 * listener answers (NOTIFY for an unknown zone: NOTAUTH; QUERY, the Worker unreachable: SERVFAIL) on UDP and TCP, /metrics
 * serves, a bad configuration exits 2 naming the variable, and SIGTERM exits 0.
 *
 * And again on a read-only root, as deploy/compose.yaml (`read_only: true`) and deploy/kubernetes.yaml
 * (`readOnlyRootFilesystem: true`) run it: `unshare -rm` gives the process its own mount namespace, in which
 * `/` (every file of this machine) is remounted read-only and only the spool directory is a small tmpfs,
 * the manifests' `/tmp`. It must start, pass its health check, answer, and stop as before.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../peers/index.ts";
import { waitFor } from "./service-under-test.ts";

const run = promisify(execFile);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
let dir: string;
let child: ChildProcess;
let output = "";
let dnsPort: number;
let httpPort: number;
let env: NodeJS.ProcessEnv;

/**
 * The Dockerfile's build stage, read from it so the two cannot drift: the esbuild command line, and the
 * paths its `COPY` lines bring into the build context (the bundle is made from those alone, so a source
 * folder the service imports but the image does not copy fails here, not first in `docker build`).
 */
async function dockerfileBuild(): Promise<{ args: string[]; copies: string[] }> {
  const text = await readFile(path.join(root, "transfer-service/Dockerfile"), "utf8");
  // Join continuation lines, then take the build stage: from `FROM … AS build` to the next FROM.
  const joined = text.replace(/\\\n/g, " ");
  const stage = /^FROM \S+ AS build$([\s\S]*?)^FROM /m.exec(joined)?.[1];
  if (stage === undefined) throw new Error("no build stage in the Dockerfile");
  const m = /^RUN npx esbuild (.*)$/m.exec(stage);
  if (!m) throw new Error("no esbuild step in the Dockerfile");
  const copies = [...stage.matchAll(/^COPY (?!--)(.+)$/gm)].flatMap((c) => c[1]!.trim().split(/\s+/).slice(0, -1));
  return { args: m[1]!.trim().split(/\s+/), copies };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "backstop-image-"));
  const build = await dockerfileBuild();
  // The build context holds what the build stage copies and nothing else (node_modules stands in for `npm ci`).
  const context = path.join(dir, "src");
  for (const source of build.copies) await cp(path.join(root, source), path.join(context, source), { recursive: true });
  await symlink(path.join(root, "node_modules"), path.join(context, "node_modules"));
  const args = build.args.map((a) => (a === "--outdir=dist" ? `--outdir=${dir}` : a));
  await run(path.join(root, "node_modules/.bin/esbuild"), args, { cwd: context });
  await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  [dnsPort, httpPort] = await freePorts(2);
  env = {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    BACKSTOP_WORKER_URL: "http://127.0.0.1:9", // nothing listens: the service must still come up
    BACKSTOP_INTERNAL_TOKEN: "image-test-token-0123456789",
    BACKSTOP_DNS_LISTEN: `127.0.0.1:${dnsPort}`,
    // Not an RRL test: whether its queries cross 50 a second must not depend on the machine.
    BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    BACKSTOP_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
  };
  child = spawn(process.execPath, ["main.mjs"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  await waitFor("the service to listen", () => output.includes('"msg":"listening"'), 20_000);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the image's CMD under Node", () => {
  it("passes the HEALTHCHECK command", async () => {
    const { stdout } = await run(process.execPath, ["healthcheck.mjs"], { cwd: dir, env });
    expect(stdout).toBe("");
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it.each([
    { name: "NOTIFY for a zone not served, UDP", args: ["+opcode=notify", "example.test", "SOA"], status: "NOTAUTH" },
    { name: "NOTIFY for a zone not served, TCP", args: ["+tcp", "+opcode=notify", "example.test", "SOA"], status: "NOTAUTH" },
    { name: "QUERY with the Worker unreachable (port-53 front)", args: ["example.test", "A"], status: "SERVFAIL" },
  ])("answers $name with $status", async ({ args, status }) => {
    const { stdout } = await run("dig", ["-p", String(dnsPort), "@127.0.0.1", "+tries=1", "+time=2", ...args]);
    expect(stdout).toMatch(new RegExp(`status: ${status}`));
  });

  it("serves Prometheus metrics, including process RSS", async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(text).toMatch(/backstop_dns_messages_total\{transport="udp",opcode="NOTIFY",rcode="NOTAUTH"\} 1/);
    expect(text).toMatch(/backstop_process_resident_memory_bytes \d+/);
  });

  it("logs JSON lines without the token", () => {
    expect(output).not.toContain(env.BACKSTOP_INTERNAL_TOKEN!);
    for (const line of output.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("exits 2 on a bad configuration, naming the variable", async () => {
    const bad = await run(process.execPath, ["main.mjs"], { cwd: dir, env: { ...env, BACKSTOP_DNS_LISTEN: "nowhere" } }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain("BACKSTOP_DNS_LISTEN");
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  });
});

describe("the image's CMD on a read-only root", () => {
  let ro: ChildProcess;
  let roOutput = "";
  let roEnv: NodeJS.ProcessEnv;
  let roDns: number;

  beforeAll(async () => {
    const spool = path.join(dir, "spool");
    await mkdir(spool);
    const [d, h] = await freePorts(2);
    roDns = d!;
    roEnv = { ...env, BACKSTOP_DNS_LISTEN: `127.0.0.1:${d}`, BACKSTOP_HTTP_LISTEN: `127.0.0.1:${h}`, BACKSTOP_XFR_SPOOL_DIR: spool };
    // A private mount namespace (as an unprivileged user namespace's root, so it needs no real root):
    // the whole tree read-only, then a tmpfs on the spool dir only; `exec` so signals reach node itself.
    const script = 'mount --make-rprivate / && mount -o remount,bind,ro / && mount -t tmpfs -o size=16m tmpfs "$BACKSTOP_XFR_SPOOL_DIR" && exec "$0" main.mjs';
    ro = spawn("unshare", ["-rm", "sh", "-c", script, process.execPath], { cwd: dir, env: roEnv, stdio: ["ignore", "pipe", "pipe"] });
    ro.stdout!.on("data", (d) => (roOutput += String(d)));
    ro.stderr!.on("data", (d) => (roOutput += String(d)));
    await waitFor("the service on a read-only root to listen", () => roOutput.includes('"msg":"listening"') || ro.exitCode !== null, 20_000);
    expect(ro.exitCode, `unshare -rm must be allowed here (user namespaces); output:\n${roOutput}`).toBeNull();
  });

  afterAll(() => {
    if (ro && ro.exitCode === null) ro.kill("SIGKILL");
  });

  it("runs with / read-only and only the spool dir writable", async () => {
    const mountinfo = await readFile(`/proc/${ro.pid}/mountinfo`, "utf8");
    const rootLine = mountinfo.split("\n").find((l) => l.split(" ")[4] === "/");
    expect(rootLine).toMatch(/ \/ ro[, ]/);
    expect(mountinfo).toContain(` ${roEnv.BACKSTOP_XFR_SPOOL_DIR} rw`);
  });

  it("passes the HEALTHCHECK command and answers on UDP and TCP", async () => {
    const { stdout } = await run(process.execPath, ["healthcheck.mjs"], { cwd: dir, env: roEnv });
    expect(stdout).toBe("");
    for (const args of [["+opcode=notify", "example.test", "SOA"], ["+tcp", "+opcode=notify", "example.test", "SOA"]]) {
      const dig = await run("dig", ["-p", String(roDns), "@127.0.0.1", "+tries=1", "+time=2", ...args]);
      expect(dig.stdout).toMatch(/status: NOTAUTH/);
    }
  });

  it("stops on SIGTERM with exit code 0, having hit no read-only error", async () => {
    const exited = new Promise<number | null>((resolve) => ro.once("exit", (code) => resolve(code)));
    ro.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(roOutput).toContain('"msg":"stopped"');
    expect(roOutput).not.toMatch(/EROFS|read-only file system/i);
  });
});
