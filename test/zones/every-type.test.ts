/**
 * @module The every-type fixture (one record of each type Backstop must carry, issue 3) through each
 * real peer: each loads it and hands it out by AXFR, and AXFR_FAITHFUL says which ones hand out
 * exactly what they were given, unsigned and signed (NSEC3, made now by signZone, served presigned).
 * kdig's `+crypto` output is compared line by line, so key and signature bytes count.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AXFR_FAITHFUL, PEERS } from "../peers/index.ts";
import { kdig, recordLine } from "../peers/kdig.ts";
import type { PeerKind } from "../peers/types.ts";
import { type SignedZone, signZone } from "./sign.ts";

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/every-type.zone");
const ORIGIN = "every.test.";
/** Records in the fixture (one per non-blank, non-comment, non-directive line) plus the closing SOA. */
const FIXTURE_RECORDS = 33 + 1;
const kinds = Object.keys(PEERS) as PeerKind[];
const axfr: Record<"unsigned" | "presigned", Partial<Record<PeerKind, string[]>>> = { unsigned: {}, presigned: {} };
let signed: SignedZone;

beforeAll(async () => {
  signed = await signZone(FIXTURE, ORIGIN, { nsec3: { salt: "ab", iterations: 0 } });
  await Promise.all(
    kinds.flatMap((kind) =>
      (["unsigned", "presigned"] as const).map(async (mode) => {
        const file = mode === "unsigned" ? FIXTURE : signed.file;
        const peer = await PEERS[kind]({ zones: [{ name: ORIGIN, file, presigned: mode === "presigned" }] });
        try {
          const res = await kdig({ port: peer.port, zone: ORIGIN, type: "AXFR", extra: ["+crypto"] });
          axfr[mode][kind] = res.records.map(recordLine).sort();
        } finally {
          await peer.stop();
        }
      }),
    ),
  );
});
afterAll(async () => {
  await signed?.remove();
});

test("the fixture has the record count this file assumes", async () => {
  const { readFile } = await import("node:fs/promises");
  const lines = (await readFile(FIXTURE, "utf8"))
    .split("\n")
    .map((l) => l.replace(/;.*$/, "").trim())
    .filter((l) => l && !l.startsWith("$"));
  expect(lines.length + 1).toBe(FIXTURE_RECORDS);
});

describe.each(["unsigned", "presigned"] as const)("%s", (mode) => {
  // The faithful peers must agree with each other exactly; knotd is the first of them.
  const reference = () => axfr[mode].knotd as string[];

  test("knotd hands out every record", () => {
    const n = reference().length;
    if (mode === "unsigned") expect(n).toBe(FIXTURE_RECORDS);
    else expect(n).toBeGreaterThan(FIXTURE_RECORDS * 2); // plus RRSIGs, NSEC3s, DNSKEYs
  });

  test.each(kinds)("%s is as faithful as AXFR_FAITHFUL says", (kind) => {
    const got = axfr[mode][kind] as string[];
    expect(got.length).toBeGreaterThan(0);
    if (AXFR_FAITHFUL[kind][mode]) {
      expect(got).toEqual(reference());
    } else {
      expect(got).not.toEqual(reference());
    }
  });
});

test("pdns's unsigned AXFR differs exactly by the apex DNSKEY, CDS and CDNSKEY", () => {
  const pdns = new Set(axfr.unsigned.pdns);
  const missing = (axfr.unsigned.knotd as string[]).filter((l) => !pdns.has(l));
  expect(missing.map((l) => l.split(" ").slice(0, 3).join(" ")).sort()).toEqual([
    `${ORIGIN} 3600 CDNSKEY`,
    `${ORIGIN} 3600 CDS`,
    `${ORIGIN} 3600 DNSKEY`,
  ]);
  expect((axfr.unsigned.pdns as string[]).length).toBe(FIXTURE_RECORDS - 3);
});

test("pdns's presigned AXFR repeats records and adds NSEC3s, but loses none", () => {
  const pdns = axfr.presigned.pdns as string[];
  const got = new Set(pdns);
  expect((axfr.presigned.knotd as string[]).filter((l) => !got.has(l))).toEqual([]);
  expect(new Set(pdns).size).toBeLessThan(pdns.length);
});
