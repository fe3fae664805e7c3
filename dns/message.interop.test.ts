/**
 * @module Real `dig` and `kdig` read what encodeMessage writes exactly as they read knotd's original.
 *
 * A loopback UDP server answers each query with a captured knotd answer (dns/testdata), either the original
 * octets or our re-encoding of the decoded message (our compression, our truncation), ID patched to the
 * query's. Both tools print the two replies the same, apart from the lines that name the ID, the time and
 * the message size.
 */
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage } from "./message.ts";
import { typeToString } from "./constants.ts";
import { loadFixtures } from "./testdata/fixtures.ts";

const answers = new Map(loadFixtures().filter((f) => f.role === "answer").map((f) => [f.case, f.wire]));

/** Answers every query with `reply(id)` (the tools check that its question is theirs). */
async function startServer(reply: (id: number) => Uint8Array) {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, rinfo) => {
    const query = decodeMessage(new Uint8Array(msg));
    sock.send(reply(query.id), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  return { port: sock.address().port, close: () => sock.close() };
}

/** The captured octets with the ID patched. */
const asCaptured = (wire: Uint8Array) => (id: number) => {
  const out = wire.slice();
  out[0] = id >> 8;
  out[1] = id & 0xff;
  return out;
};

/** Our encoding of the captured message, with the ID patched, within `maxSize`. */
const reEncoded = (wire: Uint8Array, maxSize = 0xffff) => (id: number) =>
  encodeMessage({ ...decodeMessage(wire), id }, { maxSize }).wire;

function run(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** The tool's report without what legitimately differs: ID, timing, server port, message size. */
function normalise(out: string): string {
  return out
    .split("\n")
    .filter((l) => !/^;; (Query time|WHEN|SERVER|MSG SIZE|Received|Time|From)/.test(l))
    .map((l) => l.replace(/id: \d+/, "id: N").replace(/-p \d+/, "-p PORT").replace(/\d+(\.\d+)? ms/, "T ms").replace(/127\.0\.0\.1[@#]\d+/, "SERVER"))
    .join("\n");
}

// The fixture cases whose knotd answers are served.
const cases = ["dig-mx", "dig-srv", "dig-naptr", "dig-rp", "dig-afsdb", "dig-ptr", "dig-cname", "dig-nxdomain", "dig-nodata", "dig-referral", "dig-nsid", "dig-txt-tcp", "kdig-badvers"];

describe("dig and kdig read our encoding as they read knotd's", () => {
  const ask = async (tool: "dig" | "kdig", port: number, qname: string, qtype: string) => {
    const common = tool === "dig"
      ? ["+tries=1", "+timeout=3", "+nocookie", "+bufsize=4096", "+ignore"]
      : ["+retry=0", "+timeout=3", "+bufsize=4096", "+ignore"];
    return normalise(await run(tool, ["@127.0.0.1", "-p", String(port), ...common, qname, qtype]));
  };

  // [case, the reply the tools compare against (knotd's), ours]
  const pairs: Array<[label: string, theirs: Uint8Array, ours: (id: number) => Uint8Array]> = [
    ...cases.map((c): [string, Uint8Array, (id: number) => Uint8Array] => [c, answers.get(c)!, reEncoded(answers.get(c)!)]),
    // Our truncation of the 40-record TXT set at 1232 octets against knotd's own truncated answer:
    // the RRset does not fit, so both send TC with an empty answer section.
    ["TXT set truncated at 1232 (ours) vs knotd's TC answer", answers.get("dig-txt-udp")!, reEncoded(answers.get("dig-txt-tcp")!, 1232)],
  ];

  it.each(pairs)("%s", async (_label, theirs, ours) => {
    const question = decodeMessage(theirs).questions[0]!;
    const qtype = typeToString(question.type);
    const servers = [await startServer(asCaptured(theirs)), await startServer(ours)];
    try {
      for (const tool of ["dig", "kdig"] as const) {
        const [theirs, ours] = await Promise.all(servers.map((s) => ask(tool, s.port, question.name.toString(), qtype)));
        expect(ours).not.toMatch(/malformed|FORMERR|parse error|timed out|failed/i);
        expect(ours).toBe(theirs);
        // And the tool really printed a parsed message (kdig separates header fields with ";", dig with ",").
        expect(ours).toMatch(/->>HEADER<<- opcode: \w+[;,] status: \w+/);
      }
    } finally {
      for (const s of servers) s.close();
    }
  });
});
