/**
 * @module The panel in workerd with real D1, through the Worker's own fetch: sign-in (wrong token, CSRF of
 * the sign-in form, the cookie's attributes, only the id's hash stored), an expired session, CSRF on every
 * POST, sign-out, the security headers (and that the panel's guards stay off the other routes), the keys
 * and zone pages, and `GET /api/v1/deployment`.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deploymentOf } from "../api/deployment.ts";
import type { Env } from "../env.d.ts";

const ADMIN = "test-admin-token";
const BASE = "http://127.0.0.1";

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  cookies: string[];
}

/** A browser's cookie jar, small: name=value pairs from Set-Cookie, sent back on the same origin. */
class Browser {
  jar = new Map<string, string>();
  constructor(readonly base = BASE) {}
  async go(method: string, path: string, form?: Record<string, string>): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (form) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await exports.default.fetch(`${this.base}${path}`, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: "manual" });
    // workerd has getSetCookie (its types here lack it).
    const cookies = (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
    for (const c of cookies) {
      const [pair] = c.split(";");
      const [name, value] = pair!.split("=");
      if (/Max-Age=0/i.test(c) || value === "") this.jar.delete(name!);
      else this.jar.set(name!, value!);
    }
    return { status: res.status, text: await res.text(), headers: res.headers, cookies };
  }
  csrfOf(page: string): string {
    return /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  }
  async signIn(token = ADMIN): Promise<Answer> {
    const login = await this.go("GET", "/login");
    return this.go("POST", "/login", { _csrf: this.csrfOf(login.text), token });
  }
}

