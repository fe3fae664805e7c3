/**
 * @module Structured JSON logs (pino) that can never carry a secret.
 *
 * Two guards: pino's `redact` censors every field whose name says it holds a secret (at the top level and
 * up to three levels down, since pino's paths have no recursive wildcard), and `scrubSecrets` walks any
 * value we are about to log and censors the same names at any depth. Error messages written by this
 * service never contain secrets in the first place (TSIG errors name the key, never its material).
 *
 * A line never carries a key twice. pino writes a child's bindings (`zone` for a zone's logger, `service`
 * and `instance` from the base) and then the call's own fields as they are, so a call that names the zone
 * again would write `"zone"` twice, which log pipelines reject or silently collapse. `withoutBoundKeys`
 * drops such a field from the call when it says the same as the binding, and keeps a different value
 * under `shadowed`, so nothing is lost and nothing is doubled.
 */
import { pino, type DestinationStream, type LogFn, type Logger } from "pino";

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
      hooks: { logMethod: withoutBoundKeys },
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

/** The keys a logger (a child, or the root with its base) writes on every line, by logger. */
const boundKeys = new WeakMap<Logger, Map<string, unknown>>();

function bindingsOf(logger: Logger): Map<string, unknown> {
  let bound = boundKeys.get(logger);
  if (!bound) {
    // pino's bindings (the base's and every parent's), plus the level and time that pino writes first on
    // every line: a call's own `level` or `time` would be a second one.
    bound = new Map(Object.entries(logger.bindings()));
    for (const key of ["level", "time"]) bound.set(key, Symbol(key));
    boundKeys.set(logger, bound);
  }
  return bound;
}

/** pino's `logMethod` hook: the call's object without the keys its logger already writes (see above). */
function withoutBoundKeys(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const fields: unknown = args[0];
  if (fields !== null && typeof fields === "object" && !(fields instanceof Error) && !Array.isArray(fields)) {
    const bound = bindingsOf(this);
    let out: Record<string, unknown> | undefined;
    let shadowed: Record<string, unknown> | undefined;
    for (const key of Object.keys(fields)) {
      if (!bound.has(key)) continue;
      out ??= { ...(fields as Record<string, unknown>) };
      const value = out[key];
      delete out[key];
      if (!Object.is(value, bound.get(key))) (shadowed ??= {})[key] = value;
    }
    if (out) {
      if (shadowed) out.shadowed = shadowed;
      const rest = args.slice(1) as unknown[];
      return (method as (...a: unknown[]) => void).apply(this, [out, ...rest]);
    }
  }
  return (method as (...a: unknown[]) => void).apply(this, args as unknown[]);
}
