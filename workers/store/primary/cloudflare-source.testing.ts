/**
 * @module A stand-in for Cloudflare's DNS records export, for tests only (issue 22 item 5). NOT TESTED
 * AGAINST THE REAL API: it serves what Cloudflare's documentation shows, and nothing here was compared with
 * a live answer.
 *
 * - `GET /client/v4/zones/:zone_id/dns_records/export` with `Authorization: Bearer <token>` answers the BIND
 *   file (API reference "Export DNS Records": "Exported BIND zone file"). Its layout is the one Cloudflare's
 *   export files have: a `;;` header, `;; SOA Record` (owner without its trailing dot, as public export files
 *   show it), `;; NS Records` (Cloudflare's nameservers), then `;; A Records`, `;; CNAME Records`, … with TTL 1
 *   for "automatic", and each proxiable record's comment carrying `cf_tags=cf-proxied:true|false`, after the
 *   record's own comment if it has one ("Import and export records", "DNS record attributes" and "Reserved
 *   cf- tags").
 * - errors are Cloudflare's v4 envelope, `{"result":null,"success":false,"errors":[{"code","message"}],
 *   "messages":[]}`: 401 for a token it does not know (code 1000, "Invalid API Token"), 403 for a token
 *   without permission (code 10000, "Authentication error"), 404 for a zone id it does not have (code 7003),
 *   429 with `Retry-After` (code 971), and 5xx. The codes are those commonly seen in Cloudflare's answers;
 *   a client must not depend on them, and Backstop only shows them.
 * Runtime-neutral (no Node API): the workerd tests call `standInAnswer` from a `fetch` stand-in, the Node
 * integration test from an `http` server on 127.0.0.1.
 */

/** One record as Cloudflare's dashboard holds it. */
export interface StandInRecord {
  /** Absolute, without the trailing dot (`www.example.com`). */
  name: string;
  type: string;
  /** 1: automatic. */
  ttl: number;
  /** Presentation-format rdata, names absolute with their trailing dot. */
  content: string;
  /** Only A, AAAA and CNAME are proxiable; undefined for the others (they carry no cf-proxied tag). */
  proxied?: boolean;
  comment?: string;
}

export interface StandInZone {
  zoneName: string;
  zoneId: string;
  /** The token it accepts; any other is a 401. */
  token: string;
  /** A token it knows that lacks DNS Read on the zone: a 403. */
  tokenWithoutPermission?: string;
  records: StandInRecord[];
  /** The SOA serial Cloudflare shows (it moves on its own; Backstop ignores it). */
  serial: number;
  /** Answer 429 with this Retry-After (seconds) until cleared. */
  rateLimitedFor?: number;
  /** Answer this 5xx until cleared. */
  failWith?: number;
  /** Answer this text instead of the export (a file that does not parse). */
  garbage?: string;
  /** Requests answered, by kind. */
  seen: { exports: number; authorizations: string[] };
}

export interface StandInAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const envelope = (code: number, message: string) => JSON.stringify({ result: null, success: false, errors: [{ code, message }], messages: [] });

/** The export file of `zone`, in Cloudflare's layout. */
export function exportFile(zone: StandInZone, exportedAt = new Date(0)): string {
  const z = zone.zoneName;
  const lines = [
    ";;",
    `;; Domain:     ${z}.`,
    `;; Exported:   ${exportedAt.toISOString().replace("T", " ").slice(0, 19)}`,
    ";;",
    ";; This file is intended for use for informational and archival",
    ";; purposes ONLY and MUST be edited before use on a production",
    ";; DNS server.  In particular, you must:",
    ";;   -- update the SOA record with the correct authoritative name server",
    ";;   -- update the SOA record with the contact e-mail address information",
    ";;   -- update the NS record(s) with the authoritative name servers for this domain.",
    ";;",
    ";; Use at your own risk.",
    ";; SOA Record",
    `${z}\t3600\tIN\tSOA\tada.ns.cloudflare.com. dns.cloudflare.com. ${zone.serial} 10000 2400 604800 3600`,
    "",
    ";; NS Records",
    `${z}.\t86400\tIN\tNS\tada.ns.cloudflare.com.`,
    `${z}.\t86400\tIN\tNS\tbob.ns.cloudflare.com.`,
  ];
  const types = [...new Set(zone.records.map((r) => r.type))].sort();
  for (const type of types) {
    lines.push("", `;; ${type} Records`);
    for (const r of zone.records.filter((x) => x.type === type)) {
      const tags = r.proxied === undefined ? "" : `cf_tags=cf-proxied:${r.proxied}`;
      const comment = [r.comment, tags].filter((x) => x).join(" ");
      lines.push(`${r.name}.\t${r.ttl}\tIN\t${r.type}\t${r.content}${comment ? ` ; ${comment}` : ""}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The stand-in's answer to one request. */
export function standInAnswer(zone: StandInZone, method: string, path: string, authorization: string | null): StandInAnswer {
  const json = (status: number, body: string, headers: Record<string, string> = {}) => ({ status, headers: { "content-type": "application/json", ...headers }, body });
  const route = /^\/client\/v4\/zones\/([^/]+)\/dns_records\/export$/.exec(path);
  if (method !== "GET" || !route) return json(404, envelope(7000, "No route for that URI"));
  zone.seen.authorizations.push(authorization ?? "");
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  if (token === zone.tokenWithoutPermission && token !== undefined) return json(403, envelope(10000, "Authentication error"));
  if (token !== zone.token) return json(401, envelope(1000, "Invalid API Token"));
  if (route[1] !== zone.zoneId) {
    return json(404, envelope(7003, `Could not route to /zones/${route[1]}/dns_records/export, perhaps your object identifier is invalid?`));
  }
  if (zone.rateLimitedFor !== undefined) {
    return json(429, envelope(971, "Please wait and consider throttling your request speed"), { "retry-after": String(zone.rateLimitedFor) });
  }
  if (zone.failWith !== undefined) return json(zone.failWith, envelope(10001, "service temporarily unavailable"));
  zone.seen.exports++;
  return { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: zone.garbage ?? exportFile(zone) };
}

/** A `fetch` stand-in (workerd tests): the request goes to `standInAnswer`, whatever its host. */
export function standInFetch(zone: StandInZone): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const answer = standInAnswer(zone, request.method, new URL(request.url).pathname, request.headers.get("authorization"));
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  }) as typeof fetch;
}