describe("panel sign-in", () => {
  it("redirects to /login without a session, with the security headers", async () => {
    const res = await new Browser().go("GET", "/");
    expect([res.status, res.headers.get("location")]).toEqual([303, "/login"]);
    const login = await new Browser().go("GET", "/login");
    expect(login.status).toBe(200);
    expect(login.text).toMatch(/<input id="token" type="password" name="token"/);
    expect(login.headers.get("content-security-policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(login.headers.get("content-security-policy")).not.toMatch(/script-src|unsafe-inline/);
    expect(login.headers.get("x-frame-options")).toBe("DENY");
    expect(login.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("leaves the other routes as they were: no panel headers on /healthz or /api/v1", async () => {
    const health = await exports.default.fetch(`${BASE}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get("content-security-policy")).toBeNull();
    const api = await exports.default.fetch(`${BASE}/api/v1/zones`);
    expect([api.status, api.headers.get("content-security-policy")]).toEqual([401, null]);
  });

  it("refuses a wrong token (401, no session) and a sign-in form without its CSRF token (403)", async () => {
    const b = new Browser();
    const wrong = await b.signIn("not-the-admin-token");
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("not the admin token");
    expect(b.jar.has("backstop_session")).toBe(false);
    await b.go("GET", "/login");
    const forged = await b.go("POST", "/login", { token: ADMIN });
    expect(forged.status).toBe(403);
    expect(b.jar.has("backstop_session")).toBe(false);
  });

  it("starts a session: HttpOnly SameSite=Strict cookie (Secure except on plain-HTTP localhost), only its hash in D1", async () => {
    const b = new Browser();
    const res = await b.signIn();
    expect([res.status, res.headers.get("location")]).toEqual([303, "/"]);
    const cookie = res.cookies.find((c) => c.startsWith("backstop_session="))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    const id = b.jar.get("backstop_session")!;
    const rows = await env.DB.prepare("SELECT id_hash FROM panel_sessions").all<{ id_hash: string }>();
    expect(rows.results.map((r) => r.id_hash)).not.toContain(id);
    expect((await b.go("GET", "/")).text).toContain("<h1>Zones</h1>");

    const remote = new Browser("https://backstop.test");
    const onTls = await remote.signIn();
    expect(onTls.cookies.find((c) => c.startsWith("backstop_session="))).toMatch(/Secure/);
  });

  it("an expired session signs nobody in, and its row is deleted", async () => {
    const b = new Browser();
    await b.signIn();
    expect((await b.go("GET", "/")).status).toBe(200);
    await env.DB.prepare("UPDATE panel_sessions SET expires_at = ?1").bind(Date.now() - 1).run();
    const res = await b.go("GET", "/");
    expect([res.status, res.headers.get("location")]).toEqual([303, "/login"]);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM panel_sessions WHERE expires_at > ?1").bind(Date.now()).first<{ n: number }>())!.n).toBe(0);
  });

  it("refuses a POST without the session's CSRF token (403, nothing changed); sign-out ends the session", async () => {
    const b = new Browser();
    await b.signIn();
    const keys = await b.go("GET", "/keys");
    const csrf = b.csrfOf(keys.text);
    const without = await b.go("POST", "/keys/generate", { name: "csrf-test", algorithm: "hmac-sha256" });
    expect(without.status).toBe(403);
    const other = await b.go("POST", "/keys/generate", { _csrf: "x".repeat(43), name: "csrf-test", algorithm: "hmac-sha256" });
    expect(other.status).toBe(403);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM tsig_keys WHERE name = 'csrf-test'").first<{ n: number }>())!.n).toBe(0);
    const made = await b.go("POST", "/keys/generate", { _csrf: csrf, name: "csrf-test", algorithm: "hmac-sha256" });
    expect(made.status).toBe(200);
    expect(made.text).toContain("key &quot;csrf-test.&quot; {");

    const id = b.jar.get("backstop_session")!;
    const out = await b.go("POST", "/logout", { _csrf: csrf });
    expect([out.status, out.headers.get("location")]).toEqual([303, "/login?out=1"]);
    const stale = new Browser();
    stale.jar.set("backstop_session", id);
    expect((await stale.go("GET", "/")).status).toBe(303);
  });
});

describe("panel pages", () => {
  it("the zone page puts the last error in words with its cause; its buttons reach the API; the key page refuses to delete a used key, naming the zone", async () => {
    const b = new Browser();
    await b.signIn();
    const csrf = b.csrfOf((await b.go("GET", "/keys")).text);
    expect((await b.go("POST", "/keys", { _csrf: csrf, name: "pk", algorithm: "hmac-sha256", secret: "c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTEyMzQ1Ng==" })).status).toBe(200);
    const add = await b.go("POST", "/zones", { _csrf: csrf, name: "panel.test", address: "192.0.2.1", port: "53", key: "pk", model: "hidden", cloudflare: "yes", notifyAllow: "" });
    expect(add.status).toBe(200);
    expect(add.text).toContain("webhook secret");
    const zone = await env.DB.prepare("SELECT id, notify_allow FROM zones WHERE name = 'panel.test'").first<{ id: number; notify_allow: string }>();
    expect(JSON.parse(zone!.notify_allow)).toEqual(["104.30.167.163/32", "104.30.167.173/32", "2a09:bac0:1000:c47::/64"]);
    await env.DB.prepare("INSERT INTO transfer_log (zone_id, at, kind, result, error) VALUES (?1, ?2, 'axfr', 'failed', ?3)")
      .bind(zone!.id, Date.now(), '192.0.2.1:53 could not verify our TSIG signature with key "pk" (BADSIG): the shared secrets differ')
      .run();
    await env.DB.prepare("UPDATE zones SET status = 'failing', status_detail = 'the last transfer failed' WHERE id = ?1").bind(zone!.id).run();
    const page = await b.go("GET", "/zones/panel.test");
    expect(page.status).toBe(200);
    expect(page.text).toContain("(BADSIG): the shared secrets differ");
    expect(page.text).toMatch(/<tr class="cause-match" data-cause="tsig-secret">/);
    expect(page.text).toContain("Promote to live");

    // The buttons: refresh, force AXFR, accept a lower serial (only with its confirmation), webhook secret.
    const flags = () => env.DB.prepare("SELECT refresh_requested_at AS at, refresh_force AS force, refresh_accept_lower_serial AS lower FROM zones WHERE id = ?1").bind(zone!.id).first<{ at: number | null; force: string | null; lower: number }>();
    await env.DB.prepare("UPDATE zones SET refresh_requested_at = NULL WHERE id = ?1").bind(zone!.id).run();
    const refresh = await b.go("POST", "/zones/panel.test/refresh", { _csrf: csrf });
    expect([refresh.status, refresh.headers.get("location")]).toEqual([303, "/zones/panel.test?done=refresh"]);
    expect(await flags()).toMatchObject({ at: expect.any(Number), force: null, lower: 0 });
    await b.go("POST", "/zones/panel.test/force-axfr", { _csrf: csrf });
    expect(await flags()).toMatchObject({ force: "axfr", lower: 0 });
    expect((await b.go("POST", "/zones/panel.test/accept-lower-serial", { _csrf: csrf })).status).toBe(400);
    expect((await flags())!.lower).toBe(0);
    await b.go("POST", "/zones/panel.test/accept-lower-serial", { _csrf: csrf, confirm: "yes" });
    expect(await flags()).toMatchObject({ force: "axfr", lower: 1 });
    const hashBefore = await env.DB.prepare("SELECT webhook_secret_hash AS h FROM zones WHERE id = ?1").bind(zone!.id).first<{ h: string }>();
    const secretPage = await b.go("POST", "/zones/panel.test/webhook-secret", { _csrf: csrf });
    const secret = /shown this once \(only its hash is kept\):<\/p><pre>([A-Za-z0-9_-]{43})<\/pre>/.exec(secretPage.text)?.[1];
    expect(secret).toBeDefined();
    const notify = await exports.default.fetch(`${BASE}/api/v1/zones/panel.test/notify`, { method: "POST", headers: { authorization: `Bearer ${secret}` } });
    expect(notify.status).toBe(202);
    expect((await env.DB.prepare("SELECT webhook_secret_hash AS h FROM zones WHERE id = ?1").bind(zone!.id).first<{ h: string }>())!.h).not.toBe(hashBefore!.h);

    const refused = await b.go("POST", "/keys/pk/delete", { _csrf: csrf });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain("panel.test");
    const typo = await b.go("POST", "/zones/panel.test/delete", { _csrf: csrf, confirm: "panel.tset" });
    expect(typo.status).toBe(400);
    const gone = await b.go("POST", "/zones/panel.test/delete", { _csrf: csrf, confirm: "panel.test" });
    expect([gone.status, gone.headers.get("location")]).toEqual([303, "/?done=deleted"]);
    expect((await b.go("GET", "/zones/panel.test")).status).toBe(404);
  });
});

describe("the zone list and the add-zone step", () => {
  it("puts problems first, counts by status, shows how far behind the primary a zone is, and filters", async () => {
    const b = new Browser();
    await b.signIn();
    const now = Date.now();
    const rows: [string, string, number | null, number | null, number | null][] = [
      // name, status, serial, primary serial, expires at
      ["a-ok.list.test", "active", 10, 10, now + 86_400_000],
      ["b-behind.list.test", "active", 10, 13, now + 86_400_000],
      ["c-failing.list.test", "failing", 5, 5, now + 86_400_000],
      ["d-expired.list.test", "active", 5, 5, now - 1000],
    ];
    for (const [name, status, serial, primarySerial, expiresAt] of rows) {
      await env.DB.prepare(
        "INSERT INTO zones (name, model, status, status_detail, serial, primary_serial, expires_at, webhook_secret_hash) VALUES (?1, 'primary', ?2, 'set by the test', ?3, ?4, ?5, 'x')",
      ).bind(name, status, serial, primarySerial, expiresAt).run();
    }
    // The prefix is the name's beginning: none of these starts with "list.test".
    expect((await b.go("GET", "/?prefix=list.test")).text).toContain("No zone here yet");
    const list = (await b.go("GET", "/")).text;
    const attention = list.slice(list.indexOf('id="h-problems"'), list.indexOf('id="h-all"'));
    expect([...attention.matchAll(/<a href="\/zones\/([^"]+)">/g)].map((m) => m[1])).toEqual(["d-expired.list.test", "c-failing.list.test"]);
    expect(list).toContain("behind by 3");
    expect(list).toMatch(/<strong>1<\/strong><a href="\/\?status=expired">expired<\/a>/);
    const filtered = (await b.go("GET", "/?prefix=b-&status=active")).text;
    expect(filtered).not.toContain('id="h-problems"');
    expect([...filtered.matchAll(/<th scope="row"><a href="\/zones\/([^"]+)">/g)].map((m) => m[1])).toEqual(["b-behind.list.test"]);
    await env.DB.prepare("DELETE FROM zones WHERE name LIKE '%.list.test'").run();
  });

  it("generates the zone's TSIG key from the form, shown once in each syntax; a refused zone takes its new key away again", async () => {
    const b = new Browser();
    await b.signIn();
    const csrf = b.csrfOf((await b.go("GET", "/zones/new")).text);
    const form = { _csrf: csrf, name: "gen.test", address: "192.0.2.9", port: "53", key: "__generate", algorithm: "hmac-sha512", model: "secondary", notifyAllow: "" };
    const bad = await b.go("POST", "/zones", { ...form, address: "169.254.169.254" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("primaries.0.address");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM tsig_keys WHERE name = 'xfr-gen.test'").first<{ n: number }>())!.n).toBe(0);
    const made = await b.go("POST", "/zones", form);
    expect(made.status).toBe(200);
    for (const label of ["BIND (named.conf)", "Knot DNS (knot.conf)", "NSD (nsd.conf)", "Cloudflare (TSIG: name, secret, algo)"]) expect(made.text).toContain(label);
    const secret = /secret &quot;([A-Za-z0-9+/=]+)&quot;;/.exec(made.text)?.[1];
    expect(atob(secret!)).toHaveLength(64);
    const zone = await env.DB.prepare("SELECT primaries FROM zones WHERE name = 'gen.test'").first<{ primaries: string }>();
    expect(JSON.parse(zone!.primaries)).toEqual([{ address: "192.0.2.9", port: 53, tsigKey: "xfr-gen.test" }]);
    expect((await b.go("GET", "/keys")).text).not.toContain(secret!);
    await env.DB.prepare("DELETE FROM zones WHERE name = 'gen.test'").run();
  });

  it("step 1 warns while this deployment's nameservers and transfer addresses are unset, and offers Cloudflare's NOTIFY addresses", async () => {
    const b = new Browser();
    await b.signIn();
    const page = (await b.go("GET", "/zones/new")).text;
    expect(page).toContain("BACKSTOP_NAMESERVERS is not set");
    expect(page).toContain("BACKSTOP_TRANSFER_ADDRESSES is not set");
    expect(page).toContain("104.30.167.163/32, 104.30.167.173/32, 2a09:bac0:1000:c47::/64");
    expect(page).toContain("https://developers.cloudflare.com/dns/zone-setups/zone-transfers/access-control-lists/cloudflare-ip-addresses");
  });
});

describe("GET /api/v1/deployment", () => {
  it("warns while the two settings are unset", async () => {
    const res = await exports.default.fetch(`${BASE}/api/v1/deployment`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as { nameservers: string[]; transferAddresses: string[]; warnings: string[] };
    expect(res.status).toBe(200);
    expect(body.nameservers).toEqual([]);
    expect(body.warnings.join(" ")).toMatch(/BACKSTOP_NAMESERVERS is not set.*BACKSTOP_TRANSFER_ADDRESSES is not set/);
    expect((await exports.default.fetch(`${BASE}/api/v1/deployment`)).status).toBe(401);
  });

  it("reads and checks the two lists", () => {
    const d = deploymentOf({ BACKSTOP_NAMESERVERS: "NS1.Backstop.Example., ns2.backstop.example", BACKSTOP_TRANSFER_ADDRESSES: "203.0.113.7, 2001:db8::7, nope" } as Env);
    expect(d).toEqual({
      nameservers: ["ns1.backstop.example", "ns2.backstop.example"],
      transferAddresses: ["203.0.113.7", "2001:db8::7"],
      warnings: ['BACKSTOP_TRANSFER_ADDRESSES: "nope" is not an IPv4 or IPv6 address'],
    });
  });
});
