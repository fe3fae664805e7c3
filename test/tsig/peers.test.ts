/**
 * @module Our TSIG against knotd, named, nsd and PowerDNS, started once for this file, in parallel.
 *
 * Each peer serves one zone per TSIG algorithm it supports (SUPPORTED_TSIG_ALGORITHMS), each of at least
 * 20,000 records and guarded by a key of that algorithm. Our code signs every request and verifies
 * every answer; the peers are the independent implementations.
 * - a signed AXFR per algorithm, read over TCP and verified message by message by TsigStreamVerifier;
 * - a signed SOA query per algorithm, accepted and answered signed;
 * - a wrong secret, a wrong key name, a wrong algorithm and our clock 10 minutes fast: the typed error
 *   and what each peer answered (the peers differ: see EXPECTED_FAILURES);
 * - a byte changed in message 1, message 50 and the last message of a real stream is caught.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RRType, Rcode } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import type { TsigKey as PreparedKey } from "../../dns/tsig.ts";
import { TsigError, TsigStreamVerifier, findTsig, prepareTsigKey, signRequest, verifyResponse } from "../../dns/tsig.ts";
import { PEERS, SUPPORTED_TSIG_ALGORITHMS } from "../peers/index.ts";
import type { PeerHandle, PeerKind, TsigAlgorithm, TsigKey } from "../peers/types.ts";
import { TSIG_ALGORITHMS } from "../peers/types.ts";
import { writeZoneFile } from "../zones/generate.ts";
import { answerSpans, answerTypes, buildQuery, rcodeOf, tcpAxfr, udpExchange } from "./wire-client.ts";

/** 20k records is ~45 messages from knotd, named and nsd; the tamper zone needs message 50. */
const RECORDS = 20_000;
const TAMPER_ALGORITHM: TsigAlgorithm = "hmac-sha256";
const TAMPER_RECORDS = 25_000;
const SEED = 8945;
const SKEW_MS = 10 * 60 * 1000;

const zoneOf = (alg: TsigAlgorithm) => `${alg}.tsig.test.`;
const recordsOf = (alg: TsigAlgorithm) => (alg === TAMPER_ALGORITHM ? TAMPER_RECORDS : RECORDS);
const keys = Object.fromEntries(
  TSIG_ALGORITHMS.map((alg) => [alg, { name: `${alg}.xfr.key.`, algorithm: alg, secret: randomBytes(32).toString("base64") }]),
) as Record<TsigAlgorithm, TsigKey>;

const kinds = Object.keys(PEERS) as PeerKind[];
const peers = new Map<PeerKind, PeerHandle>();
let zoneDir = "";

beforeAll(async () => {
  zoneDir = await mkdtemp(path.join(tmpdir(), "backstop-tsig-zones-"));
  await Promise.all(
    TSIG_ALGORITHMS.map((alg) =>
      writeZoneFile(path.join(zoneDir, `${alg}.zone`), { origin: zoneOf(alg), records: recordsOf(alg), seed: SEED }),
    ),
  );
  await Promise.all(
    kinds.map(async (kind) => {
      const algs = SUPPORTED_TSIG_ALGORITHMS[kind];
      const peer = await PEERS[kind]({
        keys: algs.map((alg) => keys[alg]),
        zones: algs.map((alg) => ({ name: zoneOf(alg), file: path.join(zoneDir, `${alg}.zone`), transferKey: keys[alg].name })),
        startTimeoutMs: 60_000,
      });
      peers.set(kind, peer);
    }),
  );
});

afterAll(async () => {
  await Promise.all([...peers.values()].map((p) => p.stop()));
  if (zoneDir) await rm(zoneDir, { recursive: true, force: true });
});

const peer = (kind: PeerKind) => peers.get(kind) as PeerHandle;
const prepare = (k: TsigKey) => prepareTsigKey(k, nodeHmac);
let nextId = 0x100;

interface Transfer {
  messages: Uint8Array[];
  records: number;
  complete: boolean;
  ended: string;
  /** Which messages carried a TSIG record. */
  signed: boolean[];
}

/** A signed AXFR over TCP, each message verified as it arrives. Rejects with the verifier's TsigError. */
async function signedAxfr(kind: PeerKind, zone: string, key: PreparedKey, clock?: () => number): Promise<Transfer> {
  const request = await signRequest(buildQuery(nextId++, zone, RRType.AXFR), key, { now: clock });
  const verifier = new TsigStreamVerifier(key, request.mac, { now: clock, peer: kind });
  const signed: boolean[] = [];
  const result = await tcpAxfr(peer(kind).port, request.message, {
    onMessage: async (m) => {
      signed.push((await verifier.next(m)) !== undefined);
    },
  });
  if (result.complete) verifier.finish();
  return { ...result, signed };
}

