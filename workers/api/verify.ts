/**
 * @module `POST /api/v1/zones/:name/verify` (issue 24): is what Backstop serves what the primary holds? The
 * Worker cannot ask the primary (no TCP to port 53 from a Worker, and the primary's ACL allows the service's
 * address), so it asks the transfer-service: `POST /control/verify` (`contract/control.ts`) to each
 * `SERVICE_CONTROL_URLS` entry in turn until one answers, with the internal token. The service fetches the
 * primary's SOA and AXFR with the zone's TSIG key, compares them with the served version, and asks each
 * published nameserver for its serial (`transfer-service/zones/verify.ts`).
 *
 * The answer is the service's `VerifyResult`, validated, stored as the zone's last verification
 * (`zone_verifications`, shown as `lastVerification` by `GET /api/v1/zones/:name`) and returned.
 * 404: no such zone (or no service knows it yet); 409: nothing to compare with (no primaries);
 * 503: no service could be asked.
 */
import { Hono } from "hono";
import { CONTROL_VERIFY_PATH, VerifyResult, type ControlVerify } from "../../contract/control.ts";
import { storeVerification } from "../db/queries/verifications.ts";
import { zoneByName } from "../db/queries/zones.ts";
import { ApiError } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { adminAuth } from "./admin-auth.ts";
import { controlUrls } from "./refresh-signal.ts";
import { operation } from "./openapi.ts";

/** A verify reads the whole zone twice (served and the primary's AXFR): minutes for a large zone. */
const VERIFY_TIMEOUT_MS = 300_000;

export const verifyRoutes = new Hono<RouteEnv>();

verifyRoutes.post(
  "/:name/verify",
  adminAuth,
  operation({ summary: "Verify a zone: the primary's SOA and AXFR against the served version, and the published nameservers' serials", tag: 'zones', responses: [{ status: 200, description: 'the verification result (also kept as lastVerification)' }], errors: [404, 409] }),
  async (c) => {
  const name = nameFromPath(c.req.param("name"));
  const zone = await zoneByName(c.var.db, name);
  if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
  const urls = controlUrls(c.env);
  if (urls.length === 0) throw new ApiError(503, "no-service", "no transfer-service is configured (SERVICE_CONTROL_URLS) to run the verification");

  const body: ControlVerify = { zone: name };
  const failures: string[] = [];
  let notKnown = false;
  for (const base of urls) {
    let res: Response;
    try {
      res = await fetch(`${base}${CONTROL_VERIFY_PATH}`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.env.INTERNAL_TOKEN ?? ""}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
      });
    } catch (err) {
      failures.push(`${base}: ${(err as Error).message}`);
      continue;
    }
    const text = await res.text();
    if (res.status === 200) {
      const parsed = VerifyResult.safeParse(parseJson(text));
      if (!parsed.success) {
        failures.push(`${base}: an answer that is not a verification result`);
        continue;
      }
      const result = parsed.data;
      await storeVerification(c.var.db, {
        zoneId: zone.id,
        at: Date.parse(result.checkedAt),
        match: result.match,
        servedSerial: result.servedSerial,
        primarySerial: result.primarySerial,
        result: JSON.stringify(result),
      });
      return c.json(result, 200);
    }
    const message = errorMessage(text) ?? `HTTP ${res.status}`;
    if (res.status === 409) throw new ApiError(409, "cannot-verify", message);
    if (res.status === 404) notKnown = true;
    failures.push(`${base}: ${message}`);
  }
  if (notKnown && failures.length === urls.length) throw new ApiError(404, "not-found", `no transfer-service serves ${name} yet: ${failures.join("; ")}`);
  throw new ApiError(503, "service-unreachable", `no transfer-service could verify ${name}: ${failures.join("; ")}`);
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    return typeof body.error === "string" ? body.error : undefined;
  } catch {
    return undefined;
  }
}
