/**
 * @module Real `kdig -y` and `dig -y` against a UDP socket we open: our server side verifies the query
 * each tool signed, and answers with our signed response, which each tool verifies in turn. Then the
 * negative cases: an answer signed with another secret is flagged by the tool, and a query signed with
 * a key we do not hold gets our unsigned BADKEY answer (RFC 8945 §5.3.2), which the tool reports.
 */
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RRType, Rcode } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import type { TsigKey as PreparedKey, VerifiedRequest } from "../../dns/tsig.ts";
import { TSIG_ALGORITHMS, TsigError, findTsig, prepareTsigKey, signResponse, tsigErrorResponse, verifyRequest } from "../../dns/tsig.ts";
import type { TsigAlgorithm } from "../../dns/tsig.ts";
import { Name } from "../../dns/name.ts";
import { soaRecord } from "../../dns/tsig/testing.ts";
import { WireWriter } from "../../dns/wire/writer.ts";
import { WireReader } from "../../dns/wire/reader.ts";
import { runTool } from "../peers/run-tool.ts";

const ZONE = "capture.test.";
const secrets = Object.fromEntries(TSIG_ALGORITHMS.map((a) => [a, randomBytes(32).toString("base64")])) as Record<TsigAlgorithm, string>;
const keyName = (alg: TsigAlgorithm) => `${alg}.Capture.Key.`; // mixed case on purpose: names compare case-insensitively
const ourKeys = new Map<TsigAlgorithm, PreparedKey>();

/** How our socket answers the next query. */
type Mode = "sign" | "sign-with-wrong-secret" | "sign-with-our-spelling";
let mode: Mode = "sign";
const seen: { request: Uint8Array; verified?: VerifiedRequest; error?: TsigError }[] = [];
let socket: dgram.Socket;
let port = 0;

/** The SOA answer to a query: header and question copied, QR and AA set, one SOA record. */
function soaAnswer(query: Uint8Array, questionEnd: number): Uint8Array {
  const w = new WireWriter();
  w.bytes(query.subarray(0, questionEnd));
  w.setU16(2, 0x8400 | (((query[2]! << 8) | query[3]!) & 0x0100)); // QR AA, RD copied
  w.setU16(6, 1);
  w.setU16(8, 0);
  w.setU16(10, 0);
  const rr = soaRecord(ZONE, `ns.${ZONE}`, `admin.${ZONE}`, 2026112601, [3600, 600, 86400, 300]);
  w.name(Name.parse(rr.name));
  w.u16(rr.type);
  w.u16(1);
  w.u32(3600);
  const at = w.mark();
  w.u16(0);
  rr.rdata(w);
  w.setU16(at, w.length - at - 2);
  return w.finish();
}

function questionEnd(query: Uint8Array): number {
  const r = new WireReader(query, 12);
  r.skipName();
  r.bytes(4);
  return r.offset;
}

async function answer(request: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    const verified = await verifyRequest(request, (name) => [...ourKeys.values()].find((k) => k.name.equals(name)));
    seen.push({ request, verified });
    if (!verified) return undefined;
    const key =
      mode === "sign-with-wrong-secret"
        ? await prepareTsigKey({ name: verified.key.name, algorithm: verified.key.algorithm, secret: randomBytes(32) }, nodeHmac)
        : verified.key;
    const reply = soaAnswer(request, questionEnd(request));
    // Given the verified request, signResponse repeats its spelling of the key name (kdig needs it).
    if (mode === "sign") return await signResponse(reply, verified);
    return await signResponse(reply, key, verified.mac);
  } catch (err) {
    if (!(err instanceof TsigError)) throw err;
    seen.push({ request, error: err });
    return tsigErrorResponse(request, err);
  }
}

