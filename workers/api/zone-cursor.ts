/**
 * @module The opaque cursor of `GET /api/v1/zones`: the last zone of a page as its sort key (keyset
 * pagination, `db/queries/zones.ts`), base64url of a small JSON object. Opaque to clients, so its shape
 * may change; a cursor that does not decode, or that was made for another sort, is a 400 naming `cursor`.
 */
import { z } from "zod";
import type { ZoneKeyset, ZoneSort } from "../db/queries/zones.ts";
import { ApiError } from "../http/errors/index.ts";

const CursorJson = z.strictObject({
  s: z.enum(["name", "next-refresh"]),
  n: z.string().min(1).max(253),
  r: z.number().int().nullable().optional(),
});

function toBase64Url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text))).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
}

/** The cursor after the zone `last` in `sort` order. */
export function encodeZoneCursor(sort: ZoneSort, last: { name: string; nextRefreshAt: number | null }): string {
  return toBase64Url(JSON.stringify(sort === "name" ? { s: sort, n: last.name } : { s: sort, n: last.name, r: last.nextRefreshAt }));
}

/** The keyset a cursor stands for. @throws ApiError 400 (`cursor`) for a cursor this API did not make for `sort`. */
export function decodeZoneCursor(cursor: string, sort: ZoneSort): ZoneKeyset {
  let parsed: z.infer<typeof CursorJson>;
  try {
    parsed = CursorJson.parse(JSON.parse(fromBase64Url(cursor)));
  } catch {
    throw new ApiError(400, "invalid", "cursor: not a cursor this API gave (pass nextCursor as it came)", "cursor");
  }
  if (parsed.s !== sort) {
    throw new ApiError(400, "invalid", `cursor: made for sort=${parsed.s}, not sort=${sort} (keep the sort while paging)`, "cursor");
  }
  return { name: parsed.n, nextRefreshAt: parsed.r ?? null };
}
