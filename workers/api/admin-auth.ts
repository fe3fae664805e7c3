/**
 * @module Who may use `/api/v1`: the operator's ADMIN_TOKEN on every route (`adminAuth`), and on the
 * NOTIFY webhook also the zone's own webhook secret (`webhookAuth`), which makes the caller a `webhook`
 * principal of that zone and nothing more. Both are the one bearer-auth middleware of `http/auth`.
 */
import { zoneByName } from "../db/queries/zones.ts";
import { adminOnly, bearerAuth } from "../http/auth/index.ts";
import type { Principal } from "../http/auth/index.ts";
import { secretMatchesHash } from "../http/auth/stored-secret.ts";
import { ApiError, validate } from "../http/errors/index.ts";
import { dnsName } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";

/** ADMIN_TOKEN only. */
export const adminAuth = bearerAuth<RouteEnv>({ needs: "ADMIN_TOKEN", allow: adminOnly, asks: "admin token" });

/**
 * `POST /zones/:name/notify`: the admin token, or the secret of the zone named in the path. A zone that does
 * not exist is a 404 whatever the token (once there is one).
 */
export const webhookAuth = bearerAuth<RouteEnv>({
  allow: adminOnly,
  ownCredential: async (token, c): Promise<Principal | null> => {
    const name = validate(dnsName, decodeURIComponent(c.req.param("name") ?? ""), "name");
    const zone = await zoneByName(c.var.db, name);
    if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
    return (await secretMatchesHash(token, zone.webhookSecretHash)) ? { kind: "webhook", zone: zone.name } : null;
  },
  asks: "admin token or the zone's webhook secret",
  refusal: "the token is neither the admin token nor this zone's webhook secret",
});
