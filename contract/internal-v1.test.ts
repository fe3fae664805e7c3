/**
 * @module Every body of `/internal/v1` as it crosses the wire: a value written as JSON and read back through
 * its schema is the same value, and a malformed one is refused with an issue that names the field. One row
 * per schema; the routes themselves are tested against real D1 in `workers/internal/internal.test.ts`.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  AckResult,
  base64,
  Changeset,
  ChangesetNodesRequest,
  ChangesetRequest,
  ChangesetResult,
  encodeChangesetNodesBody,
  splitChangesetNodesBody,
  ChunkAccepted,
  CommitRequest,
  CommitResult,
  Created,
  ErrorBody,
  IngestBegun,
  Journal,
  Lease,
  LeaseRequest,
  Ok,
  OwnerRequest,
  ReleaseResult,
  SignalAck,
  SignalList,
  TimersUpdate,
  TransferLogEntry,
  TsigKeyMaterial,
  ZoneConfigList,
} from "./internal-v1.ts";

const zoneConfig = {
  name: "example.test",
  model: "secondary",
  primaries: [{ address: "192.0.2.1", port: 53, tsigKey: "xfr.key" }],
  tsigKey: null,
  notifyAllow: ["192.0.2.0/24"],
  transferAllow: [{ address: "198.51.100.7" }],
  alsoNotify: [{ address: "198.51.100.8", port: 53, tsigKey: "xfr.key" }],
  updateAllow: [{ address: "192.0.2.0/24", tsigKey: "upd.key" }],
  status: "active",
  statusDetail: "serial 7 from 192.0.2.1:53",
  currentVersion: 3,
  serial: 7,
  primarySerial: 0xffffffff,
  recordCount: 120,
  expiresAt: 1_800_000_000_000,
  lastCheckAt: null,
  nextRefreshAt: 1_700_000_000_000,
  timers: { refresh: 3600, retry: 600, expire: 604800, minimum: null, minRefresh: 60, maxRefresh: 86400, minRetry: 10, maxRetry: 3600, minExpire: 3600, maxExpire: 2419200 },
  lease: { owner: "svc-a", until: 1_700_000_060_000 },
  limits: { maxRecords: 2_000_000, maxBytes: null },
  refresh: { requestedAt: 1_700_000_000_500, force: "axfr", acceptLowerSerial: true },
};
const changeset = { fromSerial: 7, toSerial: 8, deletions: "AAEC", additions: "" };

/** [schema name, schema, a value as a sender writes it, the same value broken, the field the refusal names]. */
const rows: Array<[name: string, schema: z.ZodType, value: unknown, broken: unknown, field: string]> = [
  ["ErrorBody", ErrorBody, { error: { code: "bad-request", message: "owner: required", field: "owner" } }, { error: { code: 400, message: "x" } }, "error.code"],
  ["Ok", Ok, { ok: true }, { ok: false }, "ok"],
  ["TsigKeyMaterial", TsigKeyMaterial, { name: "xfr.key", algorithm: "hmac-sha256", secret: "c2VjcmV0" }, { name: "xfr.key", algorithm: "hmac-sha3", secret: "c2VjcmV0" }, "algorithm"],
  ["ZoneConfigList", ZoneConfigList, { zones: [zoneConfig], keys: [{ name: "xfr.key", algorithm: "hmac-md5", secret: "" }] }, { zones: [{ ...zoneConfig, status: "gone" }], keys: [] }, "zones.0.status"],
  ["ZoneConfigList (limits)", ZoneConfigList, { zones: [zoneConfig], keys: [] }, { zones: [{ ...zoneConfig, limits: { maxRecords: 0, maxBytes: null } }], keys: [] }, "zones.0.limits.maxRecords"],
  ["OwnerRequest", OwnerRequest, { owner: "svc-a" }, { owner: "" }, "owner"],
  ["LeaseRequest", LeaseRequest, { owner: "svc-a", ttlMs: 60_000 }, { owner: "svc-a", ttlMs: 10 }, "ttlMs"],
  ["Lease", Lease, { owner: "svc-a", until: 1_700_000_060_000 }, { owner: "svc-a", until: -1 }, "until"],
  ["ReleaseResult", ReleaseResult, { released: true }, { released: "yes" }, "released"],
  [
    "TimersUpdate",
    TimersUpdate,
    { owner: "svc-a", soa: { serial: 8, refresh: 3600, retry: 600, expire: 604800, minimum: 300 }, primarySerial: 8, lastCheckAt: 1, nextRefreshAt: 2, expiresAt: null, status: "failing", statusDetail: "timeout" },
    { owner: "svc-a", soa: { serial: 2 ** 32, refresh: 1, retry: 1, expire: 1, minimum: 1 } },
    "soa.serial",
  ],
  [
    "TransferLogEntry",
    TransferLogEntry,
    { kind: "ixfr", result: "up-to-date", primary: "192.0.2.1:53", fromSerial: 7, toSerial: 7, records: 0, bytes: 0, durationMs: 3, instance: "svc-a", at: 5 },
    { kind: "notify", result: "ok" },
    "kind",
  ],
  ["Created", Created, { id: 12 }, { id: 1.5 }, "id"],
  ["SignalList", SignalList, { signals: [{ zone: "example.test", requestedAt: 5, force: null, acceptLowerSerial: false }] }, { signals: [{ zone: "example.test", requestedAt: 5, force: "ixfr", acceptLowerSerial: false }] }, "signals.0.force"],
  ["SignalAck", SignalAck, { requestedAt: 5 }, {}, "requestedAt"],
  ["AckResult", AckResult, { cleared: false }, { cleared: null }, "cleared"],
  ["IngestBegun", IngestBegun, { version: 4 }, { version: "4" }, "version"],
  ["ChunkAccepted", ChunkAccepted, { records: 2000 }, {}, "records"],
  ["CommitRequest", CommitRequest, { owner: "svc-a", serial: 9, expiresAt: 10 }, { owner: "svc-a", serial: -9 }, "serial"],
  ["CommitResult", CommitResult, { version: 4, serial: 9, recordCount: 1_000_000, blocks: 30 }, { version: 4, serial: 9, recordCount: 1 }, "blocks"],
  ["Changeset", Changeset, changeset, { ...changeset, additions: "not base64!" }, "additions"],
  ["ChangesetRequest", ChangesetRequest, { owner: "svc-a", changesets: [changeset], expiresAt: 1 }, { owner: "svc-a", changesets: [] }, "changesets"],
  ["ChangesetResult", ChangesetResult, { version: 5, serial: 8, recordCount: 121, rowsWritten: 3 }, { version: 5, serial: 8, recordCount: 121 }, "rowsWritten"],
  ["ChangesetResult with nodes", ChangesetResult, { version: 5, serial: 8, recordCount: 121, rowsWritten: 3, rowsRead: 9, nodes: "stored" }, { version: 5, serial: 8, recordCount: 121, rowsWritten: 3, nodes: "maybe" }, "nodes"],
  [
    "ChangesetNodesRequest",
    ChangesetNodesRequest,
    { owner: "svc-a", changesets: [changeset], base: { zoneId: 3, version: 12, serial: 7, recordDelta: -2, replacedExpiry: 1_800_000_000_000, earliestAfter: null } },
    { owner: "svc-a", changesets: [changeset], base: { zoneId: 3, version: 12, serial: 7, recordDelta: -2 } },
    "base.replacedExpiry",
  ],
  ["Journal", Journal, { fromSerial: 7, toSerial: 8, changesets: [changeset] }, { fromSerial: 7, toSerial: 8, changesets: [{ ...changeset, toSerial: undefined }] }, "changesets.0.toSerial"],
];

