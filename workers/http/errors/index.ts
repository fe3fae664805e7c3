/**
 * @module The error contract of both APIs: `{ "error": { "code", "message", "field" } }` with 400, 401,
 * 403, 404, 409 or 413, and the zod glue that turns a failed validation into a 400 naming the field.
 * `/api/v1`, `/internal/v1` (and the panel, later) all answer their errors through `errorResponse`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { StoreError } from "../../store/store-error.ts";

export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 413 | 500 | 503;

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

/** Dotted path of a zod issue (`primaries.0.address`); empty for the body itself. */
function fieldOf(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join(".");
}

/** Validates a value with a schema, or throws a 400 naming the first offending field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = fieldOf(issue);
  const field = [prefix, path].filter(Boolean).join(".") || undefined;
  throw new ApiError(400, "invalid", field ? `${field}: ${issue.message}` : issue.message, field);
}

/** Reads and validates a JSON body; an empty body is `{}` (so all-optional bodies may be omitted). */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid-json", "the body is not valid JSON");
    }
  }
  return validate(schema, value);
}
