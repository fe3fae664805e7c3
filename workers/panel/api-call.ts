/**
 * @module The panel acts through `/api/v1`, in-process: a form becomes the same JSON request a script would
 * send, handled by the same hono app (`api/index.ts`), so validation, key checks, refresh pushes and error
 * words are the API's own and exist once. The request carries the admin token because the only panel
 * principal today is the operator; when scoped tokens (issue 24) sign in, this is where the session's own
 * credential goes instead. Nothing here leaves the Worker.
 */
import { createApi } from "../api/index.ts";
import type { Env } from "../env.d.ts";

const api = createApi();

export interface ApiAnswer {
  status: number;
  // The API's JSON, read field by field by the pages.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** What of a request's context the call needs: the bindings, and the execution context for `waitUntil`. */
export interface ApiCaller {
  env: Env;
  readonly executionCtx: unknown;
}

export async function callApi(c: ApiCaller, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const request = new Request(new URL(path, "http://panel.invalid/"), {
    method,
    headers: { authorization: `Bearer ${c.env.ADMIN_TOKEN ?? ""}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let ctx: Parameters<typeof api.fetch>[2];
  try {
    ctx = c.executionCtx as Parameters<typeof api.fetch>[2];
  } catch {
    // No execution context (a direct app.request in a test): the API's pushes run unawaited.
    ctx = undefined;
  }
  const res = await api.fetch(request, c.env, ctx);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

/** The API's error message, for a form to show. */
export function apiErrorWords(answer: ApiAnswer): string {
  return answer.json?.error?.message ?? `the API answered HTTP ${answer.status}`;
}
