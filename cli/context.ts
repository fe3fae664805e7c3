/**
 * @module What every command's action is handed: the API client for the resolved target, the output (table
 * or `--json`), and a place to leave its exit code (verify and status exit 1 on a failed check).
 */
import type { Command } from "commander";
import { ApiClient } from "./api.ts";
import { type ExitCode, EXIT } from "./errors.ts";
import { type Out, processOut } from "./output.ts";
import { resolveTarget } from "./target.ts";

export interface Ctx {
  api: ApiClient;
  out: Out;
  /** Progress bars wanted (a terminal, not --json, not --quiet). */
  progress: boolean;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The process-wide outcome: the worst exit code an action reported. */
export const outcome = { exit: EXIT.ok as ExitCode };

export function fail(code: ExitCode): void {
  if (code > outcome.exit) outcome.exit = code;
}

/** Builds the context from the command's options and its parents' (the global flags). */
export type ContextFactory = (cmd: Command) => Ctx;

export const defaultContext: ContextFactory = (cmd) => {
  const o = cmd.optsWithGlobals<GlobalOptions>();
  const target = resolveTarget({ url: o.url, token: o.token }, process.env, process.cwd());
  const out = processOut(o.json === true);
  return { api: new ApiClient(target), out, progress: !o.json && !o.quiet };
};
