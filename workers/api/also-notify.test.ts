/**
 * @module `alsoNotify` (issue 21: NOTIFY out) through `/api/v1` in workerd with real D1: stored with port 53
 * by default and shown, replaced by a PATCH, handed to the transfer-service with its key's secret
 * (`/internal/v1/zones/:zone`); each bad entry a 400 naming the field (an address Backstop may not send to,
 * by `contract/outbound-address.ts`'s rule; a bad port; an unknown key; more than 64 entries); and a key
 * an entry names cannot be deleted.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = "test-admin-token";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: Json; text: string }> {
  const res = await exports.default.fetch(`http://backstop.test${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : undefined, text };
}

const zone = (name: string, alsoNotify: unknown) => ({ name, model: "secondary", primaries: [{ address: "192.0.2.1" }], alsoNotify });

describe("alsoNotify", () => {
  it("is stored (port 53 by default), shown, patched, and handed to the service with its key", async () => {
    expect((await call("POST", "/api/v1/tsig-keys", { name: "notify-key", algorithm: "hmac-sha256", secret: "bm90aWZ5LWtleS1zZWNyZXQ=" })).status).toBe(201);
    const created = await call("POST", "/api/v1/zones", zone("notify.example", [{ address: "192.0.2.53", tsigKey: "notify-key" }, { address: "2001:db8::53", port: 5300 }]));
    expect(created.status, created.text).toBe(201);
    const shown = (await call("GET", "/api/v1/zones/notify.example")).json;
    expect(shown.alsoNotify).toEqual([{ address: "192.0.2.53", port: 53, tsigKey: "notify-key" }, { address: "2001:db8::53", port: 5300 }]);

    const internal = await call("GET", "/internal/v1/zones/notify.example", undefined, env.INTERNAL_TOKEN as string);
    expect(internal.status, internal.text).toBe(200);
    expect(internal.json.zones[0].alsoNotify).toHaveLength(2);
    expect(internal.json.keys.map((k: Json) => k.name)).toContain("notify-key");

    expect((await call("DELETE", "/api/v1/tsig-keys/notify-key")).status).toBe(409);
    const patched = await call("PATCH", "/api/v1/zones/notify.example", { alsoNotify: [{ address: "198.51.100.9", port: 53 }] });
    expect(patched.status, patched.text).toBe(200);
    expect((await call("GET", "/api/v1/zones/notify.example")).json.alsoNotify).toEqual([{ address: "198.51.100.9", port: 53 }]);
  });

  it.each<[string, unknown, string]>([
    ["not an address", [{ address: "ns1.example.net" }], "alsoNotify.0.address"],
    ["a multicast address", [{ address: "224.0.0.251" }], "alsoNotify.0.address"],
    ["the cloud metadata address", [{ address: "169.254.169.254" }], "alsoNotify.0.address"],
    ["the unspecified address", [{ address: "::" }], "alsoNotify.0.address"],
    ["port 0", [{ address: "192.0.2.53", port: 0 }], "alsoNotify.0.port"],
    ["an unknown key", [{ address: "192.0.2.53", tsigKey: "nope" }], "alsoNotify.0.tsigKey"],
    ["an unknown field", [{ address: "192.0.2.53", key: "notify-key" }], "alsoNotify.0.key"],
    ["65 entries", Array.from({ length: 65 }, (_, i) => ({ address: `192.0.2.${i + 1}` })), "alsoNotify"],
  ])("refuses %s with a 400 naming the field", async (_why, alsoNotify, field) => {
    const res = await call("POST", "/api/v1/zones", zone("refused.example", alsoNotify));
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.field).toBe(field);
  });
});
