import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("/healthz", () => {
  it("answers 200 with a live D1 round trip", async () => {
    const res = await exports.default.fetch("http://backstop.test/healthz");
    expect(res.status).toBe(200);
    const body = await res.json<{ ok: boolean; d1Ms: number }>();
    expect(body.ok).toBe(true);
    expect(typeof body.d1Ms).toBe("number");
  });
});
