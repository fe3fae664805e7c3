/**
 * @module Reading zones a page at a time (`GET /api/v1/zones`, keyset cursors): `zone list`, `status` and
 * `verify --all` walk the pages with it.
 */
import type { Ctx } from "../context.ts";

/** A zone as `/api/v1` shows it (the fields the CLI reads). */
export interface ZoneView {
  name: string;
  model: string;
  status: string;
  statusDetail: string | null;
  serial: number | null;
  primarySerial: number | null;
  recordCount: number | null;
  lastCheck: string | null;
  lastTransfer: { kind: string; result: string; error: string | null; at: string | null } | null;
  expiresAt: string | null;
  nextRefresh: string | null;
  primaries: { address: string; port: number; tsigKey?: string }[];
  tsigKey: string | null;
  notifyAllow: string[];
  transferAllow: { address: string; tsigKey?: string }[];
  alsoNotify: { address: string; port: number; tsigKey?: string }[];
  answerAllow: string[];
  lastVerification?: { at: string | null; match: boolean; servedSerial: number | null; primarySerial: number | null; missingTotal: number; extraTotal: number; converged: boolean; error: string | null } | null;
  webhookSecret?: string;
}

export interface ZonePage {
  zones: ZoneView[];
  nextCursor: string | null;
  totals: Record<string, number>;
}

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
