/**
 * @module The OpenAPI 3.1 document of `/api/v1` (issue 24), as the real Worker (`wrangler dev`, workerd)
 * serves it, checked by a real OpenAPI validator (`@seriousme/openapi-schema-validator`: the OpenAPI 3.1
 * JSON Schemas of the OAI, with ajv). In Node because the validator reads its schemas from disk and compiles
 * them to code, which workerd does not allow; route coverage and the response schemas are checked in
 * workerd (`workers/api/openapi.test.ts`).
 */
import { randomBytes } from "node:crypto";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";

let worker: WranglerDev | undefined;

beforeAll(async () => {
  worker = await startWranglerDev({ adminToken: `admin-${randomBytes(12).toString("hex")}`, internalToken: `internal-${randomBytes(12).toString("hex")}` });
}, 150_000);

afterAll(async () => {
  await worker?.stop();
});

describe("/api/v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await fetch(`${worker!.base}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(validator.version).toBe("3.1");
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // Not vacuous: the validator refuses a broken copy (a parameter in a place OpenAPI 3.1 has not).
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, { parameters: { in: string }[] }>> };
    broken.paths["/zones"]!.get!.parameters[0]!.in = "body";
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("has its Swagger UI page at /api/v1/docs", async () => {
    const res = await fetch(`${worker!.base}/api/v1/docs`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/api/v1/openapi.json");
  });
});
