/**
 * @module The contract of `/internal/v1`, the seam between the Worker and the transfer-service: every
 * request and response body as a zod schema, defined once here. zod only (no workerd or Node APIs), so
 * both sides import it. Every route needs `Authorization: Bearer <INTERNAL_TOKEN>`.
 *
 * Record data travels as a *record stream* (`record-stream.ts`): uncompressed wire-format RRs (RFC 1035
 * §4.1.3), concatenated, rdata names uncompressed too. Ingest chunks are sent raw
 * (`application/octet-stream`); inside JSON (changesets, journal) a record stream is base64. A full
 * transfer's chunks go as the blocks the service cut from them (issue 28: `answer/store/block-chunk.ts`,
 * the D1 block format framed with its tree; the Worker checks and binds them, 400 `bad-records` naming the
 * block at fault, nothing stored). The words
 * (models, statuses, transfer kinds and results, TSIG algorithms) are `vocabulary.ts`'s.
 *
 * Routes (`:zone` is the zone name, lowercase, no trailing dot):
 *
 * | method and path                                   | request               | response                 |
 * |---------------------------------------------------|-----------------------|--------------------------|
 * | GET  /zones                                       |                       | ZoneConfigList           |
 * | GET  /zones?since=S[&deletes=D][&limit=L]          |                       | ZoneConfigChanges        |
 * | GET  /zones/:zone                                 |                       | ZoneConfigList (one)     |
 * | POST /zones/:zone/lease                           | LeaseRequest          | Lease (409 when held)    |
 * | POST /zones/:zone/lease/renew                     | LeaseRequest          | Lease (409 when lost)    |
 * | POST /zones/:zone/lease/release                   | OwnerRequest          | ReleaseResult            |
 * | PUT  /zones/:zone/timers                          | TimersUpdate          | Ok                       |
 * | POST /zones/:zone/transfers                       | TransferLogEntry      | Created                  |
 * | GET  /signals                                     |                       | SignalList               |
 * | POST /zones/:zone/signal/ack                      | SignalAck             | AckResult                |
 * | POST /zones/:zone/ingest                          | OwnerRequest          | IngestBegun              |
 * | PUT  /zones/:zone/ingest/:version/chunks/:seq?owner=O | record stream     | ChunkAccepted            |
 * | PUT  /zones/:zone/ingest/:version/blocks/:seq?owner=O | chunk of blocks   | ChunkAccepted            |
 * | POST /zones/:zone/ingest/:version/commit          | CommitRequest         | CommitResult             |
 * | POST /zones/:zone/ingest/:version/abort           | OwnerRequest          | Ok                       |
 * | POST /zones/:zone/changesets                      | ChangesetRequest      | ChangesetResult          |
 * | POST /zones/:zone/changesets (with nodes, below)  | ChangesetNodesRequest + nodes | ChangesetResult  |
 * | GET  /zones/:zone/versions/:version/records       | (`current` or number) | record stream            |
 * | GET  /zones/:zone/journal?since=S                 |                       | Journal (404 journal-gap)|
 *
 * Errors everywhere: `ErrorBody` with 400, 401, 404, 409 or 413. Every response carries `x-d1-bookmark`
 * (`BOOKMARK_HEADER`); send the latest one back on the next request to read your own writes.
 */
import { z } from "zod";
import { REFRESH_FORCES, TRANSFER_DIRECTIONS, TRANSFER_KINDS, TRANSFER_RESULTS, TSIG_ALGORITHMS, ZONE_MODELS, ZONE_STATUSES } from "./vocabulary.ts";

export const INTERNAL_PREFIX = "/internal/v1";

/** Header carrying the new version's SOA serial on a record stream response. */
export const SERIAL_HEADER = "x-backstop-serial";
/**
 * Header carrying the version a record stream response holds (`GET …/versions/:version/records`, where
 * `:version` may be `current`). The same string as `ZONE_VERSIONS_HEADER` of `/dns-query` answers
 * (`forwarded-headers.ts`), by history: the two never meet on one response, and the wire stays as it was.
 */
