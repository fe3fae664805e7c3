/**
 * @module The error contract of both APIs: `{ "error": { "code", "message", "field" } }` with 400, 401,
 * 403, 404, 409, 413 or 415, and the zod glue that turns a failed validation into a 400 naming the field
 * (an unknown key is named itself, `primaries.0.adress`, not the object holding it). A JSON body must come as
 * `Content-Type: application/json` (415 otherwise), so a form post or a text body is refused, not guessed at.
 * `/api/v1`, `/internal/v1` (and the panel, later) all answer their errors through `errorResponse`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { StoreError } from "../../store/store-error.ts";

export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500 | 503;

/** A failure to report to the caller, never carrying a secret. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: ApiStatus,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, field?: string) {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

/** Turns any thrown value into the error response (unknown errors: 500 without details). */
export function errorResponse(c: Context, err: unknown): Response {
  // hono's own middleware (bearer-auth) throws its finished response, already in this shape (http/auth).
  if (err instanceof HTTPException) return err.getResponse();
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.field), err.status as ContentfulStatusCode);
  if (err instanceof StoreError) return c.json(errorBody(err.code, err.message), err.status);
  console.error(JSON.stringify({ msg: "unhandled error", error: err instanceof Error ? err.message : String(err) }));
  return c.json(errorBody("internal", "internal error"), 500);
}

/**
 * Dotted path of a zod issue (`primaries.0.address`); empty for the body itself. zod reports unknown keys on
 * the object that holds them: the field is then the first unknown key.
 */
function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) path.push(issue.keys[0]!);
  return path.join(".");
}

/** The words of an issue: zod's own, except for unknown keys (zod's names them all in one sentence). */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code !== "unrecognized_keys") return issue.message;
  const others = issue.keys.slice(1);
  return `unknown field${others.length ? ` (also unknown: ${others.join(", ")})` : ""}`;
}

/** Validates a value with a schema, or throws a 400 naming the first offending field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = fieldOf(issue);
  const field = [prefix, path].filter(Boolean).join(".") || undefined;
  const message = messageOf(issue);
  throw new ApiError(400, "invalid", field ? `${field}: ${message}` : message, field);
}

/**
 * Whether a Content-Type names JSON: `application/json`, in any case, with at most a `charset=utf-8`
 * parameter (RFC 8259 §8.1: JSON is UTF-8; browsers add the charset).
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return params.every((p) => p === "" || /^charset\s*=\s*"?utf-8"?$/.test(p));
}

/**
 * Reads and validates a JSON body; an empty body is `{}` (so all-optional bodies may be omitted, whatever
 * their Content-Type). A body that is there must be declared JSON: 415 otherwise.
 */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    const type = c.req.header("content-type");
    if (!isJsonContentType(type)) {
      throw new ApiError(
        415,
        "unsupported-media-type",
        type === undefined
          ? "the body needs Content-Type: application/json"
          : `the body is sent as ${JSON.stringify(type)}; send it as Content-Type: application/json`,
      );
    }
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid-json", "the body is not valid JSON");
    }
  }
  return validate(schema, value);
}
