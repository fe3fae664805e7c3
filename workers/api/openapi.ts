/**
 * @module The OpenAPI 3.1 document of `/api/v1` (issue 24), served at `/api/v1/openapi.json`, with Swagger
 * UI at `/api/v1/docs`. Each route carries its description as a hono middleware (`operation(...)`, on
 * `hono-openapi`'s `describeRoute`), beside its handler; request bodies and queries are the very zod schemas
 * the handlers validate with (`schemas.ts`, `tokens.ts`), responses the schemas of `contract/api-v1.ts`, errors
 * the one error body (`http/errors`). The document is generated from the app's own route table, so a route
 * without a description is missing from it, which `openapi.test.ts` refuses.
 *
 * Why `hono-openapi` (1.3) rather than `@hono/zod-openapi`: both support zod 4 and hono 4.13, but
 * `@hono/zod-openapi` wants every route rewritten as `createRoute` + `OpenAPIHono.openapi()` with its own
 * validation hook, where `hono-openapi` annotates the routes as they are (a `describeRoute` middleware) and
 * leaves validation to our handlers, so the 400 naming the field, the 415 and the bulk item's `index` stay
 * exactly as they were. It converts zod 4 schemas with zod's own `z.toJSONSchema` (input side, so
 * defaults and transforms read as a client sends them), needs no zod extension, declares no Node engine
 * and uses only Web APIs, so it runs in workerd and on Node 20. Swagger UI comes from `@hono/swagger-ui`
 * (no Node engine constraint; Scalar's hono package asks for Node 22); its page loads the viewer from the
 * jsDelivr CDN, the document itself from this Worker.
 */
import { swaggerUI } from "@hono/swagger-ui";
import type { Hono, MiddlewareHandler } from "hono";
import { describeRoute, generateSpecs, resolver } from "hono-openapi";
import { z } from "zod";
import type { RouteEnv } from "../http/route-env.ts";
import { ErrorBody } from "../../contract/api-v1.ts";

/** The statuses an error of this API may have (`http/errors` `ApiStatus`, and 429 from the rate limit). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

const ERROR_WORDS: Record<ErrorStatus, string> = {
  400: "invalid input: `field` names what is wrong",
  401: "no token, or one that is no credential (unknown, revoked or expired)",
  403: "the token may not do this (read-only, another principal, admin-only route, a zone-limited token on a route naming no zone)",
  404: "no such resource (for a zone-limited token, also a zone outside its list)",
  409: "conflicts with the stored state (exists already, in use, no data yet)",
  413: "the body is too large",
  415: "a body not sent as Content-Type: application/json",
  429: "rate-limited: retry after the seconds in Retry-After",
  503: "the Worker is not configured for this (a secret is not set)",
};

/** A success response: its status, words, and body schema (JSON) or media type (a zone file). */
export interface Success {
  status: 200 | 201 | 202 | 204;
  description: string;
  schema?: z.ZodType;
  /** A body that is not JSON (`text/dns` for an export). */
  media?: string;
}

export interface Operation {
  summary: string;
  description?: string;
  tag: "zones" | "tsig-keys" | "tokens" | "meta" | (string & {});
  /** The JSON body, as the handler validates it. */
  body?: z.ZodType;
  /** The query, as the handler validates it (a zod object). */
  query?: z.ZodObject;
  responses: Success[];
  /** Errors beyond those every route may answer (401, 403, 429, 503; 400 and 415 with a body or query). */
  errors?: ErrorStatus[];
  /** Needs no token. */
  public?: boolean;
}

/** The query parameters of a zod object, each with its JSON schema (input side) and description. */
function queryParameters(query: z.ZodObject) {
  const json = z.toJSONSchema(query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: "query" as const, required: json.required?.includes(name) ?? false, schema: rest, ...(typeof description === "string" ? { description } : {}) };
  });
}

