/**
 * @module What infrastructure-as-code tools (octoDNS, DNSControl, Terraform providers) expect of `/api/v1`
 * (issue 24, item 5), in workerd with real D1: a stable id with lookup by name; an idempotent
 * create-or-update (`PUT /zones/:name`) answering the stored object; 404 once a resource is gone; paged
 * lists; settings apart from computed fields; secrets written but never read back; 429 with `Retry-After`.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../index.ts";

const ADMIN = "test-admin-token";
const SECRET = "c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTEyMzQ1Ng==";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown, token = ADMIN) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await exports.default.fetch(`http://backstop.test/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const desired = {
  model: "secondary",
  primaries: [{ address: "192.0.2.1", port: 53 }],
  notifyAllow: ["198.51.100.0/24"],
  answerAllow: ["203.0.113.0/24"],
  minRefresh: 120,
  maxRecords: 10_000,
};

describe("PUT /zones/:name: idempotent create or update", () => {
  it("creates (201, secret once), then answers the same stored object for the same body, changing nothing", async () => {
    const created = await call("PUT", "/zones/iac.test", desired);
    expect(created.status).toBe(201);
    expect(created.json.webhookSecret).toBeTypeOf("string");
    expect(created.json.settings).toEqual({
      ...desired,
      tsigKey: null,
      transferAllow: [],
      alsoNotify: [],
      maxRefresh: 86_400,
      minRetry: 10,
      maxRetry: 3_600,
      minExpire: 3_600,
      maxExpire: 2_419_200,
      maxBytes: null,
    });
    const again = await call("PUT", "/zones/iac.test", desired);
    const third = await call("PUT", "/zones/IAC.test.", desired);
    const read = await call("GET", "/zones/iac.test");
    expect([again.status, third.status]).toEqual([200, 200]);
    expect(again.json.webhookSecret).toBeUndefined();
    expect(third.json).toEqual(again.json);
    expect(read.json).toEqual(again.json);
    // The same id all along, and the one the list shows.
    expect(again.json.id).toBe(created.json.id);
    const listed = await call("GET", "/zones?prefix=iac.test");
    expect(listed.json.zones.map((z: Json) => [z.name, z.id])).toEqual([["iac.test", created.json.id]]);
  });

  it("replaces the settings: what the body leaves out goes back to its default", async () => {
    await call("PUT", "/zones/iac-replace.test", desired);
    const replaced = await call("PUT", "/zones/iac-replace.test", { primaries: desired.primaries });
    expect(replaced.status).toBe(200);
    expect(replaced.json.settings).toMatchObject({ notifyAllow: [], answerAllow: [], minRefresh: 60, maxRecords: null });
    expect(replaced.json.refreshPending).toBe(true);
  });

  it("refuses a body naming another zone, naming the field", async () => {
    const res = await call("PUT", "/zones/iac-name.test", { ...desired, name: "other.test" });
    expect([res.status, res.json.error.field]).toEqual([400, "name"]);
    expect((await call("PUT", "/zones/iac-name.test", { ...desired, name: "IAC-name.test" })).status).toBe(201);
    expect((await call("PUT", "/zones/iac-bad.test", { ...desired, minRefresh: 0 })).json.error.field).toBe("minRefresh");
  });
});

describe("settings apart from computed fields", () => {
  it("`settings` is exactly what PUT takes: sending it back changes nothing", async () => {
    const first = await call("PUT", "/zones/iac-settings.test", desired);
    const roundTrip = await call("PUT", "/zones/iac-settings.test", first.json.settings);
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.json.settings).toEqual(first.json.settings);
    expect(roundTrip.json.updatedAt).toBe(first.json.updatedAt);
    for (const computed of ["status", "serial", "lastTransfer", "nextRefresh", "recordCount"]) expect(first.json.settings).not.toHaveProperty(computed);
  });
});

describe("404 once a resource is gone", () => {
  it("zones, TSIG keys and tokens", async () => {
    await call("PUT", "/zones/iac-gone.test", desired);
    expect((await call("POST", "/tsig-keys", { name: "iac-gone-key", algorithm: "hmac-sha256", secret: SECRET })).status).toBe(201);
    expect((await call("POST", "/tokens", { name: "iac-gone-token", scopes: ["read"] })).status).toBe(201);
    for (const path of ["/zones/iac-gone.test", "/tsig-keys/iac-gone-key", "/tokens/iac-gone-token"]) {
      expect((await call("GET", path)).status, path).toBe(200);
      expect((await call("DELETE", path)).status, path).toBe(204);
      const read = await call("GET", path);
      const again = await call("DELETE", path);
      expect([read.status, read.json.error.code, again.status], path).toEqual([404, "not-found", 404]);
    }
  });
});

describe("paged lists and write-only secrets", () => {
  it("pages TSIG keys by name, and no page carries a secret", async () => {
    for (const n of ["iac-k1", "iac-k2", "iac-k3"]) await call("POST", "/tsig-keys", { name: n, algorithm: "hmac-sha256", secret: SECRET });
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { json: Json; text: string } = await call("GET", `/tsig-keys?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.text).not.toContain(SECRET);
      expect(res.json.keys.length).toBeLessThanOrEqual(1);
      names.push(...res.json.keys.map((k: Json) => k.name));
      cursor = res.json.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(names).toEqual(expect.arrayContaining(["iac-k1", "iac-k2", "iac-k3"]));
    expect(names).toEqual([...names].sort());
    expect((await call("GET", "/tsig-keys?cursor=garbage")).json.error.field).toBe("cursor");
  });
});

describe("429 with Retry-After", () => {
  /**
   * The counting is Cloudflare's Rate Limiting binding, which the test pool does not configure; this stand-in
   * has its interface (`limit({key})` → `{success}`) and a budget of `allowed` requests per key, so what is
   * tested is this API's side: the key per principal, the 429 in the error shape, `Retry-After`.
   */
  function limiter(allowed: number) {
    const used = new Map<string, number>();
    return {
      keys: used,
      async limit({ key }: { key: string }) {
        used.set(key, (used.get(key) ?? 0) + 1);
        return { success: used.get(key)! <= allowed };
      },
    };
  }

  it("answers 429 and Retry-After once a principal's budget is spent, each principal on its own budget", async () => {
    const created = await call("POST", "/tokens", { name: "iac-limited", scopes: ["read"] });
    const token = created.json.token as string;
    const rl = limiter(2);
    const bindings = { ...env, API_RATE_LIMITER: rl, API_RATE_LIMIT_PERIOD: "10" };
    const get = (t: string) => app.request("/api/v1/zones?limit=1", { headers: { authorization: `Bearer ${t}` } }, bindings);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(token)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await get(token);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(((await refused.json()) as Json).error.code).toBe("rate-limited");
    // The admin has its own budget.
    expect((await get(ADMIN)).status).toBe(200);
    expect([...rl.keys.keys()].sort()).toEqual(["admin", "token:iac-limited"]);
  });
});