/** The last RDATA octet of the first A, AAAA, TXT or SOA (its MINIMUM) in the answer: zone data, not structure. */
function dataOctet(m: Uint8Array): number {
  const span = answerSpans(m).find((s) => s.type === RRType.A || s.type === RRType.AAAA || s.type === RRType.TXT || s.type === RRType.SOA);
  if (span === undefined) throw new Error("no A, AAAA, TXT or SOA record in the message");
  return span.rdataEnd - 1;
}

/** Verifies an already received stream again, from scratch. */
async function reverify(messages: Uint8Array[], key: PreparedKey, requestMac: Uint8Array): Promise<void> {
  const verifier = new TsigStreamVerifier(key, requestMac);
  for (const m of messages) await verifier.next(m);
  verifier.finish();
}

/** Why a transfer stopped early, with the peer's last words. */
const howItEnded = (kind: PeerKind, t: Transfer) =>
  `${kind}: ${t.messages.length} messages, ${t.records} records, ended: ${t.ended}` +
  `${t.messages.length ? `, last RCODE ${rcodeOf(t.messages.at(-1)!)}` : ""}\n${peer(kind).output().split("\n").slice(-15).join("\n")}`;

// The four peers run side by side; each peer's big transfers run one at a time, so a busy CI machine
// does not starve a reader long enough for a peer's TCP send timeout (knotd: 500 ms by default).
describe.concurrent.each(kinds)("%s", (kind) => {
  describe.sequential("signed AXFR", () => {
    test.each(SUPPORTED_TSIG_ALGORITHMS[kind])(`of a big zone with %s, verified message by message`, async (alg) => {
      const key = await prepare(keys[alg]);
      const t = await signedAxfr(kind, zoneOf(alg), key);
      expect(t.complete, howItEnded(kind, t)).toBe(true);
      expect(t.records).toBe(recordsOf(alg) + 1); // the SOA opens and closes the stream (RFC 5936 §2.2)
      expect(t.messages.length).toBeGreaterThan(40);
      expect(t.signed[0]).toBe(true);
      expect(t.signed.at(-1)).toBe(true);
    });
  });

  test.each(SUPPORTED_TSIG_ALGORITHMS[kind])(`signed SOA query with %s is accepted and answered signed`, async (alg) => {
    const key = await prepare(keys[alg]);
    const request = await signRequest(buildQuery(nextId++, zoneOf(alg), RRType.SOA), key);
    const answer = await udpExchange(peer(kind).port, request.message);
    const rec = await verifyResponse(answer, key, request.mac, { peer: kind });
    expect(rcodeOf(answer)).toBe(Rcode.NOERROR);
    expect(answerTypes(answer)).toEqual([RRType.SOA]);
    expect(rec.keyName.equals(key.name)).toBe(true);
  });

  /**
   * RFC 8945 §4.3.3 digests the key name in canonical (lowercase) form, so "Hmac-Sha256.XFR.Key." is
   * the configured "hmac-sha256.xfr.key.". knotd, named and nsd agree (and answer with their own
   * spelling); PowerDNS 4.7 looks key names up case-sensitively and answers NOTAUTH.
   */
  test("our SOA query with the key name in another case", async () => {
    const spec = keys[TAMPER_ALGORITHM];
    const key = await prepare({ ...spec, name: spec.name.toUpperCase() });
    const request = await signRequest(buildQuery(nextId++, zoneOf(TAMPER_ALGORITHM), RRType.SOA), key);
    const answer = await udpExchange(peer(kind).port, request.message);
    const outcome = await verifyResponse(answer, key, request.mac, { peer: kind }).then(
      (rec) => rec.keyName.toString(),
      (e: unknown) => e,
    );
    if (kind === "pdns") expect(outcome).toMatchObject({ code: "unsigned", details: { peerRcode: Rcode.NOTAUTH } });
    else expect(outcome).toBe(spec.name);
  });

  test("a byte changed in message 1, 50 or the last message of a real stream is caught", async () => {
    const key = await prepare(keys[TAMPER_ALGORITHM]);
    const request = await signRequest(buildQuery(nextId++, zoneOf(TAMPER_ALGORITHM), RRType.AXFR), key);
    const t = await tcpAxfr(peer(kind).port, request.message);
    expect(t.complete, howItEnded(kind, { ...t, signed: [] })).toBe(true);
    expect(t.messages.length).toBeGreaterThanOrEqual(50);
    await reverify(t.messages, key, request.mac); // untouched, it verifies
    const signedAt = t.messages.map((m) => findTsig(m) !== undefined);
    for (const victim of [0, 49, t.messages.length - 1]) {
      const tampered = t.messages.map((m) => m);
      const copy = t.messages[victim]!.slice();
      copy[dataOctet(copy)] ^= 0x04;
      tampered[victim] = copy;
      const err = await reverify(tampered, key, request.mac).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `message ${victim + 1}`).toBeInstanceOf(TsigError);
      // Caught at the victim when it is signed, else at the next signed message (RFC 8945 §5.3.1).
      const expectedAt = signedAt.indexOf(true, victim);
      expect(err).toMatchObject({ code: "bad-mac", details: { messageIndex: expectedAt } });
    }
  });
});

