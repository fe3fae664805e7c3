/**
 * @module `POST /api/v1/zones/:name/verify` in workerd with real D1, where no transfer-service runs (the
 * workers project sets no SERVICE_CONTROL_URLS): the admin token, 404 for an unknown zone, 503 in words when
 * there is no service to ask, and `lastVerification: null` in the zone view until one is stored. The whole
 * flow through a real service and knotd is `test/cli/cli.test.ts`.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

async function call(method: string, path: string, body?: unknown, token = "test-admin-token"): Promise<{ status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await exports.default.fetch(`http://backstop.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe("POST /api/v1/zones/:name/verify", () => {
  it("needs the admin token, knows its zones, and says when no service can run it", async () => {
    expect((await call("POST", "/zones", { name: "verify.test", primaries: [{ address: "192.0.2.1" }] })).status).toBe(201);
    expect((await call("POST", "/zones/verify.test/verify", undefined, "wrong-token")).status).toBe(401); // an unknown token (issue 24: RFC 6750 §3.1)
    expect(await call("POST", "/zones/nosuch.test/verify")).toMatchObject({ status: 404, json: { error: { message: "no zone named nosuch.test" } } });
    expect(await call("POST", "/zones/verify.test/verify")).toMatchObject({
      status: 503,
      json: { error: { code: "no-service", message: "no transfer-service is configured (SERVICE_CONTROL_URLS) to run the verification" } },
    });
    expect((await call("GET", "/zones/verify.test")).json.lastVerification).toBeNull();
  });
});
