/**
 * @module The response bodies of `/api/v1`, as zod schemas (issue 24): what the OpenAPI document says each
 * route answers (`workers/api/openapi.ts`), and the types the `backstop` CLI (cli/) reads them as: one
 * definition for both ends, here because the Worker and the CLI may each import contract/ and not each other. The handlers build their bodies with the view functions (`workers/api/zone-view.ts`,
 * `tokens.ts`); `openapi.test.ts` parses real responses with these strict schemas, so a field added to a
 * view and not here (or the reverse) fails a test instead of drifting from the document.
 */
import { z } from "zod";
import { SERIAL_POLICIES, TOKEN_SCOPES, TRANSFER_DIRECTIONS, TRANSFER_KINDS, TRANSFER_RESULTS, TSIG_ALGORITHMS, ZONE_MODELS, ZONE_STATUSES } from "./vocabulary.ts";

const instant = z.iso.datetime().nullable();
const serial = z.number().int().min(0).max(0xffffffff).nullable();

/** `{ "error": { "code", "message", "field"? } }` (`http/errors`); a bulk item's error adds `index`. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: "machine-readable: invalid, not-found, forbidden, invalid-token, exists, rate-limited, …" }),
    message: z.string(),
    field: z.string().optional().meta({ description: "the offending field, dotted (primaries.0.address)" }),
    index: z.number().int().optional().meta({ description: "POST /zones/bulk: the item at fault" }),
  }),
});

const Primary = z.strictObject({ address: z.string(), port: z.number().int(), tsigKey: z.string().optional() });
const TransferAllow = z.strictObject({ address: z.string(), tsigKey: z.string().optional() });

/** Who a zone talks to and who may ask it: the same fields in its settings and in its view. */
const zoneAccess = {
  primaries: z.array(Primary),
  tsigKey: z.string().nullable(),
  notifyAllow: z.array(z.string()),
  transferAllow: z.array(TransferAllow),
  alsoNotify: z.array(Primary),
  answerAllow: z.array(z.string()),
};

/** Exactly what `PUT /zones/:name` takes (`zone-view.ts` `zoneSettings`). */
export const ZoneSettingsView = z.strictObject({
  model: z.enum(ZONE_MODELS),
  ...zoneAccess,
  minRefresh: z.number().int(),
  maxRefresh: z.number().int(),
  minRetry: z.number().int(),
  maxRetry: z.number().int(),
  minExpire: z.number().int(),
  maxExpire: z.number().int(),
  maxRecords: z.number().int().nullable(),
  maxBytes: z.number().int().nullable(),
});

export const TransferView = z.strictObject({
  at: instant,
  kind: z.enum(TRANSFER_KINDS),
  result: z.enum(TRANSFER_RESULTS),
  direction: z.enum(TRANSFER_DIRECTIONS),
  primary: z.string().nullable(),
  fromSerial: serial,
  toSerial: serial,
  records: z.number().int().nullable(),
  bytes: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  error: z.string().nullable(),
  actor: z.string().nullable().meta({ description: "who caused an incoming transfer: an API token's name, admin, webhook or service" }),
});

/** A Cloudflare source's poll in words (issue 22 item 5). */
export const SourcePollView = z.strictObject({
  at: instant,
  result: z.enum(["changed", "unchanged", "failed"]).meta({ description: "changed: one commit; unchanged: nothing to commit; failed: nothing changed, `error` says why" }),
  error: z.string().nullable(),
  added: z.number().int(),
  removed: z.number().int(),
  droppedProxied: z.number().int().meta({ description: "records proxied by Cloudflare (cf-proxied:true), which only Cloudflare can answer, left out" }),
  serial: serial.meta({ description: "the serial the poll's commit gave" }),
});
/** A primary zone's Cloudflare source, never its API token. */
const SourceView = z.strictObject({
  kind: z.literal("cloudflare"),
  zoneId: z.string(),
  pollSeconds: z.number().int(),
  nextPoll: instant,
  lastPoll: SourcePollView.nullable(),
});
/** `POST /zones/:name/refresh` of a zone with a Cloudflare source: polled now. */
export const SourcePolled = z.strictObject({ zone: z.string(), polled: z.literal(true), lastPoll: SourcePollView });