const errorResponse = (status: ErrorStatus) => ({
  description: ERROR_WORDS[status],
  ...(status === 401 ? { headers: { "WWW-Authenticate": { schema: { type: "string" }, description: 'Bearer realm="" or Bearer error="invalid_token"' } } } : {}),
  ...(status === 429 ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "seconds to wait before retrying" } } } : {}),
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** The description of one route, as a middleware to put before its handler. */
export function operation(o: Operation): MiddlewareHandler {
  const errors = new Set<ErrorStatus>(o.errors ?? []);
  if (!o.public) [401, 403, 429, 503].forEach((s) => errors.add(s as ErrorStatus));
  if (o.body) [400, 415].forEach((s) => errors.add(s as ErrorStatus));
  if (o.query) errors.add(400);
  const responses: Record<string, unknown> = {};
  for (const ok of o.responses) {
    const content = ok.schema ? { "application/json": { schema: resolver(ok.schema) } } : ok.media ? { [ok.media]: { schema: { type: "string" } } } : undefined;
    responses[String(ok.status)] = { description: ok.description, ...(content ? { content } : {}) };
  }
  for (const status of [...errors].sort()) responses[String(status)] = errorResponse(status);
  return describeRoute({
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    tags: [o.tag],
    ...(o.public ? { security: [] } : {}),
    ...(o.query ? { parameters: queryParameters(o.query) } : {}),
    ...(o.body ? { requestBody: { required: true, content: { "application/json": { schema: resolver(o.body) } } } } : {}),
    responses: responses as never,
  });
}

/** `{name}` path parameters the generator leaves out (hono-openapi adds none for a path's own `:name`). */
function addPathParameters(doc: { paths?: Record<string, Record<string, unknown>> }): void {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const op of Object.values(item) as { parameters?: { name: string; in: string }[] }[]) {
      if (typeof op !== "object" || op === null) continue;
      const params = (op.parameters ??= []);
      for (const name of names) {
        if (params.some((p) => p.in === "path" && p.name === name)) continue;
        params.unshift({
          name,
          in: "path",
          required: true,
          schema: { type: "string" },
          description: path.startsWith("/zones/") ? "the zone's name (any case, trailing dot or not, U-labels or A-labels)" : "the resource's name",
        } as never);
      }
    }
  }
}

/**
 * Built once per isolate (the route table does not change after `createApi`); the settled value is kept,
 * never a shared promise (workerd does not resume one request on another request's promise).
 */
let cached: unknown;

/** The document of `api` (the `/api/v1` app): paths below `/api/v1`, which `servers` names. */
export async function openApiDocument(api: Hono<RouteEnv>): Promise<unknown> {
  const doc = await generateSpecs(api, {
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Backstop management API",
        version: "1",
        description:
          "Secondary DNS zones, TSIG keys and API tokens. Authenticate with `Authorization: Bearer <token>`: the ADMIN_TOKEN, or an API token from POST /tokens (`read`: GET/HEAD; `write`: every method; with `zones`, only those zones). Errors are `{ \"error\": { \"code\", \"message\", \"field\" } }`.",
      },
      servers: [{ url: "/api/v1" }],
      security: [{ bearer: [] }],
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN or an API token (bst_…)" } },
        schemas: { Error: z.toJSONSchema(ErrorBody, { target: "draft-2020-12" }) as never },
      },
    },
    defaultValidationErrorResponse: false,
    // `/openapi.json` is a route, not a static file.
    excludeStaticFile: false,
  });
  addPathParameters(doc as never);
  return doc;
}

/** `GET /openapi.json` and `GET /docs`, added to `api` by `createApi` before its catch-all. */
export function mountOpenApi(api: Hono<RouteEnv>): void {
  api.get(
    "/openapi.json",
    operation({ summary: "This document (OpenAPI 3.1)", tag: "meta", public: true, responses: [{ status: 200, description: "the OpenAPI 3.1 document" }] }),
    async (c) => {
      cached ??= await openApiDocument(api);
      return c.json(cached as object);
    },
  );
  api.get(
    "/docs",
    operation({ summary: "Interactive documentation (Swagger UI)", tag: "meta", public: true, responses: [{ status: 200, description: "an HTML page", media: "text/html" }] }),
    swaggerUI({ url: "/api/v1/openapi.json", title: "Backstop API" }),
  );
}