beforeAll(async () => {
  for (const alg of TSIG_ALGORITHMS) ourKeys.set(alg, await prepareTsigKey({ name: keyName(alg), algorithm: alg, secret: secrets[alg] }, nodeHmac));
  socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    void answer(new Uint8Array(msg)).then((reply) => {
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  port = (socket.address() as AddressInfo).port;
});

afterAll(() => socket?.close());

const tools = {
  kdig: (alg: TsigAlgorithm, name: string, secret: string) =>
    runTool("kdig", [`@127.0.0.1`, "-p", String(port), "+retry=0", "+timeout=2", "-y", `${alg}:${name}:${secret}`, ZONE, "SOA"], { timeoutMs: 10_000 }),
  dig: (alg: TsigAlgorithm, name: string, secret: string) =>
    runTool("dig", [`@127.0.0.1`, "-p", String(port), "+tries=1", "+timeout=2", "-y", `${alg}:${name}:${secret}`, ZONE, "SOA"], { timeoutMs: 10_000 }),
};
type Tool = keyof typeof tools;
const rows = (Object.keys(tools) as Tool[]).flatMap((tool) => TSIG_ALGORITHMS.map((alg) => ({ tool, alg })));

/** What the tool says when a reply's TSIG does not verify. */
const TSIG_FAILURE = /reply verification|couldn't verify signature|tsig verify failure|could not be validated/i;

// One exchange at a time: `mode` and `seen` belong to the exchange in flight.
describe.sequential("dig and kdig, signed with -y", () => {
  test.each(rows)("$tool -y $alg: we verify its query, it verifies our answer", async ({ tool, alg }) => {
    mode = "sign";
    seen.length = 0;
    const res = await tools[tool](alg, keyName(alg).toLowerCase(), secrets[alg]);
    expect(seen).toHaveLength(1);
    const { verified, request } = seen[0]!;
    expect(verified?.key.algorithm).toBe(alg);
    expect(findTsig(request)!.record.keyName.toString().toLowerCase()).toBe(keyName(alg).toLowerCase());
    expect(res.stdout + res.stderr).not.toMatch(TSIG_FAILURE);
    expect(res.stdout).toMatch(/status: NOERROR/);
    expect(res.stdout).toContain("2026112601");
  });

  test.each((Object.keys(tools) as Tool[]).map((tool) => ({ tool })))("$tool flags our answer signed with another secret", async ({ tool }) => {
    mode = "sign-with-wrong-secret";
    seen.length = 0;
    const res = await tools[tool]("hmac-sha256", keyName("hmac-sha256"), secrets["hmac-sha256"]);
    expect(seen[0]?.verified).toBeDefined();
    expect(res.stdout + res.stderr).toMatch(TSIG_FAILURE);
  });

  // Why responses repeat the request's spelling of the key name: the same key and MAC answered as
  // "hmac-sha256.Capture.Key." to a query signed as "hmac-sha256.capture.key." is fine for dig (names
  // compare case-insensitively, RFC 8945 §4.3.3), but kdig 3.2 reports "TSIG key not recognized".
  test.each([
    { tool: "dig" as Tool, accepted: true },
    { tool: "kdig" as Tool, accepted: false },
  ])("$tool and an answer that spells the key name in another case: accepted=$accepted", async ({ tool, accepted }) => {
    mode = "sign-with-our-spelling";
    seen.length = 0;
    const res = await tools[tool]("hmac-sha256", keyName("hmac-sha256").toLowerCase(), secrets["hmac-sha256"]);
    expect(seen[0]?.verified).toBeDefined();
    if (accepted) {
      expect(res.stdout + res.stderr).not.toMatch(TSIG_FAILURE);
      expect(res.stdout).toContain("2026112601");
    } else {
      expect(res.stdout + res.stderr).toMatch(/TSIG key not recognized/);
    }
  });

  test.each((Object.keys(tools) as Tool[]).map((tool) => ({ tool })))("$tool gets our unsigned BADKEY for a key we do not hold", async ({ tool }) => {
    mode = "sign";
    seen.length = 0;
    const res = await tools[tool]("hmac-sha256", "stranger.key.", secrets["hmac-sha256"]);
    expect(seen[0]?.error).toMatchObject({ code: "unknown-key", tsigError: Rcode.BADKEY });
    expect(res.stdout + res.stderr).toMatch(/NOTAUTH|BADKEY/);
  });
});

test("the SOA answer helper writes one SOA", () => {
  const q = new WireWriter();
  q.u16(1);
  q.u16(0);
  q.u16(1);
  q.u16(0);
  q.u16(0);
  q.u16(0);
  q.name(Name.parse(ZONE));
  q.u16(RRType.SOA);
  q.u16(1);
  const query = q.finish();
  const a = soaAnswer(query, questionEnd(query));
  expect([a[6], a[7]]).toEqual([0, 1]);
});