/** A zone: `id`, `name`, `settings`, and computed fields (the settings also flat, as older clients read them). */
export const ZoneView = z.strictObject({
  id: z.number().int().meta({ description: "stable for the zone's life; zones are looked up by name" }),
  name: z.string(),
  settings: ZoneSettingsView,
  model: z.enum(ZONE_MODELS),
  status: z.enum(ZONE_STATUSES),
  statusDetail: z.string(),
  serial,
  recordCount: z.number().int(),
  primarySerial: serial,
  lastCheck: instant,
  lastTransfer: z
    .strictObject({ kind: z.enum(TRANSFER_KINDS), result: z.enum(TRANSFER_RESULTS), error: z.string().nullable(), at: instant })
    .nullable(),
  expiresAt: instant,
  rrsigExpiresEarliest: instant,
  nextRefresh: instant,
  ...zoneAccess,
  timers: z.strictObject({
    refresh: z.number().int().nullable(),
    retry: z.number().int().nullable(),
    expire: z.number().int().nullable(),
    minimum: z.number().int().nullable(),
    minRefresh: z.number().int(),
    maxRefresh: z.number().int(),
    minRetry: z.number().int(),
    maxRetry: z.number().int(),
    minExpire: z.number().int(),
    maxExpire: z.number().int(),
  }),
  limits: z.strictObject({ maxRecords: z.number().int().nullable(), maxBytes: z.number().int().nullable() }),
  refreshPending: z.boolean(),
  // Catalog zones (RFC 9432, issue 19): a catalog's group templates and last reconciliation; a member's catalog.
  catalog: z.boolean().meta({ description: "this zone is a catalog: its members are provisioned from it" }),
  catalogGroups: z.record(z.string(), z.record(z.string(), z.unknown())).optional().meta({ description: "a catalog's group templates (RFC 9432 §4.4.2)" }),
  catalogReport: z
    .strictObject({
      at: z.number(),
      serial: serial,
      members: z.number().int(),
      created: z.number().int(),
      updated: z.number().int(),
      removed: z.number().int(),
      error: z.string().nullable(),
      problems: z.array(z.string()),
    })
    .nullable()
    .optional()
    .meta({ description: "a catalog's last reconciliation, in words" }),
  memberOf: z.string().nullable().meta({ description: "the catalog this zone is a member of; PATCH {memberOf: null} detaches it" }),
  // Primary zones (issue 22).
  serialPolicy: z.enum(SERIAL_POLICIES).meta({ description: "how each edit of a primary zone moves its serial" }),
  updateAllow: z.array(z.strictObject({ address: z.string(), tsigKey: z.string() })).meta({ description: "who may send RFC 2136 UPDATE (the key is required)" }),
  source: SourceView.nullable().meta({ description: "issue 22: the Cloudflare zone this primary zone follows by polling its export, and the last poll; null: none" }),
  createdAt: instant,
  updatedAt: instant,
});

/** The last verification of a zone in brief (issue 24, `POST /zones/:name/verify`); null before the first. */
const VerificationBrief = z
  .strictObject({
    at: instant,
    match: z.boolean(),
    servedSerial: serial,
    primarySerial: serial,
    missingTotal: z.number().int(),
    extraTotal: z.number().int(),
    converged: z.boolean(),
    error: z.string().nullable(),
  })
  .nullable();

/** One zone as `GET /zones/:name` and `PUT` show it: with the last transfer out to each downstream. */
export const ZoneDetail = ZoneView.extend({ transfersOut: z.array(TransferView), lastVerification: VerificationBrief.optional() });
/** A zone just created: its webhook secret, shown this once. */
export const ZoneCreated = ZoneView.extend({ transfersOut: z.array(TransferView).optional(), webhookSecret: z.string() });

const statusCounts = Object.fromEntries(ZONE_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof ZONE_STATUSES)[number], z.ZodNumber>;
const totals = z.strictObject({ total: z.number().int(), ...statusCounts });
export const ZonePage = z.strictObject({
  zones: z.array(ZoneView),
  nextCursor: z.string().nullable().meta({ description: "pass as `cursor` for the next page; null on the last" }),
  totals,
});

export const Accepted = z.strictObject({ accepted: z.literal(true), zone: z.string() });
export const WebhookSecret = z.strictObject({ zone: z.string(), webhookSecret: z.string() });
export const Transfers = z.strictObject({ zone: z.string(), transfers: z.array(TransferView) });
export const Records = z.strictObject({
  zone: z.string(),
  serial,
  records: z.array(z.strictObject({ name: z.string(), type: z.string(), class: z.string(), ttl: z.number().int(), data: z.string() })),
  truncated: z.boolean().optional(),
});
export const BulkResult = z.union([z.strictObject({ created: z.number().int() }), z.strictObject({ deleted: z.number().int() })]);

export const TsigKeyView = z.strictObject({ name: z.string(), algorithm: z.enum(TSIG_ALGORITHMS), createdAt: instant });
export const TsigKeyCreated = z.strictObject({ name: z.string(), algorithm: z.enum(TSIG_ALGORITHMS) });
export const TsigKeyPage = z.strictObject({ keys: z.array(TsigKeyView), nextCursor: z.string().nullable() });

export const TokenView = z.strictObject({
  id: z.number().int(),
  name: z.string(),
  scopes: z.array(z.enum(TOKEN_SCOPES)),
  zones: z.array(z.string()).nullable(),
  expiresAt: instant,
  createdAt: instant,
});
export const TokenCreated = TokenView.extend({ token: z.string().meta({ description: "the bearer token, shown this once; only its SHA-256 is kept" }) });
export const TokenPage = z.strictObject({ tokens: z.array(TokenView), nextCursor: z.string().nullable() });
