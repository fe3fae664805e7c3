/**
 * @module Zone and key names as users type them: with or without the trailing dot, any case, U-labels or
 * A-labels. Returned lowercase, without the trailing dot, in A-labels. U-labels go through UTS 46 (IDNA)
 * processing as WHATWG URL host parsing does it (`new URL("http://" + name).hostname`, the same in workerd
 * and Node), which also rejects malformed punycode. `nameFromPath` reads one from a route's path, where it
 * arrives percent-encoded.
 */
import { z } from "zod";
import { ApiError, validate } from "../errors/index.ts";

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** Characters that mean something else to a URL parser: refused before it sees them. */
const URL_SPECIAL = /[\s:/?#[\]@\\%]/;

/** The normalized name, or an error message saying what is wrong. */
export function normalizeDnsName(input: string): { name: string } | { error: string } {
  let text = input.trim();
  if (text.endsWith(".")) text = text.slice(0, -1);
  if (text === "") return { error: "a name is required (the root zone is not accepted)" };
  if (URL_SPECIAL.test(text)) return { error: `"${input}" contains characters that cannot be in a name` };
  const nonAscii = /[^\u0020-\u007e]/.test(text);
  if (nonAscii || /(^|\.)xn--/i.test(text)) {
    let host: string;
    try {
      host = new URL(`http://${text}`).hostname;
    } catch {
      return {
        error: nonAscii
          ? `"${input}" is not a valid internationalized name (UTS 46 conversion to A-labels failed)`
          : `"${input}" has an invalid A-label (punycode)`,
      };
    }
    text = host;
  }
  text = text.toLowerCase();
  if (text.length > 253) return { error: "a name is at most 253 characters" };
  for (const label of text.split(".")) {
    if (label === "") return { error: `"${input}" has an empty label` };
    if (label.length > 63) return { error: `label "${label}" is longer than 63 characters` };
    if (!LABEL.test(label)) {
      return { error: `label "${label}" may hold only letters, digits, hyphens and underscores, and not start or end with a hyphen` };
    }
  }
  return { name: text };
}

/** A zod schema for a DNS name input, normalized on success. */
export const dnsName = z.string().transform((value, ctx) => {
  const result = normalizeDnsName(value);
  if ("error" in result) {
    ctx.addIssue({ code: "custom", message: result.error });
    return z.NEVER;
  }
  return result.name;
});

/**
 * The name in a route's path segment (`/zones/:name`), normalized, or a 400 naming `field`. hono has already
 * decoded the segment once (its `param()` decodes percent-encoding and leaves a segment it cannot decode as
 * it came), so it is not decoded again: a second decode would turn `%2541` into `A`, and a malformed one
 * (`%E0%A4%A`) used to throw and answer 500. What still holds a `%` was either malformed or an encoded `%`,
 * which no name may hold.
 */
export function nameFromPath(segment: string | undefined, field = "name"): string {
  const raw = segment ?? "";
  if (raw.includes("%")) {
    throw new ApiError(400, "invalid", `${field}: the name in the path is not valid percent-encoded UTF-8 (RFC 3986 §2.1), or holds a "%"`, field);
  }
  return validate(dnsName, raw, field);
}
