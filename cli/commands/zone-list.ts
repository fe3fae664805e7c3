/**
 * @module Reading zones a page at a time (`GET /api/v1/zones`, keyset cursors): `zone list`, `status` and
 * `verify --all` walk the pages with it.
 */
import type { z } from "zod";
import type { ZoneDetail, ZonePage as ApiZonePage, ZoneView as ApiZoneView } from "../../contract/api-v1.ts";
import type { Ctx } from "../context.ts";

/**
 * A zone as `/api/v1` shows it: the API's own response schema (`contract/api-v1.ts`, which the Worker's
 * OpenAPI document and tests use too), so the CLI reads the fields the Worker writes. `webhookSecret` only
 * in the answer to a create.
 */
export type ZoneView = z.infer<typeof ApiZoneView> & Partial<Pick<z.infer<typeof ZoneDetail>, "lastVerification">> & { webhookSecret?: string };

export type ZonePage = z.infer<typeof ApiZonePage>;

export interface ZoneFilter {
  status?: string | undefined;
  model?: string | undefined;
  prefix?: string | undefined;
}

export function zonePage(ctx: Ctx, filter: ZoneFilter, limit: number, cursor?: string): Promise<ZonePage> {
  return ctx.api.json<ZonePage>("GET", "/zones", { query: { ...filter, limit, cursor } });
}

/** Every zone matching `filter`, page by page (1,000 a page, the API's maximum). */
export async function allZones(ctx: Ctx, filter: ZoneFilter): Promise<ZoneView[]> {
  const zones: ZoneView[] = [];
  let cursor: string | undefined;
  do {
    const page = await zonePage(ctx, filter, 1000, cursor);
    zones.push(...page.zones);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return zones;
}
