/**
 * @module The request bodies of `/api/v1`, as zod schemas: the single definition the handlers validate
 * with and the OpenAPI document will be generated from. Objects are strict: an unknown field is a 400
 * naming it, so a typo in a script never passes silently.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { OUTBOUND_RULE, outboundAddressProblem } from "../../contract/outbound-address.ts";
import { SERIAL_POLICIES, TSIG_ALGORITHMS, ZONE_MODELS, ZONE_STATUSES } from "../../contract/vocabulary.ts";
import { zones } from "../db/schema.ts";
import { dnsName } from "../http/dns-name/index.ts";

/** A literal address in the usual forms only: dotted-quad IPv4 (no `0x1`, no `1.2.3`) or IPv6. */
function isAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || (ipaddr.IPv6.isValid(text) && !text.includes("%"));
}

function isPrefix(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const address = text.slice(0, slash), bits = text.slice(slash + 1);
  if (!isAddress(address) || !/^\d{1,3}$/.test(bits)) return false;
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

export const ipAddress = z.string().refine(isAddress, "must be an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
export const cidrPrefix = z
  .string()
  .refine(isPrefix, "must be a CIDR prefix (like 198.51.100.0/24 or 2001:db8::/32)");
export const addressOrPrefix = z
  .string()
  .refine((t) => isAddress(t) || isPrefix(t), "must be an IPv4/IPv6 address or a CIDR prefix");

/**
 * An address Backstop sends to (a primary): an address, and one `contract/outbound-address.ts` allows (no
 * unspecified, broadcast, multicast, link-local or cloud metadata address). The service applies the same
 * rule before it sends, to rows written before this check.
 */
export const outboundAddress = ipAddress.superRefine((text, ctx) => {
  if (!isAddress(text)) return;
  const problem = outboundAddressProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${problem}. ${OUTBOUND_RULE}` });
});

/** A TSIG secret in base64 (RFC 4648 §4), 1 to 512 octets once decoded. */
export const base64Secret = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, "must be base64 (RFC 4648)")
  .refine((s) => s.length > 0 && s.length <= 684, "must decode to 1 to 512 octets");

export const TsigKeyCreate = z.strictObject({
  name: dnsName,
  algorithm: z.enum(TSIG_ALGORITHMS),
  secret: base64Secret,
});

const port = z.number().int().min(1, "must be 1 to 65535").max(65535, "must be 1 to 65535");
/** A timer clamp in seconds: up to 4 weeks, as BIND caps them. */
const seconds = z.number().int().min(1).max(2_419_200);

export const PrimaryInput = z.strictObject({
  address: outboundAddress,
  port: port.default(53),
  tsigKey: dnsName.optional(),
});

export const TransferAllowInput = z.strictObject({
  address: addressOrPrefix,
  tsigKey: dnsName.optional(),
});

/** A downstream to NOTIFY after every commit: an address Backstop may send to (as a primary's), port 53 by default. */
export const AlsoNotifyInput = z.strictObject({
  address: outboundAddress,
  port: port.default(53),
  tsigKey: dnsName.optional(),
});

const zoneFields = {
  model: z.enum(ZONE_MODELS),
  primaries: z.array(PrimaryInput).max(16),
  tsigKey: dnsName.nullable(),
  notifyAllow: z.array(cidrPrefix).max(64),
  transferAllow: z.array(TransferAllowInput).max(64),
  alsoNotify: z.array(AlsoNotifyInput).max(64),
  answerAllow: z.array(addressOrPrefix).max(256),
  minRefresh: seconds,
  maxRefresh: seconds,
  minRetry: seconds,
  maxRetry: seconds,
  minExpire: seconds,
  maxExpire: seconds,
};

/** A secondary or hidden zone needs a primary to transfer from. */
function needsPrimaries(zone: { model?: string | undefined; primaries?: unknown[] | undefined }, ctx: z.RefinementCtx): void {
  if ((zone.model === "secondary" || zone.model === "hidden") && zone.primaries !== undefined && zone.primaries.length === 0) {
    ctx.addIssue({ code: "custom", path: ["primaries"], message: `a ${zone.model} zone needs at least one primary` });
  }
}

/** The operator's bounds on the SOA timers (BIND's min-/max-refresh-time and friends), all optional. */
const timerClampFields = {
  minRefresh: seconds.optional(),
  maxRefresh: seconds.optional(),
  minRetry: seconds.optional(),
  maxRetry: seconds.optional(),
  minExpire: seconds.optional(),
  maxExpire: seconds.optional(),
};

/** Each SOA timer's clamps, min first: a min above its max leaves the timer no value to take. */
export const CLAMP_PAIRS = [
  ["minRefresh", "maxRefresh"],
  ["minRetry", "maxRetry"],
  ["minExpire", "maxExpire"],
] as const;
export type ClampField = (typeof CLAMP_PAIRS)[number][number];
export type TimerClamps = Record<ClampField, number>;

/** The clamps a new zone gets for those its body leaves out: the column defaults of `db/schema.ts`. */
export const DEFAULT_CLAMPS: TimerClamps = Object.fromEntries(
  CLAMP_PAIRS.flat().map((field) => {
    const value = zones[field].default;
    if (typeof value !== "number") throw new Error(`zones.${field} has no numeric default`);
    return [field, value];
  }),
) as TimerClamps;

/**
 * The first clamp pair whose min is above its max once the clamps a body gives are laid over `base` (the
 * defaults for a new zone, the stored values for a PATCH). The field named is one the body gave: the min when
 * it gave both or only the min, else the max. `baseIs` says what the base values are, in words.
 */
export function clampIssue(given: Partial<TimerClamps>, base: TimerClamps, baseIs: string): { field: ClampField; message: string } | undefined {
  for (const [minField, maxField] of CLAMP_PAIRS) {
    // A pair the body leaves alone is not its to answer for (a row stored before this check may hold one).
    if (given[minField] === undefined && given[maxField] === undefined) continue;
    const min = given[minField] ?? base[minField];
    const max = given[maxField] ?? base[maxField];
    if (min <= max) continue;
    const field = given[minField] !== undefined ? minField : maxField;
    const other = field === minField ? maxField : minField;
    const otherValue = field === minField ? max : min;
    const from = given[other] === undefined ? `, ${baseIs}` : "";
    const relation = field === minField ? "greater" : "less";
    return { field, message: `${given[field]} is ${relation} than ${other} (${otherValue}${from}); ${minField} must not exceed ${maxField}` };
  }
  return undefined;
}

/**
 * Per-zone transfer limits (issue 20): records and octets of one transfer. Null (or absent at creation)
 * means the service's defaults, BACKSTOP_XFR_MAX_RECORDS / BACKSTOP_XFR_MAX_BYTES.
 */
const transferLimitFields = {
  maxRecords: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
  maxBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
};

// --- Primary zones (issue 22): the create fields of `model: "primary"`, and the RRset API's bodies. ---

/** A TTL in seconds (RFC 2181 §8: 0 to 2^31 - 1). */
export const ttlSeconds = z.number().int().min(0).max(2_147_483_647);

/** The SOA a new primary zone starts with; its serial is the serial policy's. Names relative to the zone or absolute. */
export const SoaInput = z.strictObject({
  mname: z.string().min(1).max(255),
  rname: z.string().min(1).max(255),
  refresh: ttlSeconds.default(3600),
  retry: ttlSeconds.default(900),
  expire: ttlSeconds.default(1_209_600),
  minimum: ttlSeconds.default(300),
  ttl: ttlSeconds.default(3600),
});
export type SoaInput = z.infer<typeof SoaInput>;

/** Who may send RFC 2136 UPDATE: an address or prefix, and the TSIG key it must sign with (required). */
export const UpdateAllowInput = z.strictObject({
  address: addressOrPrefix,
  tsigKey: dnsName,
});

/**
 * Issue 22 item 5: a primary zone that follows a Cloudflare zone by polling its DNS records export. The token
 * needs DNS Read on that zone; it is stored sealed and never shown again. `pollSeconds`: 60 (the cron's
 * minute) to 86,400, 300 by default.
 */
export const CloudflareSourceInput = z.strictObject({
  kind: z.literal("cloudflare"),
  zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be Cloudflare's zone id: 32 lowercase hex digits"),
  apiToken: z.string().min(1).max(1024).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  pollSeconds: z.number().int().min(60).max(86_400).default(300),
});
export type CloudflareSourceInput = z.infer<typeof CloudflareSourceInput>;

const primaryFields = {
  serialPolicy: z.enum(SERIAL_POLICIES),
  updateAllow: z.array(UpdateAllowInput).max(64),
};

/** Only a primary zone takes `soa` and `nameservers` (both or neither), and it has no primaries. */
function primaryOnly(
  zone: { model?: string | undefined; soa?: unknown; nameservers?: unknown; source?: unknown; primaries?: unknown[] | undefined },
  ctx: z.RefinementCtx,
): void {
  for (const field of ["soa", "nameservers", "source"] as const) {
    if (zone[field] !== undefined && zone.model !== "primary") {
      ctx.addIssue({ code: "custom", path: [field], message: `only a primary zone (model "primary") takes ${field}` });
    }
  }
  if (zone.model !== "primary") return;
  if ((zone.soa === undefined) !== (zone.nameservers === undefined)) {
    const missing = zone.soa === undefined ? "soa" : "nameservers";
    ctx.addIssue({ code: "custom", path: [missing], message: 'a primary zone is created with both "soa" and "nameservers", or with neither (then import a zone file)' });
  }
  if (zone.primaries !== undefined && zone.primaries.length > 0) {
    ctx.addIssue({ code: "custom", path: ["primaries"], message: "a primary zone has no primaries: its records are edited here" });
  }
}

/** `PUT /api/v1/zones/:name/rrsets/:owner/:type`. */
export const RrsetPut = z.strictObject({
  ttl: ttlSeconds,
  records: z.array(z.string().min(1).max(65_535)).min(1, "must hold at least one record (DELETE removes an RRset)").max(1000),
});

/** One change of `PATCH /api/v1/zones/:name/rrsets`: a replacement (ttl and records) or a deletion. */
export const RrsetChange = z.strictObject({
  owner: z.string().min(1).max(1024),
  type: z.string().min(1).max(16),
  changetype: z.enum(["replace", "delete"]).default("replace"),
  ttl: ttlSeconds.optional(),
  records: z.array(z.string().min(1).max(65_535)).min(1).max(1000).optional(),
});
export const RrsetPatch = z
  .strictObject({ rrsets: z.array(RrsetChange).min(1).max(1000) })
  .superRefine((body, ctx) => {
    body.rrsets.forEach((r, i) => {
      if (r.changetype === "replace" && (r.ttl === undefined || r.records === undefined)) {
        ctx.addIssue({ code: "custom", path: ["rrsets", i, r.ttl === undefined ? "ttl" : "records"], message: 'a "replace" needs ttl and records' });
      }
      if (r.changetype === "delete" && (r.ttl !== undefined || r.records !== undefined)) {
        ctx.addIssue({ code: "custom", path: ["rrsets", i, "records"], message: 'a "delete" takes no ttl nor records' });
      }
    });
  });

/** `GET /api/v1/zones/:name/rrsets`: a page (`limit` 100, at most 1,000) after `cursor`. */
export const RrsetListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(1024).optional(),
});

/** `POST /api/v1/zones/:name/import?dryRun=true`. */
export const ImportQuery = z.strictObject({
  dryRun: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
});

// --- end of the primary-zone block ---

/**
 * A catalog's group template (RFC 9432 §4.4.2): settings that replace the catalog's for the members whose
 * group property names it (`store/catalog.ts`).
 */
const CatalogTemplateInput = z.strictObject({
  model: z.enum(["secondary", "hidden"]).optional(),
  primaries: zoneFields.primaries.min(1).optional(),
  tsigKey: zoneFields.tsigKey.optional(),
  notifyAllow: zoneFields.notifyAllow.optional(),
  transferAllow: zoneFields.transferAllow.optional(),
});
const catalogGroups = z
  .record(z.string().min(1).max(255), CatalogTemplateInput)
  .refine((groups) => Object.keys(groups).length <= 256, "at most 256 groups");

/** A catalog zone (RFC 9432) is transferred like any secondary or hidden zone; a primary zone cannot be one. */
function catalogNeedsTransfer(zone: { model?: string | undefined; catalog?: boolean | undefined }, ctx: z.RefinementCtx): void {
  if (zone.catalog && zone.model === "primary") {
    ctx.addIssue({ code: "custom", path: ["catalog"], message: "a catalog zone is consumed from a primary: its model must be secondary or hidden" });
  }
}

/** A zone's settings as a new zone takes them, each with its default (`POST /zones`, `PUT /zones/:name`). */
const zoneSettingFields = {
  model: zoneFields.model.default("secondary"),
  primaries: zoneFields.primaries.default([]),
  tsigKey: zoneFields.tsigKey.optional(),
  notifyAllow: zoneFields.notifyAllow.default([]),
  transferAllow: zoneFields.transferAllow.default([]),
  alsoNotify: zoneFields.alsoNotify.default([]),
  answerAllow: zoneFields.answerAllow.default([]),
  ...timerClampFields,
  ...transferLimitFields,
};

function clampsWithinDefaults(zone: Partial<TimerClamps>, ctx: z.RefinementCtx): void {
  const issue = clampIssue(zone, DEFAULT_CLAMPS, "the default");
  if (issue) ctx.addIssue({ code: "custom", path: [issue.field], message: issue.message });
}

export const ZoneCreate = z
  .strictObject({
    name: dnsName,
    ...zoneSettingFields,
    /** Issue 19: this zone is a catalog (RFC 9432); its members are provisioned from it. Set at creation only. */
    catalog: z.boolean().default(false),
    catalogGroups: catalogGroups.default({}),
    // Issue 22: a primary zone's starting SOA and apex NS, its serial policy and UPDATE allow-list.
    soa: SoaInput.optional(),
    nameservers: z.array(z.string().min(1).max(255)).min(1).max(64).optional(),
    serialPolicy: primaryFields.serialPolicy.default("increment"),
    updateAllow: primaryFields.updateAllow.default([]),
    source: CloudflareSourceInput.optional(), // issue 22 item 5
  })
  .superRefine(needsPrimaries)
  .superRefine(primaryOnly)
  .superRefine(catalogNeedsTransfer)
  .superRefine(clampsWithinDefaults);
export type ZoneCreate = z.infer<typeof ZoneCreate>;

/**
 * `PUT /api/v1/zones/:name` (issue 24, for infrastructure-as-code tools): the zone's whole settings, each
 * absent one at its default, as `POST /zones` takes them; `name`, if given, must be the path's.
 */
export const ZonePut = z
  .strictObject({ name: dnsName.optional(), ...zoneSettingFields })
  .superRefine(needsPrimaries)
  .superRefine(clampsWithinDefaults);
export type ZonePut = z.infer<typeof ZonePut>;

export const ZonePatch = z
  .strictObject({
    model: zoneFields.model.optional(),
    primaries: zoneFields.primaries.optional(),
    tsigKey: zoneFields.tsigKey.optional(),
    notifyAllow: zoneFields.notifyAllow.optional(),
    transferAllow: zoneFields.transferAllow.optional(),
    alsoNotify: zoneFields.alsoNotify.optional(),
    answerAllow: zoneFields.answerAllow.optional(),
    ...timerClampFields,
    ...transferLimitFields,
    catalogGroups: catalogGroups.optional(),
    /**
     * Issue 19: `false` ends a catalog (its members are deleted, as BIND and Knot do: `db/queries/zones.ts`
     * `endCatalog`); `true` only keeps one (a zone becomes a catalog at creation).
     */
    catalog: z.boolean().optional(),
    /** Only `null`: detaches a catalog member, which then keeps its data and settings as an ordinary zone. */
    memberOf: z.null().optional(),
    serialPolicy: primaryFields.serialPolicy.optional(),
    updateAllow: primaryFields.updateAllow.optional(),
    /** Issue 22 item 5: a Cloudflare source (a primary zone only), or null to stop following it. */
    source: CloudflareSourceInput.nullable().optional(),
  })
  .superRefine(needsPrimaries);
export type ZonePatch = z.infer<typeof ZonePatch>;

export const RefreshRequest = z
  .strictObject({
    force: z.literal("axfr").optional(),
    acceptLowerSerial: z.boolean().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.acceptLowerSerial && r.force !== "axfr") {
      ctx.addIssue({ code: "custom", path: ["acceptLowerSerial"], message: 'acceptLowerSerial needs "force": "axfr"' });
    }
  });

export const RecordsQuery = z.strictObject({
  name: dnsName.optional(),
  type: z
    .string()
    .regex(/^([A-Za-z][A-Za-z0-9-]*|TYPE\d{1,5})$/i, "must be a record type like A, AAAA, MX or TYPE65")
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export const TransfersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Zones a page of `GET /api/v1/zones` holds by default, and at most (issue 19). */
export const ZONE_PAGE_DEFAULT = 100;
export const ZONE_PAGE_MAX = 1000;

/** `GET /api/v1/zones`: a page, filtered; `cursor` is the `nextCursor` of the page before (opaque). */
export const ZoneListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(ZONE_PAGE_MAX).default(ZONE_PAGE_DEFAULT),
  cursor: z.string().min(1).max(1024).optional(),
  status: z.enum(ZONE_STATUSES).optional(),
  model: z.enum(ZONE_MODELS).optional(),
  prefix: z
    .string()
    .max(253)
    .transform((p) => p.toLowerCase())
    .refine((p) => /^[a-z0-9_.-]+$/.test(p), "must be the start of a zone name (letters, digits, '-', '_', '.')")
    .optional(),
  sort: z.enum(["name", "next-refresh"]).default("name"),
});
export type ZoneListQuery = z.infer<typeof ZoneListQuery>;

/** Items of one `POST /api/v1/zones/bulk` at most. */
export const BULK_MAX = 1000;

/**
 * `POST /api/v1/zones/bulk`: `{"create": [zone, …]}` or `{"delete": [name, …]}`. Items are validated one by
 * one by the handler (`ZoneCreate`, `dnsName`), so an error names the item's index and its own field.
 */
export const ZoneBulk = z
  .strictObject({
    create: z.array(z.unknown()).min(1).max(BULK_MAX).optional(),
    delete: z.array(z.unknown()).min(1).max(BULK_MAX).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.create === undefined) === (body.delete === undefined)) {
      ctx.addIssue({ code: "custom", path: ["create"], message: 'give either "create" or "delete", not both nor neither' });
    }
  });