type FailureCase = "wrong secret" | "wrong key name" | "wrong algorithm" | "our clock 10 minutes fast";
interface Expected {
  /** The TsigError code, or "refused" when TSIG verified and the peer refused the transfer. */
  code: "peer-error" | "unsigned" | "refused";
  /** What the peer put in the TSIG Error field (peer-error). */
  peerError?: number;
  /** The header RCODE the peer answered with. */
  peerRcode: number;
  text: RegExp;
}

const standard: Record<FailureCase, Expected> = {
  "wrong secret": { code: "peer-error", peerError: Rcode.BADSIG, peerRcode: Rcode.NOTAUTH, text: /could not verify our TSIG signature .*\(BADSIG\): the shared secrets differ/ },
  "wrong key name": { code: "peer-error", peerError: Rcode.BADKEY, peerRcode: Rcode.NOTAUTH, text: /rejected TSIG key "wrong\.key\." with hmac-sha256 \(BADKEY\)/ },
  "wrong algorithm": { code: "peer-error", peerError: Rcode.BADKEY, peerRcode: Rcode.NOTAUTH, text: /rejected TSIG key "hmac-sha256\.xfr\.key\." with hmac-sha1 \(BADKEY\)/ },
  "our clock 10 minutes fast": { code: "peer-error", peerError: Rcode.BADTIME, peerRcode: Rcode.NOTAUTH, text: /rejected our clock \(BADTIME\): clock skew of (599|600|601) seconds/ },
};
const pdnsNotauth = (c: FailureCase): Expected => ({
  code: "unsigned",
  peerRcode: Rcode.NOTAUTH,
  text: new RegExp(`pdns answered NOTAUTH without a TSIG record to our request signed with key "${c === "wrong key name" ? "wrong\\.key\\." : "hmac-sha256\\.xfr\\.key\\."}"`),
});

/**
 * What each peer answers, as observed (Debian 12 versions):
 * - knotd and named follow RFC 8945 §5.2 exactly;
 * - nsd 4.6 verifies a MAC made with the right secret under another algorithm (it takes the algorithm
 *   from the request, the secret from the key name), then refuses the transfer by its ACL: a signed
 *   REFUSED that verifies. Its BADTIME answer is unsigned (§5.2.3 says it MUST be signed);
 * - PowerDNS 4.7 answers every TSIG failure with a bare NOTAUTH, no TSIG record, no reason.
 */
const EXPECTED_FAILURES: Record<PeerKind, Record<FailureCase, Expected>> = {
  knotd: standard,
  named: standard,
  nsd: { ...standard, "wrong algorithm": { code: "refused", peerRcode: Rcode.REFUSED, text: /./ } },
  pdns: {
    "wrong secret": pdnsNotauth("wrong secret"),
    "wrong key name": pdnsNotauth("wrong key name"),
    "wrong algorithm": pdnsNotauth("wrong algorithm"),
    "our clock 10 minutes fast": pdnsNotauth("our clock 10 minutes fast"),
  },
};

const good = keys[TAMPER_ALGORITHM];
const failureCases: { case: FailureCase; key: TsigKey; clock?: () => number }[] = [
  { case: "wrong secret", key: { ...good, secret: randomBytes(32).toString("base64") } },
  { case: "wrong key name", key: { ...good, name: "wrong.key." } },
  // The operator picked the wrong algorithm for the right key: same name, same secret.
  { case: "wrong algorithm", key: { ...good, algorithm: "hmac-sha1" } },
  { case: "our clock 10 minutes fast", key: good, clock: () => Date.now() + SKEW_MS },
];

describe.concurrent.each(kinds)("%s refuses bad TSIG", (kind) => {
  test.each(failureCases)("$case", async ({ case: name, key: spec, clock }) => {
    const expected = EXPECTED_FAILURES[kind][name];
    const key = await prepare(spec);
    const outcome = await signedAxfr(kind, zoneOf(TAMPER_ALGORITHM), key, clock).then(
      (t) => t,
      (e: unknown) => e,
    );
    if (expected.code === "refused") {
      const t = outcome as Transfer;
      expect(t.complete).toBe(false);
      expect(t.signed).toEqual([true]);
      expect(rcodeOf(t.messages[0]!)).toBe(expected.peerRcode);
      return;
    }
    expect(outcome).toBeInstanceOf(TsigError);
    const err = outcome as TsigError;
    expect(err).toMatchObject({ code: expected.code, details: { peerRcode: expected.peerRcode } });
    if (expected.peerError !== undefined) expect(err.details.peerError).toBe(expected.peerError);
    if (expected.peerError === Rcode.BADTIME) expect(Math.abs(err.details.skewSeconds! + 600)).toBeLessThanOrEqual(2);
    expect(err.message).toMatch(expected.text);
    expect(err.message).not.toContain(spec.secret);
  });
});