export const RECORDS_VERSION_HEADER = "x-backstop-version";
/**
 * D1 read replication (Sessions API): every response carries the bookmark of the request's D1 session,
 * and a request that sends one back reads data at least that fresh (workers/api/d1-session.ts). The
 * service sends the latest it has seen, so what it committed is what it reads next.
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";

const uint32 = z.number().int().min(0).max(0xffffffff);
const millis = z.number().int().min(0);
/** A transfer-service instance's stable id (lease owner). */
const owner = z.string().min(1).max(200);
/** Standard base64 (RFC 4648 §4), possibly empty. */
export const base64 = z.string().regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, "must be base64");

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Ok = z.object({ ok: z.literal(true) });

/** A TSIG key with its secret in the clear: only ever sent to the transfer-service. */
export const TsigKeyMaterial = z.object({
  name: z.string(),
  algorithm: z.enum(TSIG_ALGORITHMS),
  secret: base64,
});
export type TsigKeyMaterial = z.infer<typeof TsigKeyMaterial>;

export const Primary = z.object({
  address: z.string(),
  port: z.number().int().min(1).max(65535),
  /** Name of a key in `ZoneConfigList.keys`. */
  tsigKey: z.string().optional(),
});

export const TransferAllow = z.object({ address: z.string(), tsigKey: z.string().optional() });

/** A downstream sent a NOTIFY after every commit (RFC 1996); `tsigKey` names a key in `ZoneConfigList.keys`. */
export const AlsoNotify = z.object({ address: z.string(), port: z.number().int().min(1).max(65535), tsigKey: z.string().optional() });

export const ZoneConfig = z.object({
  /** The zone row's id: a zone deleted and created again under its name is another id (`LeaseRequest`). */
  id: z.number().int().min(1).optional(),
  name: z.string(),
  model: z.enum(ZONE_MODELS),
  primaries: z.array(Primary),
  tsigKey: z.string().nullable(),
  notifyAllow: z.array(z.string()),
  transferAllow: z.array(TransferAllow),
  /** Absent from a Worker older than this field: nobody to notify. */
  alsoNotify: z.array(AlsoNotify).default([]),
  /**
   * Issue 27: the CIDR prefixes allowed to get answers (empty: everyone), so the port-53 front's replica runs
   * the answer engine with the same rule as the Worker. Absent from an older Worker: the replica leaves the
   * zone to the Worker.
   */
  answerAllow: z.array(z.string()).optional(),
  /** Issue 22: who may send RFC 2136 UPDATE to a primary zone, and the key each must sign with. */
  updateAllow: z.array(z.object({ address: z.string(), tsigKey: z.string() })).default([]),
  status: z.enum(ZONE_STATUSES),
  statusDetail: z.string(),
  currentVersion: z.number().int().nullable(),
  serial: uint32.nullable(),
  primarySerial: uint32.nullable(),
  recordCount: z.number().int(),
  expiresAt: millis.nullable(),
  /** The served version's earliest RRSIG expiration (issue 25's gauge); absent from an older Worker, null: unsigned. */
  rrsigExpiresAt: millis.nullable().optional(),
  lastCheckAt: millis.nullable(),
  nextRefreshAt: millis.nullable(),
  /** SOA timers as last seen (seconds), and the clamps to apply to them. */
  timers: z.object({
    refresh: uint32.nullable(),
    retry: uint32.nullable(),
    expire: uint32.nullable(),
    minimum: uint32.nullable(),
    minRefresh: uint32,
    maxRefresh: uint32,
    minRetry: uint32,
    maxRetry: uint32,
    minExpire: uint32,
    maxExpire: uint32,
  }),
  lease: z.object({ owner: z.string(), until: millis }).nullable(),
  /**
   * The zone's own transfer limits (records and octets of one transfer); null: the service's defaults
   * (BACKSTOP_XFR_MAX_RECORDS / BACKSTOP_XFR_MAX_BYTES).
   */
  limits: z.object({ maxRecords: z.number().int().min(1).nullable(), maxBytes: z.number().int().min(1).nullable() }),
  /** A pending refresh request (API or webhook NOTIFY), until acknowledged. */
  refresh: z
    .object({ requestedAt: millis, force: z.enum(REFRESH_FORCES).nullable(), acceptLowerSerial: z.boolean() })
    .nullable(),
});
export type ZoneConfig = z.infer<typeof ZoneConfig>;

export const ZoneConfigList = z.object({ zones: z.array(ZoneConfig), keys: z.array(TsigKeyMaterial) });
export type ZoneConfigList = z.infer<typeof ZoneConfigList>;

