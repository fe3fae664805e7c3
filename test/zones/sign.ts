/**
 * @module DNSSEC-signed test zones, made when the tests run (signatures and private keys are never
 * committed): BIND's `dnssec-keygen` makes a KSK and a ZSK (ECDSAP256SHA256, algorithm 13, RFC 6605) in a
 * temp dir and `dnssec-signzone` signs the zone with NSEC, or with NSEC3 (RFC 5155) when asked.
 * The result carries the DS records for the parent and the KSK's DNSKEY as a trust anchor, so tests can
 * validate what Backstop serves (e.g. with `delv`).
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runToolOk } from "../peers/run-tool.ts";

export interface Nsec3Options {
  /** Hex salt, or "" for none (RFC 9276 §3.1 recommends none). */
  salt: string;
  /** Additional hash iterations (RFC 9276 recommends 0). */
  iterations: number;
  /** Opt-out (RFC 5155 §6): unsigned delegations get no NSEC3. */
  optOut?: boolean;
}

export interface SignZoneOptions {
  nsec3?: Nsec3Options;
  /** Where keys and the signed file go; a fresh temp dir by default. */
  dir?: string;
  /**
   * Let dnssec-signzone verify its own output (it is then ~2.3x slower: 10k records 11 s instead of 5 s
   * on a busy 2-core machine). Off by default; sign.test.ts checks the output with dnssec-verify.
   */
  verify?: boolean;
  /** Signature expiration, as dnssec-signzone's `-e` takes it (`+86400`: a day from now); its default is 30 days. */
  end?: string;
}

export interface SignedZone {
  /** Path of the signed master file. */
  file: string;
  /** The dir holding keys, the signed file and dsset. */
  dir: string;
  /** DS records for the KSK (SHA-256 digest), one presentation line each. */
  ds: string[];
  /** The KSK's DNSKEY record(s), the trust anchor for validation, one presentation line each. */
  trustAnchor: string[];
  kskTag: number;
  zskTag: number;
  /** Delete `dir` (keys included). */
  remove(): Promise<void>;
}

const tagOf = (keyFile: string): number => {
  const m = /^K.*\+\d{3}\+(\d{5})$/.exec(keyFile.trim());
  if (!m) throw new Error(`dnssec-keygen printed an unexpected key name: ${keyFile}`);
  return Number(m[1]);
};

/** Records of a presentation file, comments and blank lines dropped. */
const recordLines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.replace(/;.*$/, "").trim())
    .filter(Boolean);

/** Sign `zoneFile` for `origin`; see {@link SignedZone}. */
export async function signZone(zoneFile: string, origin: string, opts: SignZoneOptions = {}): Promise<SignedZone> {
  const o = `${origin.replace(/\.$/, "")}.`;
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), "backstop-signed-")));
  try {
    return await sign(zoneFile, o, dir, opts);
  } catch (err) {
    // Keys of a failed run are of no use to anyone; a caller-given dir is the caller's to keep.
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function sign(zoneFile: string, o: string, dir: string, opts: SignZoneOptions): Promise<SignedZone> {
  const keygen = (...extra: string[]) =>
    runToolOk("dnssec-keygen", ["-q", "-K", dir, "-a", "ECDSAP256SHA256", ...extra, "-n", "ZONE", o], { cwd: dir });
  const ksk = (await keygen("-f", "KSK")).trim();
  const zsk = (await keygen()).trim();
  const file = path.join(dir, `${o}signed`);
  const nsec3 = opts.nsec3
    ? ["-3", opts.nsec3.salt === "" ? "-" : opts.nsec3.salt, "-H", String(opts.nsec3.iterations), ...(opts.nsec3.optOut ? ["-A"] : [])]
    : [];
  // -S: smart signing, publish and use the keys in -K; -d: where dsset goes; -x: only the KSK signs DNSKEY;
  // -P: skip the post-signing verification.
  await runToolOk(
    "dnssec-signzone",
    ["-S", "-x", ...(opts.verify ? [] : ["-P"]), ...(opts.end ? ["-e", opts.end] : []), "-K", dir, "-d", dir, "-o", o, "-f", file, ...nsec3, zoneFile],
    { cwd: dir, timeoutMs: 600_000 },
  );
  const dsset = await readFile(path.join(dir, `dsset-${o}`), "utf8");
  const kskKey = await readFile(path.join(dir, `${ksk}.key`), "utf8");
  const files = await readdir(dir);
  if (!files.includes(`${zsk}.private`)) throw new Error(`ZSK ${zsk} missing from ${dir}`);
  return {
    file,
    dir,
    ds: recordLines(dsset).filter((l) => /\sDS\s+\d+\s+13\s+2\s/.test(l)),
    trustAnchor: recordLines(kskKey),
    kskTag: tagOf(ksk),
    zskTag: tagOf(zsk),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
