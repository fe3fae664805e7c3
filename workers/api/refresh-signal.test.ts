/**
 * @module Refresh signals in real D1: a forced AXFR is never downgraded by a later plain request, and
 * the push goes to every control URL with the internal token, tolerating a dead one.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordRefreshRequest } from "../db/queries/refresh-signals.ts";
import { controlUrls, pushRefresh } from "./refresh-signal.ts";

describe("refresh signals", () => {
  it("keeps a pending forced AXFR (and acceptLowerSerial) when a plain refresh follows", async () => {
    const row = await env.DB.prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES ('sig.test', 'x') RETURNING id").first<{ id: number }>();
    const first = await recordRefreshRequest(env.DB, row!.id, { force: "axfr", acceptLowerSerial: true }, 1000);
    expect(first).toEqual({ zone: "sig.test", requestedAt: 1000, force: "axfr", acceptLowerSerial: true });
    const second = await recordRefreshRequest(env.DB, row!.id, {}, 2000);
    expect(second).toEqual({ zone: "sig.test", requestedAt: 2000, force: "axfr", acceptLowerSerial: true });
    // Once acknowledged (cleared), a plain request is plain again.
    await env.DB.prepare("UPDATE zones SET refresh_requested_at = NULL WHERE id = ?1").bind(row!.id).run();
    expect(await recordRefreshRequest(env.DB, row!.id, {}, 3000)).toEqual({ zone: "sig.test", requestedAt: 3000, force: null, acceptLowerSerial: false });
    expect(await recordRefreshRequest(env.DB, 999_999, {})).toBeNull();
  });

  it("pushes to every control URL with the internal token, and a failing one does not stop the others", async () => {
    const seen: { url: string; auth: string | null; body: string }[] = [];
    const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url.startsWith("http://dead")) throw new Error("connection refused");
      seen.push({ url, auth: new Headers(init?.headers).get("authorization"), body: String(init?.body) });
      return new Response("{}");
    }) as typeof fetch;
    const testEnv = { ...env, SERVICE_CONTROL_URLS: "http://a.test:9153/, http://dead.test:1 ,http://b.test:9153", INTERNAL_TOKEN: "tok" };
    expect(controlUrls(testEnv)).toEqual(["http://a.test:9153", "http://dead.test:1", "http://b.test:9153"]);
    await pushRefresh(testEnv, { zone: "sig.test", requestedAt: 5, force: null, acceptLowerSerial: false }, fetcher);
    expect(seen.map((s) => s.url)).toEqual(["http://a.test:9153/control/refresh", "http://b.test:9153/control/refresh"]);
    expect(seen.every((s) => s.auth === "Bearer tok")).toBe(true);
    expect(JSON.parse(seen[0]!.body)).toEqual({ zone: "sig.test", requestedAt: 5, force: null, acceptLowerSerial: false });
  });
});