/** Largest page of the zone change feed (`limit`'s default and maximum). */
export const ZONE_FEED_MAX_PAGE = 1000;

/**
 * The zone change feed, the service's poll (issue 19): the zones written after cursor `since` (a change
 * of what the service reads: settings, serial and pointer, timers, refresh requests; not the lease or the
 * status words), in order, and the names deleted after cursor `deletes`.
 * Apply `deleted` before `zones`. Without `deletes` (a first read) nothing is reported deleted and
 * `cursor.deletes` starts at the end of the log. `more`: ask again at once with `cursor`. `resync`: the
 * deletion log no longer reaches back to `deletes`; read again from `since=0` without `deletes` and drop the
 * zones that read does not show.
 */
export const ZoneConfigChanges = z.object({
  zones: z.array(ZoneConfig),
  keys: z.array(TsigKeyMaterial),
  deleted: z.array(z.string()),
  cursor: z.object({ since: z.number().int().min(0), deletes: z.number().int().min(0) }),
  more: z.boolean(),
  resync: z.boolean(),
});
export type ZoneConfigChanges = z.infer<typeof ZoneConfigChanges>;

/** The query of a change-feed read: cursors as decimal integers. */
export const ZoneFeedQuery = z.object({
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  deletes: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(ZONE_FEED_MAX_PAGE).default(ZONE_FEED_MAX_PAGE),
});

export const OwnerRequest = z.object({ owner });
export type OwnerRequest = z.infer<typeof OwnerRequest>;

/**
 * `zoneId`: the zone row the asker's configuration came from. A zone deleted and created again under the same
 * name is another row: its lease is refused (404) to an attempt planned for the old one, so that attempt
 * cannot check the old primary and report into the new zone.
 */
export const LeaseRequest = z.object({ owner, ttlMs: z.number().int().min(1000).max(4 * 3600 * 1000), zoneId: z.number().int().min(1).optional() });
export type LeaseRequest = z.infer<typeof LeaseRequest>;

export const Lease = z.object({ owner: z.string(), until: millis });
export type Lease = z.infer<typeof Lease>;

export const ReleaseResult = z.object({ released: z.boolean() });

/** What the service learned from a refresh attempt; only the fields given are changed. */
export const TimersUpdate = z.object({
  owner,
  soa: z.object({ serial: uint32, refresh: uint32, retry: uint32, expire: uint32, minimum: uint32 }).optional(),
  primarySerial: uint32.optional(),
  lastCheckAt: millis.optional(),
  nextRefreshAt: millis.optional(),
  expiresAt: millis.nullable().optional(),
  status: z.enum(ZONE_STATUSES).optional(),
  statusDetail: z.string().max(2000).optional(),
});
export type TimersUpdate = z.infer<typeof TimersUpdate>;

export const TransferLogEntry = z.object({
  kind: z.enum(TRANSFER_KINDS),
  result: z.enum(TRANSFER_RESULTS),
  /** Absent: `in`. For `out`, `primary` is the downstream's address. */
  direction: z.enum(TRANSFER_DIRECTIONS).optional(),
  primary: z.string().max(300).optional(),
  fromSerial: uint32.optional(),
  toSerial: uint32.optional(),
  records: z.number().int().min(0).optional(),
  bytes: z.number().int().min(0).optional(),
  durationMs: z.number().int().min(0).optional(),
  error: z.string().max(2000).optional(),
  instance: z.string().max(200).optional(),
  at: millis.optional(),
});
export type TransferLogEntry = z.infer<typeof TransferLogEntry>;

export const Created = z.object({ id: z.number().int() });

export const Signal = z.object({
  zone: z.string(),
  requestedAt: millis,
  force: z.enum(REFRESH_FORCES).nullable(),
  acceptLowerSerial: z.boolean(),
});
export type Signal = z.infer<typeof Signal>;
export const SignalList = z.object({ signals: z.array(Signal) });

/** Clears the signal only if no newer request arrived since `requestedAt` (compare-and-set). */
export const SignalAck = z.object({ requestedAt: millis });
export const AckResult = z.object({ cleared: z.boolean() });

