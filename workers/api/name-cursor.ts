/**
 * @module Pages of the lists ordered by name (API tokens, TSIG keys; issue 24's "paginated lists"): `limit`
 * (100, at most 1,000) and the previous page's `nextCursor`, the same opaque keyset cursor as the zone list's
 * `sort=name` (`zone-cursor.ts`).
 */
import { z } from "zod";
import { decodeZoneCursor, encodeZoneCursor } from "./zone-cursor.ts";

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(1024).optional(),
});

/** The cursor after the item named `name`. */
export function encodeNameCursor(name: string): string {
  return encodeZoneCursor("name", { name, nextRefreshAt: null });
}

/** The name a cursor points after. @throws ApiError 400 (`cursor`) for a cursor this API did not make. */
export function decodeNameCursor(cursor: string): string {
  return decodeZoneCursor(cursor, "name").name;
}
