/**
 * @module `/api/v1` in workerd with real D1: every field validated (a table of bad bodies, each a 400
 * naming the field), auth (401/403), the zone and key lifecycle, and no secret in any response.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const ADMIN = "test-admin-token";
const SECRET = "c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTEyMzQ1Ng=="; // base64 of a recognizable secret
const SECRET_TEXT = "secret-tsig-key-material-123456";

/** Every response body seen, to check afterwards that no secret leaked. */
const seen: { path: string; body: string }[] = [];

// Response bodies are checked field by field; a loose type keeps the table readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN): Promise<{ status: number; json: Json; text: string }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await exports.default.fetch(`http://backstop.test/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  seen.push({ path, body: text });
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // text/dns and empty bodies
  }
  return { status: res.status, json, text };
}

const goodZone = {
  name: "example.com",
  model: "secondary",
  primaries: [{ address: "192.0.2.1", port: 53, tsigKey: "xfr-key" }],
  notifyAllow: ["198.41.144.240/28"],
  transferAllow: [{ address: "198.51.100.7", tsigKey: "xfr-key" }],
};

describe("/api/v1", () => {
  it("asks for a token: 401 without or with one that is no credential, 403 with the internal one, same error shape", async () => {
    for (const [token, status] of [
      [null, 401],
      ["wrong", 401],
      ["test-internal-token", 403],
    ] as const) {
      const res = await call("GET", "/zones", undefined, token);
      expect(res.status).toBe(status);
      expect(res.json.error.code).toBeTypeOf("string");
      expect(res.json.error.message).toBeTypeOf("string");
    }
  });

  it("creates a TSIG key (201, name and algorithm only), lists it, refuses a duplicate (409)", async () => {
    const created = await call("POST", "/tsig-keys", { name: "XFR-Key.", algorithm: "hmac-sha256", secret: SECRET });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ name: "xfr-key", algorithm: "hmac-sha256" });
    const again = await call("POST", "/tsig-keys", { name: "xfr-key", algorithm: "hmac-sha256", secret: SECRET });
    expect([again.status, again.json.error.field]).toEqual([409, "name"]);
    const list = await call("GET", "/tsig-keys");
    expect(list.json.keys.map((k: { name: string }) => k.name)).toContain("xfr-key");
    const stored = await env.DB.prepare("SELECT secret_encrypted FROM tsig_keys WHERE name = 'xfr-key'").first<{ secret_encrypted: ArrayBuffer }>();
    expect(new TextDecoder("latin1").decode(new Uint8Array(stored!.secret_encrypted))).not.toContain(SECRET_TEXT);
  });

  it.each([
    ["missing name", { algorithm: "hmac-sha256", secret: SECRET }, "name"],
    ["bad name", { name: "a..b", algorithm: "hmac-sha256", secret: SECRET }, "name"],
    ["unknown algorithm", { name: "k", algorithm: "hmac-sha999", secret: SECRET }, "algorithm"],
    ["secret not base64", { name: "k", algorithm: "hmac-sha256", secret: "not base64!" }, "secret"],
    ["empty secret", { name: "k", algorithm: "hmac-sha256", secret: "" }, "secret"],
    ["unknown field", { name: "k", algorithm: "hmac-sha256", secret: SECRET, extra: 1 }, "extra"],
  ])("POST /tsig-keys with %s → 400 naming %j", async (_label, body, field) => {
    const res = await call("POST", "/tsig-keys", body);
    expect(res.status).toBe(400);
    if (field) expect(res.json.error.field).toBe(field);
    expect(res.json.error.message.length).toBeGreaterThan(5);
  });

  it.each([
    ["missing name", { ...goodZone, name: undefined }, "name"],
    ["name with a space", { ...goodZone, name: "exa mple.com" }, "name"],
    ["label too long", { ...goodZone, name: `${"a".repeat(64)}.com` }, "name"],
    ["bad punycode", { ...goodZone, name: "xn--zz.com" }, "name"],
    ["unknown model", { ...goodZone, model: "tertiary" }, "model"],
    ["no primaries for a secondary", { ...goodZone, primaries: [] }, "primaries"],
    ["primary address not an address", { ...goodZone, primaries: [{ address: "primary.example" }] }, "primaries.0.address"],
    ["primary address in a loose IPv4 form", { ...goodZone, primaries: [{ address: "0x7f.1" }] }, "primaries.0.address"],
    ["port 0", { ...goodZone, primaries: [{ address: "192.0.2.1", port: 0 }] }, "primaries.0.port"],
    ["port 70000", { ...goodZone, primaries: [{ address: "192.0.2.1", port: 70000 }] }, "primaries.0.port"],
    ["port as a string", { ...goodZone, primaries: [{ address: "192.0.2.1", port: "53" }] }, "primaries.0.port"],
    ["unknown TSIG key", { ...goodZone, primaries: [{ address: "192.0.2.1", tsigKey: "nope" }] }, "primaries.0.tsigKey"],
    ["notifyAllow not a prefix", { ...goodZone, notifyAllow: ["198.41.144.240"] }, "notifyAllow.0"],
    ["notifyAllow prefix too long", { ...goodZone, notifyAllow: ["198.41.144.240/33"] }, "notifyAllow.0"],
    ["transferAllow bad address", { ...goodZone, transferAllow: [{ address: "everyone" }] }, "transferAllow.0.address"],
    ["transferAllow unknown key", { ...goodZone, transferAllow: [{ address: "198.51.100.7", tsigKey: "nope" }] }, "transferAllow.0.tsigKey"],
    ["answerAllow garbage", { ...goodZone, answerAllow: ["x"] }, "answerAllow.0"],
    ["timer clamp of 0", { ...goodZone, minRefresh: 0 }, "minRefresh"],
    ["unknown field", { ...goodZone, primary: "192.0.2.1" }, "primary"],
  ])("POST /zones with %s → 400 naming %j", async (_label, body, field) => {
    const res = await call("POST", "/zones", body);
    expect(res.status, res.text).toBe(400);
    if (field) expect(res.json.error.field).toBe(field);
  });

  it("refuses a body that is not JSON", async () => {
    const res = await call("POST", "/zones", "{nope");
    expect([res.status, res.json.error.code]).toEqual([400, "invalid-json"]);
  });

  it.each([
    ["Example.COM.", "example.com"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["例え.テスト", "xn--r8jz45g.xn--zckzah"],
  ])("normalizes zone name %j to %j", async (input, expected) => {
    await call("POST", "/tsig-keys", { name: "xfr-key", algorithm: "hmac-sha256", secret: SECRET });
    const res = await call("POST", "/zones", { ...goodZone, name: input });
    expect(res.status, res.text).toBe(201);
    expect(res.json.name).toBe(expected);
    const again = await call("GET", `/zones/${encodeURIComponent(input)}`);
    expect(again.json.name).toBe(expected);
  });

  it("runs a zone's lifecycle: create (webhook secret once), read, patch, refresh, notify, rotate, delete", async () => {
    await call("POST", "/tsig-keys", { name: "xfr-key", algorithm: "hmac-sha256", secret: SECRET });
    const created = await call("POST", "/zones", { ...goodZone, name: "life.example" });
    expect(created.status).toBe(201);
    const webhookSecret: string = created.json.webhookSecret;
    expect(webhookSecret.length).toBeGreaterThanOrEqual(40);
    expect((await call("POST", "/zones", { ...goodZone, name: "life.example" })).status).toBe(409);

    const zone = await call("GET", "/zones/life.example");
    expect(zone.status).toBe(200);
    for (const key of ["name", "model", "status", "serial", "recordCount", "primarySerial", "lastCheck", "lastTransfer", "expiresAt"]) {
      expect(zone.json).toHaveProperty(key);
    }
    expect(zone.json.status).toBe("pending");
    expect(zone.json.webhookSecret).toBeUndefined();

    const patched = await call("PATCH", "/zones/life.example", { notifyAllow: ["2a06:98c0:3601::/48"], model: "hidden" });
    expect([patched.status, patched.json.notifyAllow, patched.json.model]).toEqual([200, ["2a06:98c0:3601::/48"], "hidden"]);
    expect((await call("PATCH", "/zones/life.example", { primaries: [] })).json.error.field).toBe("primaries");
    expect((await call("PATCH", "/zones/life.example", { name: "other.example" })).status).toBe(400);

    expect((await call("POST", "/zones/life.example/refresh")).status).toBe(202);
    expect((await call("POST", "/zones/life.example/refresh", { force: "axfr", acceptLowerSerial: true })).status).toBe(202);
    expect((await call("POST", "/zones/life.example/refresh", { acceptLowerSerial: true })).json.error.field).toBe("acceptLowerSerial");
    const pending = await env.DB.prepare("SELECT refresh_force, refresh_accept_lower_serial FROM zones WHERE name = 'life.example'").first();
    expect(pending).toEqual({ refresh_force: "axfr", refresh_accept_lower_serial: 1 });

    // The webhook takes the zone's secret (or the admin token), nothing else.
    expect((await call("POST", "/zones/life.example/notify", undefined, webhookSecret)).status).toBe(202);
    expect((await call("POST", "/zones/life.example/notify", undefined, ADMIN)).status).toBe(202);
    expect((await call("POST", "/zones/life.example/notify", undefined, "guess")).status).toBe(403);
    expect((await call("POST", "/zones/life.example/notify", undefined, null)).status).toBe(401);
    // Another zone's secret does not open this one.
    const other = await call("POST", "/zones", { ...goodZone, name: "other.example" });
    expect((await call("POST", "/zones/life.example/notify", undefined, other.json.webhookSecret)).status).toBe(403);

    const rotated = await call("POST", "/zones/life.example/webhook-secret");
    expect(rotated.json.webhookSecret).not.toBe(webhookSecret);
    expect((await call("POST", "/zones/life.example/notify", undefined, webhookSecret)).status).toBe(403);
    expect((await call("POST", "/zones/life.example/notify", undefined, rotated.json.webhookSecret)).status).toBe(202);

    expect((await call("GET", "/zones/life.example/transfers")).json.transfers).toEqual([]);
    expect((await call("GET", "/zones/life.example/export")).status).toBe(409);
    expect((await call("DELETE", "/tsig-keys/xfr-key")).status).toBe(409);
    expect((await call("DELETE", "/zones/life.example")).status).toBe(204);
    expect((await call("GET", "/zones/life.example")).status).toBe(404);
    expect((await call("DELETE", "/zones/life.example")).status).toBe(404);
  });

  it("never returns a secret: not the TSIG secret, not the tokens, not a webhook secret after its creation", async () => {
    const shown = seen.filter((r) => r.body.includes("webhookSecret")).length;
    expect(shown).toBeGreaterThan(0);
    for (const r of seen) {
      expect(r.body).not.toContain(SECRET);
      expect(r.body).not.toContain(SECRET_TEXT);
      expect(r.body).not.toContain(ADMIN);
      expect(r.body).not.toContain("test-internal-token");
      expect(r.body).not.toMatch(/secret_encrypted|webhookSecretHash|webhook_secret_hash|lease_owner/);
    }
  });
});
