/**
 * @module What the workerd tests of `/internal/v1` share: a request to the Worker under test with a bearer
 * token (the internal one unless told; a `Uint8Array` body goes as octets, anything else as JSON), and `ok`,
 * which checks the status and parses the body with the contract's schema. Imported by tests only.
 */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const INTERNAL = "test-internal-token";
export const ADMIN = "test-admin-token";

export async function request(method: string, path: string, body?: unknown, token = INTERNAL): Promise<Response> {
  const binary = body instanceof Uint8Array;
  return exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": binary ? "application/octet-stream" : "application/json" }),
    },
    body: body === undefined ? undefined : binary ? body : JSON.stringify(body),
  });
}

export async function ok<T>(response: Response | Promise<Response>, schema: { parse(v: unknown): T }, status = 200): Promise<T> {
  const res = await response;
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return schema.parse(JSON.parse(text));
}
