/**
 * @module Which Backstop to talk to, and with which token: `--url`/`--token`, else `BACKSTOP_URL`/
 * `BACKSTOP_TOKEN`, else the local `npm start`: `http://127.0.0.1:8787` and `ADMIN_TOKEN` from the nearest
 * `.dev.vars` (the current directory or a parent), which `npm start` writes. Each part is found on its own,
 * so `--url` with the token from the environment works.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { usage } from "./errors.ts";

export const DEFAULT_URL = "http://127.0.0.1:8787";

export interface Target {
  url: string;
  token: string | undefined;
  /** Where the token came from, for error messages ("--token", "BACKSTOP_TOKEN", a .dev.vars path). */
  tokenFrom: string | undefined;
}

/** `KEY=value` lines of a wrangler `.dev.vars` file (quotes stripped, `#` comments skipped). */
export function parseDevVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}

/** The nearest `.dev.vars` from `dir` upwards, or undefined. */
export function findDevVars(dir: string): string | undefined {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, ".dev.vars");
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

export function resolveTarget(flags: { url?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv, cwd: string): Target {
  let url = flags.url ?? env.BACKSTOP_URL ?? DEFAULT_URL;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw usage(`--url ${url} is not an http:// or https:// URL`);
  }
  url = url.replace(/\/+$/, "");
  if (flags.token !== undefined) return { url, token: flags.token, tokenFrom: "--token" };
  if (env.BACKSTOP_TOKEN) return { url, token: env.BACKSTOP_TOKEN, tokenFrom: "BACKSTOP_TOKEN" };
  const file = findDevVars(cwd);
  if (file) {
    const token = parseDevVars(readFileSync(file, "utf8")).ADMIN_TOKEN;
    if (token) return { url, token, tokenFrom: file };
  }
  return { url, token: undefined, tokenFrom: undefined };
}
