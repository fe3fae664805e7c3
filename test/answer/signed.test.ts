/**
 * The differential suite with DO=1 on the test zones signed when the test runs (issue 8): an NSEC variant, and
 * an NSEC3 variant with a salt, a non-zero iteration count and opt-out. RRSIGs and NSEC/NSEC3 proofs are
 * compared like every other record.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { type SignedZone, signZone, type SignZoneOptions } from "../zones/sign.ts";
import { describeDifferential, type DifferentialZone } from "./differential.ts";
import { CHILD_APEX, CHILD_ZONE, PARENT_APEX, PARENT_ZONE } from "./zones.ts";

const signed: SignedZone[] = [];
afterAll(async () => {
  await Promise.all(signed.map((s) => s.remove()));
});

async function signAll(opts: SignZoneOptions): Promise<DifferentialZone[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "backstop-diff-"));
  try {
    const out: DifferentialZone[] = [];
    for (const [name, text] of [
      [PARENT_APEX, PARENT_ZONE],
      [CHILD_APEX, CHILD_ZONE],
    ] as const) {
      const file = path.join(dir, `${name}zone`);
      await writeFile(file, text);
      const zone = await signZone(file, name, opts);
      signed.push(zone);
      out.push({ name, text: await readFile(zone.file, "utf8") });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describeDifferential("differential with DO=1: NSEC-signed zones", () => signAll({}), { dnssecOk: true, seed: 11 });
describeDifferential(
  "differential with DO=1: NSEC3-signed zones (salt, 5 iterations, opt-out)",
  () => signAll({ nsec3: { salt: "aabbccdd", iterations: 5, optOut: true } }),
  { dnssecOk: true, seed: 13 },
);
