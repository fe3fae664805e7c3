/**
 * @module signZone makes zones that real validators accept: `dnssec-verify` checks every signature and
 * the NSEC or NSEC3 chain, the NSEC3 parameters are the ones asked for, the DS matches the KSK, and the
 * trust anchor validates an answer from a real named serving the signed zone (`delv`).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startNamed } from "../peers/named.ts";
import { runTool } from "../peers/run-tool.ts";
import { writeZoneFile } from "./generate.ts";
import { type Nsec3Options, type SignedZone, signZone } from "./sign.ts";

const ORIGIN = "signed.test.";
const signed: SignedZone[] = [];
let srcDir: string;
let unsigned: string;

beforeAll(async () => {
  srcDir = await mkdtemp(path.join(tmpdir(), "backstop-signed-src-"));
  unsigned = path.join(srcDir, "zone");
  await writeZoneFile(unsigned, { origin: ORIGIN, records: 120, seed: 4 });
});
afterAll(async () => {
  await Promise.all(signed.map((s) => s.remove()));
  await rm(srcDir, { recursive: true, force: true });
});

async function make(nsec3?: Nsec3Options): Promise<SignedZone> {
  const s = await signZone(unsigned, ORIGIN, { nsec3 });
  signed.push(s);
  return s;
}

const CASES: Array<[string, Nsec3Options | undefined, string | undefined]> = [
  ["NSEC", undefined, undefined],
  ["NSEC3, no salt, 0 iterations (RFC 9276)", { salt: "", iterations: 0 }, "1 0 0 -"],
  ["NSEC3, salt, iterations, opt-out", { salt: "abcd", iterations: 5, optOut: true }, "1 0 5 ABCD"],
];

describe.concurrent("signZone", () => {
  test.each(CASES)("%s: dnssec-verify passes, DS and trust anchor match the KSK", async (_label, nsec3, param) => {
    const s = await make(nsec3);
    const verify = await runTool("dnssec-verify", ["-o", ORIGIN, s.file]);
    expect(verify.stderr + verify.stdout).toMatch(/Zone fully signed/);
    expect(verify.code).toBe(0);

    const text = await readFile(s.file, "utf8");
    const nsec3param = /\sNSEC3PARAM\s+(.*)$/m.exec(text)?.[1]?.trim();
    expect(nsec3param?.toUpperCase()).toBe(param);
    expect(/\sNSEC\s/.test(text)).toBe(nsec3 === undefined);
    if (nsec3?.optOut) expect(text).toMatch(/\sNSEC3\s+1 1 5 ABCD\s/);

    expect(s.ds).toHaveLength(1);
    expect(s.ds[0]).toMatch(new RegExp(`^${ORIGIN.replace(/\./g, "\\.")}\\s.*DS ${s.kskTag} 13 2 [0-9A-F ]+$`));
    expect(s.trustAnchor.join(" ")).toMatch(/DNSKEY 257 3 13 /);
    expect(s.kskTag).not.toBe(s.zskTag);
  });

  test("a zone dnssec-signzone cannot sign fails with its words; a dir the caller gave is kept", async () => {
    const bad = path.join(srcDir, "bad.zone");
    await writeFile(bad, `$ORIGIN ${ORIGIN}\n@ 60 IN SOA ns1 h 1 60 60 600 60\n@ NS ns1\nns1 A 127.0.0.1\nx DS 1 13 2 ${"00".repeat(32)}\n`);
    const keysDir = path.join(srcDir, "bad-keys");
    await mkdir(keysDir);
    await expect(signZone(bad, ORIGIN, { dir: keysDir })).rejects.toThrow(/DS RRset without NS/);
    // A dir the caller gave is the caller's: kept, with the keys in it.
    expect((await readdir(keysDir)).some((f) => f.endsWith(".private"))).toBe(true);
  });

  test("the trust anchor validates an answer from named serving the signed zone (delv)", async () => {
    const s = await make({ salt: "", iterations: 0 });
    const peer = await startNamed({ zones: [{ name: ORIGIN, file: s.file }] });
    try {
      // delv's -a file takes trust-anchors { name static-key flags proto alg "key"; };
      const [name, , , flags, proto, alg, ...key] = (s.trustAnchor[0] as string).split(/\s+/);
      const anchors = path.join(s.dir, "anchors.conf");
      await writeFile(anchors, `trust-anchors { ${name} static-key ${flags} ${proto} ${alg} "${key.join("")}"; };\n`);
      const res = await runTool("delv", [
        `@${peer.address}`,
        "-p",
        String(peer.port),
        "-a",
        anchors,
        `+root=${ORIGIN}`,
        "+tcp",
        `ns1.${ORIGIN}`,
        "A",
      ]);
      expect(res.stdout).toMatch(/; fully validated/);
      expect(res.stdout).toMatch(/ns1\.signed\.test\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/);
    } finally {
      await peer.stop();
    }
  });
});
