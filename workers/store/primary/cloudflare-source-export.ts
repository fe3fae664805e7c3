/**
 * @module Reading Cloudflare's DNS records export (issue 22 item 5): the BIND-format file that
 * `GET /client/v4/zones/:zone_id/dns_records/export` answers, turned into the records Backstop should serve
 * beside Cloudflare in a dual-primary setup.
 *
 * What the file holds, from Cloudflare's documentation ("Import and export records", section "DNS record
 * attributes" and "Reserved cf- tags", developers.cloudflare.com/dns/manage-dns-records/how-to/import-and-export/):
 * - record comments and tags ride an RFC 1035 comment after the record: `; <comment> cf_tags=<tags>`, tags
 *   comma-separated, `name` or `name:value`, a value in double quotes when it holds `"`, `=`, `,` or `\`
 *   (then a JSON string); a comment that itself contains `cf_tags=` gets one more ` cf_tags=` at the end of
 *   the line, so the tags are what follows the LAST `cf_tags=`;
 * - "On export, proxied DNS records will present a tag `cf-proxied:true` while DNS-only records will have
 *   this tag set to `cf-proxied:false`" (e.g. `c.cloudflaredocs.com. 1 IN CNAME example.com. ;
 *   cf_tags=tag-without-value,cf-proxied:true`). A proxied record resolves to Cloudflare's own addresses on
 *   Cloudflare only; its rdata is the origin, which another provider must not publish. So it is left out here
 *   and counted.
 * - the file starts with Cloudflare's SOA and apex NS (its own nameservers). Public export files show the SOA
 *   owner without a trailing dot (`example.com\t3600\tIN\tSOA\t…`), which an RFC 1035 reader takes as relative
 *   to the origin; the line is left out before parsing. Backstop's primary zone keeps its own SOA (its serial
 *   policy) and its own apex NS set (the dual-primary recipe in the README: both sides publish the same set).
 * - a TTL of 1 means "automatic" in Cloudflare's API ("Setting to 1 means 'automatic'"); Backstop serves 300
 *   for it, not 1, as octoDNS's Cloudflare provider maps it (octodns/octodns#210: what Cloudflare answers for
 *   an automatic TTL).
 * NOT tested against the real API: the tests use a stand-in that serves the format as documented.
 */
import { RRType } from "../../../dns/constants.ts";
import type { Name } from "../../../dns/name.ts";
import { parseZoneText } from "../../../dns/zonefile/parser.ts";
import type { ZoneRecord } from "../../../dns/zonefile/parser.ts";
import { ZoneFileError } from "../../../dns/zonefile/zone-file-error.ts";

/** Cloudflare's "automatic" TTL in the export, and what Cloudflare answers for it. */
export const CLOUDFLARE_AUTO_TTL = 1;
export const AUTO_TTL_SECONDS = 300;

export interface CloudflareExport {
  /** The records to serve (apex SOA and NS, and proxied records, left out). */
  records: ZoneRecord[];
  /** Records tagged `cf-proxied:true`, left out. */
  droppedProxied: number;
}

/** A file that is not a zone file Backstop can read; the message says where. */
export class ExportUnreadable extends Error {
  override readonly name = "ExportUnreadable";
}

/** Splits a line into its record text and its comment (after the first `;` outside double quotes), or none. */
export function splitComment(line: string): { body: string; comment: string | undefined } {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (ch === ";" && !quoted) return { body: line.slice(0, i), comment: line.slice(i + 1) };
  }
  return { body: line, comment: undefined };
}

/** The `cf_tags` of a record comment, by name (a tag without value maps to ""). */
export function cfTags(comment: string | undefined): Map<string, string> {
  const tags = new Map<string, string>();
  if (comment === undefined) return tags;
  const at = comment.lastIndexOf("cf_tags=");
  if (at < 0) return tags;
  const text = comment.slice(at + "cf_tags=".length).trim();
  // Tags split on commas outside a quoted (JSON string) value.
  let i = 0;
  while (i < text.length) {
    let name = "";
    while (i < text.length && text[i] !== ":" && text[i] !== ",") name += text[i++];
    let value = "";
    if (text[i] === ":") {
      i++;
      if (text[i] === '"') {
        let end = i + 1;
        while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
        const quoted = text.slice(i, end + 1);
        try {
          value = JSON.parse(quoted) as string;
        } catch {
          value = quoted.slice(1, -1);
        }
        i = end + 1;
      } else {
        while (i < text.length && text[i] !== ",") value += text[i++];
      }
    }
    while (i < text.length && text[i] !== ",") i++;
    i++;
    if (name.trim() !== "") tags.set(name.trim(), value.trim());
  }
  return tags;
}

/** Whether the record text (comment removed) is an SOA record: its type among the first four fields. */
function isSoaLine(body: string): boolean {
  const fields = body.trim().split(/\s+/).slice(0, 4);
  return fields.some((f) => f.toUpperCase() === "SOA");
}

/** Parentheses opened minus closed outside quotes (RFC 1035 §5.1 multi-line records). */
function parenDepth(body: string): number {
  let depth = 0, quoted = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "\\") i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
  }
  return depth;
}

/**
 * The export's records for Backstop: proxied records and the SOA dropped line by line (blank lines keep the
 * line numbers of errors true), then parsed with the zone as origin, the apex NS dropped, TTL 1 served as 300.
 * @throws ExportUnreadable for a file the zone-file reader refuses, or a record outside the zone.
 */
export function readCloudflareExport(text: string, apex: Name): CloudflareExport {
  const lines = text.split(/\r?\n/);
  let droppedProxied = 0;
  // Inside a dropped record's parentheses: the lines that continue it are dropped too.
  let dropping = 0;
  for (let n = 0; n < lines.length; n++) {
    const { body, comment } = splitComment(lines[n]!);
    if (dropping > 0) {
      dropping += parenDepth(body);
      lines[n] = "";
      continue;
    }
    if (body.trim() === "" || body.trimStart().startsWith("$")) continue;
    const proxied = cfTags(comment).get("cf-proxied") === "true";
    if (proxied || isSoaLine(body)) {
      if (proxied) droppedProxied++;
      dropping = Math.max(0, parenDepth(body));
      lines[n] = "";
    }
  }
  let parsed: ZoneRecord[];
  try {
    parsed = parseZoneText(lines.join("\n"), { origin: apex, file: "export" });
  } catch (err) {
    if (err instanceof ZoneFileError) throw new ExportUnreadable(`line ${err.line}, column ${err.column}: ${err.detail}`);
    throw err;
  }
  const records: ZoneRecord[] = [];
  for (const r of parsed) {
    if (!r.name.isSubdomainOf(apex)) throw new ExportUnreadable(`${r.name} is not in the zone ${apex}`);
    // Cloudflare's own apex NS set: Backstop's zone keeps its own (the recipe: both sides publish the same set).
    if (r.type === RRType.NS && r.name.equals(apex)) continue;
    records.push(r.ttl === CLOUDFLARE_AUTO_TTL ? { ...r, ttl: AUTO_TTL_SECONDS } : r);
  }
  return { records, droppedProxied };
}