describe("/internal/v1 bodies", () => {
  it.each(rows)("%s: written as JSON and read back, the value is the same", (_name, schema, value) => {
    expect(schema.parse(JSON.parse(JSON.stringify(value)))).toEqual(value);
  });

  it.each(rows)("%s: a malformed body is refused, naming the field", (_name, schema, _value, broken, field) => {
    const result = schema.safeParse(JSON.parse(JSON.stringify(broken)));
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toContain(field);
  });
});

describe("the changesets body with nodes (issue 28)", () => {
  const header = { owner: "svc-a", changesets: [changeset], base: { zoneId: 3, version: 12, serial: 7, recordDelta: 1, replacedExpiry: null } };
  it("splits into the header it was made of and the nodes octets, as they are", () => {
    const nodes = Uint8Array.of(1, 0, 0, 0, 0);
    const split = splitChangesetNodesBody(encodeChangesetNodesBody(header, nodes))!;
    expect(ChangesetNodesRequest.parse(split.header)).toEqual(header);
    expect([...split.nodes]).toEqual([...nodes]);
  });
  it("refuses a body shorter than its header says, or whose header is not JSON", () => {
    const body = encodeChangesetNodesBody(header, new Uint8Array(0));
    expect(splitChangesetNodesBody(body.subarray(0, body.length - 1))).toBeNull();
    expect(splitChangesetNodesBody(Uint8Array.of(0, 0))).toBeNull();
    expect(splitChangesetNodesBody(Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7b))).toBeNull();
  });
});

describe("base64 (RFC 4648 §4)", () => {
  it.each(["", "AA==", "AAE=", "AAEC", "+/+/"])("takes %j", (text) => expect(base64.parse(text)).toBe(text));
  it.each(["A", "AA=", "AAE", "A===", "AA-_", "AA==AAAA"])("refuses %j, saying it must be base64", (text) => {
    expect(base64.safeParse(text).error?.issues[0]?.message).toBe("must be base64");
  });
});
