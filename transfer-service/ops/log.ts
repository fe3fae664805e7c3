/**
 * @module Structured JSON logs (pino) that can never carry a secret.
 *
 * Two guards: pino's `redact` censors every field whose name says it holds a secret (at the top level and
 * up to three levels down, since pino's paths have no recursive wildcard), and `scrubSecrets` walks any
 * value we are about to log and censors the same names at any depth. Error messages written by this
 * service never contain secrets in the first place (TSIG errors name the key, never its material).
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** Field names whose values are secret wherever they appear. */
export const SECRET_FIELDS = ["secret", "token", "internalToken", "authorization", "password", "key_secret", "secretBase64"] as const;

const CENSOR = "[redacted]";

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const field of SECRET_FIELDS) {
    paths.push(field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`);
  }
  // HTTP request headers as pino and node:http spell them.
  paths.push('req.headers["authorization"]', 'headers["authorization"]');
  return paths;
}

export interface LoggerOptions {
  level?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: options.base ?? { service: "transfer-service" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: CENSOR },
      formatters: {
        // Put the level name, not its number, in the line: easier to grep and to alert on.
        level: (label) => ({ level: label }),
      },
    },
    options.destination,
  );
}

const secretSet = new Set<string>(SECRET_FIELDS.map((f) => f.toLowerCase()));

/**
 * A copy of `value` with every secret-named field censored at any depth (cycles and depth bounded).
 * Use it before logging objects that come from outside (zone configs from the Worker, request bodies).
 */
export function scrubSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > 8 || seen.has(value)) return "[…]";
  seen.add(value);
  if (value instanceof Uint8Array) return `<${value.length} octets>`;
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1, seen));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = secretSet.has(k.toLowerCase()) ? CENSOR : scrubSecrets(v, depth + 1, seen);
  }
  return out;
}
