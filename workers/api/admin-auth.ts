/**
 * @module Who may use `/api/v1`: the operator's ADMIN_TOKEN on every route (`adminAuth`), and on the
 * NOTIFY webhook also the zone's own webhook secret (`webhookAuth`), which makes the caller a `webhook`
 * principal of that zone and nothing more. Both are the one bearer-auth middleware of `http/auth`.
 */
import { zoneByName } from "../db/queries/zones.ts";
import { adminOnly, bearerAuth } from "../http/auth/index.ts";
import type { Principal } from "../http/auth/index.ts";
import { secretMatchesHash } from "../http/auth/stored-secret.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";

/** ADMIN_TOKEN only. */
export const adminAuth = bearerAuth<RouteEnv>({ needs: "ADMIN_TOKEN", allow: adminOnly, asks: "admin token" });

/**
 * Compared with the presented token when the path names no zone: as long as a stored SHA-256 hex, and
 * never equal to one (`-` is no hex digit), so the compare runs in full and fails.
 */
const NO_ZONE_DIGEST = "-".repeat(64);

/**
 * `POST /zones/:name/notify`: the admin token, or the secret of the zone named in the path.
 *
 * A token that opens neither gets the same 403 and the same body whether or not the zone exists, as a
 * webhook provider hides what a caller may not see: a 404 to a wrong token told an outsider which zones
 * exist. 403 rather than 404 because the credential is what is wrong, and an operator who typed a secret
 * wrongly should not be told the zone is gone; 403 also matches every other route's wrong token. Only the
 * admin token learns that a zone does not exist (404, from the handler).
 *
 * Both paths do the same work: one indexed D1 read of the zone, then the presented token hashed and compared
 * in constant time with the zone's digest or with {@link NO_ZONE_DIGEST}. What is left is the D1 read
 * returning one row or none, a difference far below the round trip's own jitter.
 */
export const webhookAuth = bearerAuth<RouteEnv>({
  allow: adminOnly,
  ownCredential: async (token, c): Promise<Principal | null> => {
    const name = nameFromPath(c.req.param("name"));
    const zone = await zoneByName(c.var.db, name);
    const matches = await secretMatchesHash(token, zone?.webhookSecretHash ?? NO_ZONE_DIGEST);
    return zone && matches ? { kind: "webhook", zone: zone.name } : null;
  },
  asks: "admin token or the zone's webhook secret",
  refusal: "the token is neither the admin token nor this zone's webhook secret",
});
