/**
 * @module The CLI's HTTP client of `/api/v1`: the bearer token on every request, JSON in and out, and every
 * failure turned into a `CliError` in words: the API's `{error:{message, field}}` when it answered (exit 1,
 * or 2 for a malformed request), "cannot reach" when it did not (exit 3). Node's global fetch (undici).
 */
import { CliError, EXIT, exitForStatus } from "./errors.ts";
import type { Target } from "./target.ts";

export const API = "/api/v1";

export interface RequestOptions {
  json?: unknown;
  /** A raw body (import) with its content type. */
  body?: BodyInit;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** HTTP statuses that are not errors for this call (e.g. 404 while waiting). */
  accept?: number[];
  signal?: AbortSignal;
}

export class ApiClient {
  constructor(
    readonly target: Target,
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  /** One request; resolves to the response when its status is 2xx or accepted, else throws a CliError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(`${this.target.url}${API}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.target.token !== undefined) headers.authorization = `Bearer ${this.target.token}`;
    let body: BodyInit | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/octet-stream";
      body = options.body;
    }
    let res: Response;
    try {
      // duplex: a streamed body (import) needs it under undici.
      res = await this.fetcher(url, { method, headers, body, signal: options.signal, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(EXIT.unreachable, `cannot reach Backstop at ${this.target.url}: ${why}`);
    }
    if (res.ok || options.accept?.includes(res.status)) return res;
    throw await this.errorOf(method, path, res);
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return (text === "" ? undefined : JSON.parse(text)) as T;
    } catch {
      throw new CliError(EXIT.failed, `${method} ${API}${path} answered something that is not JSON (HTTP ${res.status})`);
    }
  }

  private async errorOf(method: string, path: string, res: Response): Promise<CliError> {
    const text = await res.text().catch(() => "");
    let message: string | undefined;
    try {
      const body = JSON.parse(text) as { error?: { message?: string; field?: string } | string };
      if (typeof body.error === "string") message = body.error;
      else if (body.error?.message) message = body.error.field && !body.error.message.includes(body.error.field) ? `${body.error.field}: ${body.error.message}` : body.error.message;
    } catch {
      // not JSON: fall through
    }
    if (res.status === 401 && this.target.token === undefined) {
      message = `${message ?? "unauthorized"} (no token: pass --token, set BACKSTOP_TOKEN, or run where npm start wrote .dev.vars)`;
    }
    return new CliError(exitForStatus(res.status), `${message ?? (text.slice(0, 300) || res.statusText)} (HTTP ${res.status}, ${method} ${API}${path})`);
  }
}

/** A zone or key name as a path segment. */
export const seg = (name: string): string => encodeURIComponent(name.replace(/\.$/, ""));
