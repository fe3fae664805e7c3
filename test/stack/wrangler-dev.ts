/**
 * @module The real Worker for integration tests: `wrangler dev` (workerd) on a free loopback port, with its
 * own local D1 built from migrations/ in a temp dir, and the secrets given as `--var`s. One copy, used by the
 * local-stack and DoH-front tests.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePorts } from "../peers/ports.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const wrangler = path.join(root, "node_modules/.bin/wrangler");

export interface WranglerDevOptions {
  adminToken: string;
  internalToken: string;
  /** Extra `--var NAME:value` bindings, e.g. SERVICE_CONTROL_URLS. */
  vars?: Record<string, string>;
  /** How long to wait for /healthz; 90 s by default (workerd's first start compiles the bundle). */
  startTimeoutMs?: number;
  /** `--test-scheduled`: `GET /__scheduled` runs the cron handler (the version sweep). */
  testScheduled?: boolean;
}

export interface WranglerDev {
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** What wrangler printed so far (for failure messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; removes the local D1. */
  stop(): Promise<void>;
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const persist = await mkdtemp(path.join(tmpdir(), "backstop-worker-"));
  const [port] = await freePorts(1);
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, CI: "1" };
  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (migrate.status !== 0) {
    await rm(persist, { recursive: true, force: true });
    throw new Error(`migrations failed: ${migrate.stdout}${migrate.stderr}`);
  }
  const vars: Record<string, string> = {
    ADMIN_TOKEN: options.adminToken,
    INTERNAL_TOKEN: options.internalToken,
    TSIG_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    // No transfer-service listens unless a test says where.
    SERVICE_CONTROL_URLS: "",
    ...options.vars,
  };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0", "--persist-to", persist];
  if (options.testScheduled) args.push("--test-scheduled");
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const worker: ChildProcess = spawn(wrangler, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  worker.stdout!.on("data", (d) => (output += String(d)));
  worker.stderr!.on("data", (d) => (output += String(d)));

  const stop = async (): Promise<void> => {
    if (worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
    }
    await rm(persist, { recursive: true, force: true });
  };

  try {
    await waitFor("wrangler dev", async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, options.startTimeoutMs ?? 90_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-3000)}`, { cause: err });
  }
  return { base, output: () => output, stop };
}
