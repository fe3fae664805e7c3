/**
 * @module Zone files against the real tools. For every fixture zone:
 * 1. `named-checkzone` accepts it;
 * 2. we parse it (streamed from disk) into a Zone and print it in canonical order;
 * 3. `named-checkzone -D` of our file lists the same records as `named-checkzone -D` of the original;
 * 4. Knot loads our file (`knotc zone-check`, offline, semantic checks on);
 * 5. printing is idempotent: our file parsed and printed again is the same text;
 * 6. our presentation text is BIND's, whitespace aside (BIND splits long base 64 and hex), except for the
 *    types we print in RFC 3597 form on purpose (SIG, PX, NXT: Knot 3.2 does not know them);
 * 7. knotd serves our file, and its AXFR as kdig prints it (Knot's presentation) parses back to the same
 *    records (in canonical form: Knot lowercases names inside rdata).
 *
 * Signed fixtures are signed here, at test time, with fresh keys (`dnssec-keygen`, `dnssec-signzone`; NSEC,
 * and NSEC3 with salt and iterations), so nothing in the repository ever expires; `dnssec-verify` of our
 * printed file then proves every RRSIG, DNSKEY, NSEC and NSEC3 came through byte for byte.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typeToString } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { Zone } from "../../dns/testing/zone/zone.ts";
import { parseZone, type ZoneRecord } from "../../dns/zonefile/parser.ts";
import { printZone, recordToText } from "../../dns/zonefile/printer.ts";
import { canonicalRdata } from "../../dns/rdata/index.ts";
import { textChunks } from "../../dns/zonefile/text-chunks.ts";
import { kdig, startKnotd } from "../peers/index.ts";
import { runTool, runToolOk } from "../peers/run-tool.ts";

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "backstop-zonefile-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** `named-checkzone -D` output as a sorted list of records with whitespace runs made single spaces. */
async function bindRecords(origin: string, file: string, cwd = path.dirname(file)): Promise<string[]> {
  const out = await runToolOk("named-checkzone", ["-q", "-D", "-o", "-", origin, file], { cwd });
  return out
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith(";"))
    .map((l) => l.trim().replace(/\s+/g, " "))
    .sort();
}

/** The file's octets as a Web stream, in small chunks so that tokens and escapes straddle them. */
function octets(file: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(file, { highWaterMark: 1024 })) as unknown as ReadableStream<Uint8Array>;
}

/** Parses `file` as a stream (with `$INCLUDE` resolved in its directory) into a Zone. */
async function loadZone(origin: string, file: string): Promise<Zone> {
  const dir = path.dirname(file);
  const records = parseZone(textChunks(octets(file)), {
    origin: Name.parse(origin),
    file: path.basename(file),
    include: (p) => textChunks(octets(path.resolve(dir, p))),
  });
  return Zone.from(Name.parse(origin), records);
}

async function printTo(zone: Zone, file: string): Promise<string> {
  const text = [...printZone(zone.records())].join("");
  await writeFile(file, text);
  return text;
}

/** `knotc zone-check` against a throwaway config; returns the tool's complaint, or "" when it loads. */
async function knotCheck(origin: string, file: string): Promise<string> {
  const dir = await mkdtemp(path.join(work, "knot-"));
  const conf = path.join(dir, "knot.conf");
  await writeFile(
    conf,
    `server:\n  rundir: "${dir}"\ndatabase:\n  storage: "${dir}"\ntemplate:\n  - id: default\n    storage: "${dir}"\n    semantic-checks: on\n` +
      `zone:\n  - domain: ${origin}.\n    file: "${file}"\n`,
  );
  const res = await runTool("knotc", ["-c", conf, "zone-check", `${origin}.`], { timeoutMs: 30_000 });
  return res.code === 0 ? "" : (res.stderr + res.stdout).trim();
}

interface Case {
  origin: string;
  file: string;
  /** Working directory for named-checkzone (for `$INCLUDE` paths). */
  cwd?: string;
}

async function checkRoundTrip({ origin, file, cwd }: Case): Promise<{ zone: Zone; printed: string; ours: string }> {
  const check = await runTool("named-checkzone", [origin, file], { cwd: cwd ?? path.dirname(file) });
  expect(check.code, check.stdout + check.stderr).toBe(0);

  const zone = await loadZone(origin, file);
  const ours = path.join(work, `${origin}.${path.basename(file)}.printed`);
  const printed = await printTo(zone, ours);

  const expected = await bindRecords(origin, file, cwd);
  expect(await bindRecords(origin, ours)).toEqual(expected);
  expect(zone.recordCount).toBe(expected.length);

  expect(await knotCheck(origin, ours)).toBe("");

  const again = await loadZone(origin, ours);
  expect([...printZone(again.records())].join("")).toBe(printed);

  const squeeze = (l: string) => l.replace(/\s+/g, "");
  const generic = / IN TYPE(24|26|30) /;
  const oursText = printed.split("\n").filter((l) => l !== "" && !generic.test(l)).map(squeeze).sort();
  const bindText = expected.filter((l) => !/ IN (SIG|PX|NXT) /.test(l)).map(squeeze).sort();
  expect(oursText).toEqual(bindText);
  return { zone, printed, ours };
}

const LISTED = "A AAAA NS CNAME DNAME SOA MX TXT SRV PTR CAA NAPTR SSHFP TLSA SMIMEA HINFO LOC URI SVCB HTTPS DS CDS DNSKEY CDNSKEY NSEC3PARAM ZONEMD CSYNC OPENPGPKEY RP AFSDB RT PX NXT MINFO SPF TYPE65280".split(" ");

