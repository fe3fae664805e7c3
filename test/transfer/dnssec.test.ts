/**
 * @module A DNSSEC-signed zone (dnssec-signzone, NSEC3 with salt) carried byte-exact by the transfer
 * client: AXFR from knotd and from named give the same records octet for octet, and written back as a
 * master file they pass `dnssec-verify` (every RRSIG still validates over the bytes we received).
 */
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { transfer, type XfrSink } from "../../transfer-service/remote/xfr-in.ts";
import { PEERS, type PeerHandle } from "../peers/index.ts";
import { runTool } from "../peers/run-tool.ts";
import { generateZone } from "../zones/generate.ts";
import { signZone, type SignedZone } from "../zones/sign.ts";
import { presentation } from "./collecting-sink.ts";

const ZONE = "signed-xfr.test.";
let signed: SignedZone;
const peers: PeerHandle[] = [];
const unsigned = path.join(tmpdir(), `backstop-unsigned-${process.pid}.zone`);

/** Keeps every record with its exact bytes. */
class KeepingSink implements XfrSink {
  all: ResourceRecord[] = [];
  async beginFull(soa: ResourceRecord) {
    this.all = [soa];
  }
  async beginIncremental() {}
  async beginChangeset() {}
  async beginAdditions() {}
  async records(chunk: ResourceRecord[]) {
    this.all.push(...chunk);
  }
  async end() {}
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const exact = (rr: ResourceRecord) => `${hex(rr.name.toCanonicalWire())} ${rr.type} ${rr.class} ${rr.ttl} ${hex(rr.rdata)}`;

beforeAll(async () => {
  await writeFile(unsigned, generateZone({ origin: ZONE, records: 120, seed: 9, serial: 1 }));
  signed = await signZone(unsigned, ZONE, { nsec3: { salt: "aabbccdd", iterations: 0 } });
  for (const kind of ["knotd", "named"] as const) {
    peers.push(await PEERS[kind]({ zones: [{ name: ZONE, file: signed.file, presigned: true }] }));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop()));
  await signed?.remove();
  await rm(unsigned, { force: true });
});

describe("a signed zone", () => {
  it("arrives octet for octet the same from knotd and named, and still verifies", async () => {
    const sets: string[][] = [];
    let kept: ResourceRecord[] = [];
    for (const peer of peers) {
      const sink = new KeepingSink();
      await transfer({
        kind: "axfr",
        zone: Name.parse(ZONE),
        primary: { address: peer.address, port: peer.port },
        sink,
        limits: { connectTimeoutMs: 5000, idleTimeoutMs: 10_000, totalTimeoutMs: 30_000, maxRecords: 100_000, maxBytes: 1 << 28, chunkRecords: 50 },
      });
      sets.push(sink.all.map(exact).sort());
      kept = sink.all;
    }
    expect(sets[0]).toEqual(sets[1]);
    const types = new Set(kept.map((rr) => rr.type));
    for (const t of [RRType.RRSIG, RRType.DNSKEY, RRType.NSEC3, RRType.NSEC3PARAM]) expect(types).toContain(t);

    // Our bytes, printed back as a master file, must still carry valid signatures.
    const ours = path.join(signed.dir, "ours.zone");
    await writeFile(ours, kept.map((rr) => presentation(rr).replace(/^(\S+) (\d+) /, "$1 $2 IN ")).join("\n") + "\n");
    const verify = await runTool("dnssec-verify", ["-o", ZONE, ours], { cwd: signed.dir, timeoutMs: 60_000 });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout + verify.stderr).toMatch(/Zone fully signed/);
  });
});
