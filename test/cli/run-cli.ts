/**
 * @module Running a command as an operator would, for the tests that drive the `backstop` CLI (test/cli/,
 * test/guides/): a subprocess in `cwd` with a bare environment (PATH, HOME = `cwd`, the target in
 * BACKSTOP_URL / BACKSTOP_TOKEN) plus `env`, its output collected, killed after 90 s.
 */
import { spawn } from "node:child_process";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunTarget {
  /** Working directory and HOME. */
  cwd: string;
  url: string;
  token: string;
}

/** Runs `command args` against `target`; `env` adds to (or overrides) the target's variables. */
export function run(target: RunTarget, command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: target.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: target.cwd, BACKSTOP_URL: target.url, BACKSTOP_TOKEN: target.token, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI (`cli/backstop.mjs`, what `npx backstop` runs) against `target`. */
export function runCli(target: RunTarget, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(target, process.execPath, [path.join(root, "cli/backstop.mjs"), ...args], env);
}
