/**
 * @module Running a peer's companion tool (knotc, rndc, nsd-control, pdnsutil, pdns_control, kdig…) with a
 * bounded time, returning its output or failing with the tool's own words.
 */
import { execFile } from "node:child_process";

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `command args`; never throws for a non-zero exit (see {@link runToolOk}). Killed after `timeoutMs`. */
export function runTool(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 512 * 1024 * 1024, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== "number") {
          const killed = (err as { killed?: boolean }).killed;
          reject(new Error(`${command} ${killed ? `timed out after ${opts.timeoutMs ?? 30_000} ms` : err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? ((err as { code: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Run `command args` and fail with its stderr unless it exits 0. */
export async function runToolOk(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<string> {
  const res = await runTool(command, args, opts);
  if (res.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${res.code}: ${(res.stderr || res.stdout).trim()}`);
  }
  return res.stdout;
}