describe("fixture zones through named-checkzone and knotc", () => {
  it("every-type.example: every listed type survives parse → print", async () => {
    const { zone } = await checkRoundTrip({ origin: "every-type.example", file: path.join(FIXTURES, "every-type.example.zone") });
    const types = new Set([...zone.records()].map((r: ZoneRecord) => typeToString(r.type)));
    for (const t of LISTED) expect(types.has(t), t).toBe(true);
  });

  it("tricky.example: escapes, TTL units, $ORIGIN changes, generic rdata", async () => {
    await checkRoundTrip({ origin: "tricky.example", file: path.join(FIXTURES, "tricky.example.zone") });
  });

  it("octets.example: octets that are not UTF-8 stay octets", async () => {
    const { zone } = await checkRoundTrip({ origin: "octets.example", file: path.join(FIXTURES, "octets.example.zone") });
    expect(zone.node(Name.parse("\\255\\254.octets.example."))).toBeDefined();
  });

  it("include.example: $INCLUDE with its own origin", async () => {
    const { zone } = await checkRoundTrip({ origin: "include.example", file: path.join(FIXTURES, "include.example.zone") });
    expect(zone.node(Name.parse("web.hosts.include.example."))?.rrsets.length).toBe(2);
  });

  it("BIND's own -D output parses and prints to the same records", async () => {
    const original = path.join(FIXTURES, "every-type.example.zone");
    const dumped = path.join(work, "every-type.dumped");
    await writeFile(dumped, await runToolOk("named-checkzone", ["-q", "-D", "-o", "-", "every-type.example", original]));
    await checkRoundTrip({ origin: "every-type.example", file: dumped });
  });
});

/**
 * Serves `file` (our printed output) from knotd and checks that its AXFR, in Knot's own presentation,
 * parses to the records of `original`. Knot stores names inside rdata lowercased (an MX to
 * `Mail.Example.NET.` comes back as `mail.example.net.`), so the comparison is in canonical form (RFC 4034
 * §6.2); everything else, TXT case included, must match octet for octet.
 */
async function knotdServesSame(origin: string, file: string, original: Zone): Promise<void> {
  const peer = await startKnotd({ zones: [{ name: origin, file }] });
  try {
    // +crypto undoes the harness's +nocrypto: keys and signatures must come through whole.
    const axfr = await kdig({ port: peer.port, zone: origin, type: "AXFR", extra: ["+tcp", "+crypto"] });
    expect(axfr.code, axfr.stderr).toBe(0);
    const text = axfr.stdout.split("\n").filter((l) => !l.startsWith(";")).join("\n");
    const served = await Zone.from(Name.parse(origin), parseZone([text], { origin: Name.parse(origin) }));
    const canonical = (z: Zone) =>
      [...z.records()].map((r) => recordToText({ ...r, name: r.name.lower(), rdata: canonicalRdata(r.type, r.rdata) }));
    expect(canonical(served)).toEqual(canonical(original));
    expect(served.recordCount).toBe(original.recordCount);
  } finally {
    await peer.stop();
  }
}

describe("knotd serves our printed file", () => {
  it.each(["every-type.example", "tricky.example", "octets.example"])("%s: its AXFR, in Knot's presentation, parses to the original's records", async (origin) => {
    const original = await loadZone(origin, path.join(FIXTURES, `${origin}.zone`));
    const ours = path.join(work, `${origin}.for-knotd`);
    await printTo(original, ours);
    await knotdServesSame(origin, ours, original);
  });
});

/** [label, dnssec-signzone options]. */
const SIGNINGS: Array<[string, string[]]> = [
  ["NSEC", []],
  ["NSEC3 with salt and iterations", ["-3", "AABBCCDD", "-H", "5"]],
  ["NSEC3 opt-out, no salt", ["-3", "-", "-H", "0", "-A"]],
];

describe("DNSSEC-signed zones, signed at test time", () => {
  it.each(SIGNINGS)("%s: signatures still verify after parse → print", async (_label, options) => {
    const origin = "signed.example";
    const dir = await mkdtemp(path.join(work, "sign-"));
    const source = path.join(dir, "signed.example.zone");
    await copyFile(path.join(FIXTURES, "signed.example.zone"), source);
    await runToolOk("dnssec-keygen", ["-q", "-K", dir, "-a", "ECDSAP256SHA256", "-f", "KSK", origin], { cwd: dir });
    await runToolOk("dnssec-keygen", ["-q", "-K", dir, "-a", "ECDSAP256SHA256", origin], { cwd: dir });
    const signed = path.join(dir, "signed.example.zone.signed");
    await runToolOk("dnssec-signzone", ["-q", "-S", "-K", dir, "-o", origin, "-f", signed, ...options, source], { cwd: dir });

    const { zone, ours } = await checkRoundTrip({ origin, file: signed });
    const text = await readFile(ours, "utf8");
    expect(text).toMatch(/ RRSIG /);
    expect(text).toMatch(options.includes("-3") ? / NSEC3 / : / NSEC /);
    expect(zone.recordCount).toBeGreaterThan(40);

    const verify = await runTool("dnssec-verify", ["-o", origin, ours], { cwd: dir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    await knotdServesSame(origin, ours, zone);
  });
});