export const IngestBegun = z.object({
  version: z.number().int(),
  /**
   * The D1 database's size in octets as the begin's statements left it (D1's `meta.size_after`), so the
   * service can refuse a transfer that would take it past its configured share of D1's 10 GB.
   */
  dbBytes: z.number().int().min(0).optional(),
});
export const ChunkAccepted = z.object({ records: z.number().int() });

export const CommitRequest = z.object({
  owner,
  /** The serial the service transferred; the zone's SOA must carry it. */
  serial: uint32.optional(),
  /** Expiry instant to store atomically with the flip. */
  expiresAt: millis.optional(),
});
export type CommitRequest = z.infer<typeof CommitRequest>;

export const CommitResult = z.object({
  version: z.number().int(),
  serial: uint32,
  recordCount: z.number().int(),
  blocks: z.number().int(),
});
export type CommitResult = z.infer<typeof CommitResult>;

/** One difference sequence of an IXFR (RFC 1995 §4): the records to delete, then the ones to add. */
export const Changeset = z.object({
  fromSerial: uint32,
  toSerial: uint32,
  deletions: base64,
  additions: base64,
});
export type Changeset = z.infer<typeof Changeset>;

export const ChangesetRequest = z.object({
  owner,
  /** Applied in order, together, as one new version. The first must start at the zone's serial. */
  changesets: z.array(Changeset).min(1).max(10_000),
  expiresAt: millis.optional(),
});
export type ChangesetRequest = z.infer<typeof ChangesetRequest>;

export const ChangesetResult = z.object({
  version: z.number().int(),
  serial: uint32,
  recordCount: z.number().int(),
  /** Rows written by the commit, as D1 counts them. */
  rowsWritten: z.number().int(),
  /** Rows read by the whole apply (lookups, checks, commit), as D1 counts them; absent from older Workers. */
  rowsRead: z.number().int().optional(),
  /**
   * Issue 28: whether the changed nodes the request carried were stored as they are (`stored`), or set aside
   * because the zone had moved past their base version or the overlay was folded (`ignored`: the Worker read
   * its blocks as for a request without them). Absent when the request carried none, or from older Workers.
   */
  nodes: z.enum(["stored", "ignored"]).optional(),
});
export type ChangesetResult = z.infer<typeof ChangesetResult>;

// --- Issue 28, session 10: the changesets with the changed nodes, computed by the service. ---
//
// | POST /zones/:zone/changesets (content-type CHANGESET_NODES_TYPE) | ChangesetNodesBody | ChangesetResult |
//
// The transfer-service's port-53 replica may hold the exact version an IXFR starts from; then it sends, beside
// the changesets, every touched owner's whole node after them (`answer/store/changed-nodes.ts`), so that the
// Worker writes the overlay rows without reading a block. The body is binary (the nodes are most of it, and
// base64 in JSON would cost a third more octets and a decode):
//
//   u32 length of the header, big-endian
//   the header: `ChangesetNodesRequest` as JSON (UTF-8): the JSON request with what identifies the base version
//   the changed nodes (`changed-nodes.ts` framing), to the end of the body
//
// The Worker stores the nodes only while `base` is the zone's served version (zone id, version and serial);
// else, or when the overlay must be folded, it applies the changesets as for a JSON request (`nodes: ignored`).
// Nodes that fail its checks (owners outside the zone, unsorted or repeated, other than the changesets touch,
// an addition missing or a deletion still there, the apex SOA's serial, a node's size) are refused: 400
// `bad-nodes` naming the check, nothing stored; the service then sends the JSON request without them.

/** The content type of a changesets request that carries the changed nodes. */
export const CHANGESET_NODES_TYPE = "application/x-backstop-changesets";

/** What the changed nodes were computed from, and what the Worker needs besides them. */
export const ChangedNodesBase = z.object({
  /** The zone row, its served version and that version's serial: the replica's version must be exactly this one. */
  zoneId: z.number().int().min(1),
  version: z.number().int().min(1),
  serial: uint32,
  /** The change in the zone's record count. */
  recordDelta: z.number().int(),
  /** The earliest RRSIG expiration (ms) among the changed owners' nodes in the base version, or null. */
  replacedExpiry: z.number().int().nullable(),
  /** With `replacedExpiry`: the new version's earliest RRSIG expiration, over the whole version (ms), or null. */
  earliestAfter: z.number().int().nullable().optional(),
});
export type ChangedNodesBase = z.infer<typeof ChangedNodesBase>;

