/**
 * @module `POST /internal/v1/zones/:zone/update` (issue 22): an RFC 2136 UPDATE whose sender the service has
 * already allowed (address in `updateAllow`, TSIG verified with the key that entry names). The prerequisites
 * and the updates run as one `editZone` planner (`store/primary/rfc2136.ts`) under the zone's lease: checked
 * and applied against one version, committed as one changeset and one serial step. The answer is the rcode
 * to send back and the committed version, which the service announces itself (cache drop, NOTIFY out).
 */
import type { Hono } from "hono";
import { Rcode } from "../../dns/constants.ts";
import { zoneByName } from "../db/queries/zones.ts";
import { ApiError, jsonBody } from "../http/errors/index.ts";
import { nameFromPath } from "../http/dns-name/index.ts";
import type { RouteEnv } from "../http/route-env.ts";
import { updatePlan } from "../store/primary/rfc2136.ts";
import { editZone, EditRefused } from "../store/primary/zone-edit.ts";
import { servedPointersChanged } from "../store/served-store.ts";
import { StoreError } from "../store/store-error.ts";
import { UpdateRequest, type UpdateResult } from "../../contract/internal-v1.ts";

const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

export function mountUpdate(api: Hono<RouteEnv>): void {
  api.post("/zones/:zone/update", async (c) => {
    const name = nameFromPath(c.req.param("zone"), "zone");
    const zone = await zoneByName(c.var.db, name);
    if (!zone) throw new ApiError(404, "not-found", `no zone named ${name}`);
    const body = await jsonBody(c, UpdateRequest);
    if (zone.model !== "primary") {
      return c.json<UpdateResult>({ rcode: Rcode.REFUSED, reason: `${zone.name} is a ${zone.model} zone, not edited here`, committed: null });
    }
    const rr = (r: UpdateRequest["updates"][number]) => ({ ...r, rdata: decode(r.rdata) });
    try {
      const outcome = await editZone(c.var.db, { id: zone.id, name: zone.name, serialPolicy: zone.serialPolicy }, updatePlan(body.prerequisites.map(rr), body.updates.map(rr)));
      if (outcome.committed) servedPointersChanged();
      const committed = outcome.committed ? { version: outcome.committed.version, serial: outcome.committed.serial } : null;
      return c.json<UpdateResult>({ rcode: outcome.result.rcode, ...(outcome.result.reason ? { reason: outcome.result.reason } : {}), committed });
    } catch (err) {
      // A zone rule the update would break (an RRSIG, an SOA below the apex): refused, nothing written.
      if (err instanceof EditRefused) return c.json<UpdateResult>({ rcode: Rcode.REFUSED, reason: err.message, committed: null });
      // Another edit held the zone past the wait: the client may try again.
      if (err instanceof StoreError && err.code === "conflict") return c.json<UpdateResult>({ rcode: Rcode.SERVFAIL, reason: err.message, committed: null });
      throw err;
    }
  });
}