export const ChangesetNodesRequest = ChangesetRequest.extend({ base: ChangedNodesBase });
export type ChangesetNodesRequest = z.infer<typeof ChangesetNodesRequest>;

/** The body of a changesets request with nodes (see above). */
export function encodeChangesetNodesBody(header: ChangesetNodesRequest, nodes: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + nodes.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(nodes, 4 + json.length);
  return out;
}

/** A changesets body with nodes split into its header (parsed JSON, to validate) and its nodes; null when malformed. */
export function splitChangesetNodesBody(body: Uint8Array): { header: unknown; nodes: Uint8Array } | null {
  if (body.length < 4) return null;
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (4 + length > body.length) return null;
  try {
    return { header: JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body.subarray(4, 4 + length))) as unknown, nodes: body.subarray(4 + length) };
  } catch {
    return null;
  }
}

export const Journal = z.object({
  fromSerial: uint32,
  toSerial: uint32,
  changesets: z.array(Changeset),
});
export type Journal = z.infer<typeof Journal>;

// --- Issue 22: RFC 2136 UPDATE, checked (address, TSIG) by the service and applied by the Worker. ---

/** One RR of an UPDATE's prerequisite or update section as received (class ANY/NONE and empty rdata allowed). */
export const UpdateRecord = z.object({
  name: z.string().min(1).max(1024),
  type: z.number().int().min(0).max(65535),
  class: z.number().int().min(0).max(65535),
  ttl: z.number().int().min(0).max(0xffffffff),
  rdata: base64,
});
export type UpdateRecord = z.infer<typeof UpdateRecord>;

/**
 * `POST /internal/v1/zones/:zone/update`: the sections of one UPDATE message whose sender the service has
 * allowed (address and TSIG key); the Worker checks the prerequisites and applies the updates atomically.
 */
export const UpdateRequest = z.object({
  prerequisites: z.array(UpdateRecord).max(65_535),
  updates: z.array(UpdateRecord).max(65_535),
  /** Who sent it, for the log: the client's address and key. */
  client: z.string().max(200),
});
export type UpdateRequest = z.infer<typeof UpdateRequest>;

/** The RFC 2136 rcode to answer with, and the new version and serial when the update was committed. */
export const UpdateResult = z.object({
  rcode: z.number().int().min(0).max(15),
  reason: z.string().optional(),
  committed: z.object({ version: z.number().int(), serial: uint32 }).nullable(),
});
export type UpdateResult = z.infer<typeof UpdateResult>;

// --- Issue 19: a refresh attempt in fewer round trips (workers/internal/folded.ts). ---
//
// | PUT  /zones/:zone/ingest/whole?owner=O&serial=S[&maxDbBytes=B] | record stream | CommitResult |
// | POST /zones/:zone/finish                                      | FinishRequest | FinishResult (409 when the lease is not held) |

/**
 * The query of a whole-zone ingest: a full transfer that fits one chunk is opened, stored and committed by
 * one request (the lease is the caller's, as for `…/ingest`). `maxDbBytes`: the service's
 * `BACKSTOP_D1_MAX_BYTES`; the Worker refuses (413) a zone that would take the database past it.
 */
export const WholeIngestQuery = z.object({
  owner,
  serial: z.coerce.number().int().min(0).max(0xffffffff),
  maxDbBytes: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type WholeIngestQuery = z.infer<typeof WholeIngestQuery>;

/**
 * The end of a refresh attempt in one request: its transfer-log entries (written whatever happens next,
 * in order), its report (only while `owner` holds the lease: else 409, after the entries), the refresh
 * request it served acknowledged (compare-and-set, as `…/signal/ack`), and the lease given back.
 */
export const FinishRequest = z.object({
  owner,
  /** The zone row the attempt was for (`LeaseRequest.zoneId`): another one now answers 404, nothing written. */
  zoneId: z.number().int().min(1).optional(),
  transfers: z.array(TransferLogEntry).max(32),
  report: TimersUpdate.omit({ owner: true }).optional(),
  servedRequestAt: millis.optional(),
  release: z.boolean(),
});
export type FinishRequest = z.infer<typeof FinishRequest>;
export const FinishResult = z.object({ cleared: z.boolean(), released: z.boolean() });
export type FinishResult = z.infer<typeof FinishResult>;
