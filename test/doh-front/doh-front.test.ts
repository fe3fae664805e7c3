/**
 * @module Real DoH clients through the HTTP/2 front (issue 7, item 5) to the real Worker: `wrangler dev`
 * (workerd, local D1 built from migrations/) serves HTTP/1.1 only; `dig +https` / `+https-get` /
 * `+http-plain`, `kdig +https` and curl (h2c with prior knowledge, and TLS with ALPN h2) reach it only
 * through the front. Every client's answer (rcode, AA, answer records) must equal what the Worker gives
 * directly for the same question; curl's bytes must equal the Worker's bytes. A zone whose answerAllow
 * admits only ::1 shows that the front forwards its client's address (`workers/doh/forwarded.ts`), and one
 * open only to 192.0.2.1 that a client's own address headers never reach the Worker (issue 20, item 1).
 * Issue 20's other DoH attacks through the front: a 100 KB POST beside legitimate queries, and HEAD, which
 * answers as the Worker does (test/stack/doh-hardening.test.ts has the Worker's side).
 *
 * The zone (test/answer/zones.ts, the differential suite's parent zone) is loaded the way the
 * transfer-service loads one: created through `/api/v1`, then a lease and a full ingest through
 * `/internal/v1` with the service's own WorkerClient.
 */
import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RRType, type RRTypeName, typeToString } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { type DohFront, startDohFront } from "../../transfer-service/server/doh-front.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { kdig } from "../peers/kdig.ts";
import { freePorts } from "../peers/ports.ts";
import { runTool } from "../peers/run-tool.ts";
import { PARENT_APEX, PARENT_ZONE } from "../answer/zones.ts";
import { digAt, norm, type Seen, seenOf } from "../stack/dig-output.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { loadZone } from "../stack/zone-load.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;

let worker: WranglerDev | undefined;
let base: string;
let front: DohFront;
/** A second front on ::1: its clients' address differs from the one the Worker sees (the front's, 127.0.0.1). */
let v6front: DohFront;

/** A zone only ::1 may query (answerAllow): proves the front forwards its client's address. */
const V6_APEX = "v6only.test.";
const V6_ZONE = `
$ORIGIN v6only.test.
$TTL 300
@    SOA  ns hostmaster 1 7200 3600 1209600 300
@    NS   ns
ns   AAAA 2001:db8::53
www  AAAA 2001:db8::80
`;

/** Hidden and open only to 192.0.2.1, the address the attack claimed. */
const SPOOF_APEX = "allow-192-0-2-1.test.";
const SPOOF_ZONE = `
$ORIGIN allow-192-0-2-1.test.
$TTL 300
@    SOA  ns hostmaster 1 7200 3600 1209600 300
@    NS   ns
ns   A    192.0.2.53
www  A    192.0.2.80
`;
/** Hidden and open only to 127.0.0.1: the front's own clients here. */
const LOOP_APEX = "allow-loopback.test.";
const LOOP_ZONE = SPOOF_ZONE.replace(/allow-192-0-2-1/g, "allow-loopback");

function query(name: string, type: number): Uint8Array {
  return queryWire(name, typeToString(type), { id: 0, edns: false });
}

/** The Worker's own answer, over HTTP/1.1 straight to wrangler dev. */
async function direct(name: string, type: number): Promise<{ seen: Seen; wire: Buffer }> {
  const res = await fetch(`${base}/dns-query`, { method: "POST", headers: { "content-type": "application/dns-message" }, body: new Uint8Array(query(name, type)) });
  expect(res.status).toBe(200);
  const wire = Buffer.from(await res.arrayBuffer());
  return { seen: seenOf(decodeMessage(wire)), wire };
}

async function dig(mode: string, port: number, name: string, type: string, server = "127.0.0.1"): Promise<Seen> {
  return (await digAt({ server, port, args: [`+${mode}`], name, type })).seen;
}

async function curl(args: string[], name: string, type: number): Promise<{ wire: Buffer; version: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "doh-front-curl-"));
  try {
    const body = path.join(dir, "q.bin");
    const out = path.join(dir, "a.bin");
    await writeFile(body, query(name, type));
    const res = await runTool(
      "curl",
      ["-sS", "--max-time", "10", ...args, "-H", "content-type: application/dns-message", "--data-binary", `@${body}`, "-o", out, "-w", "%{http_code} %{http_version}"],
      { timeoutMs: 15_000 },
    );
    expect(res.code, res.stderr).toBe(0);
    const [status, version] = res.stdout.trim().split(" ");
    expect(status).toBe("200");
    return { wire: await readFile(out), version: version ?? "" };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL });
  base = worker.base;

  const stack = { base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, PARENT_APEX, PARENT_ZONE);
  await loadZone(stack, V6_APEX, V6_ZONE, ["::1/128"]);
  await loadZone(stack, SPOOF_APEX, SPOOF_ZONE, ["192.0.2.1"], "hidden");
  await loadZone(stack, LOOP_APEX, LOOP_ZONE, ["127.0.0.1"], "hidden");

  const [h2cPort] = await freePorts(1);
  front = await startDohFront({ workerUrl: base, port: 0, h2cPort, internalToken: INTERNAL, timeoutMs: 10_000 });
  v6front = await startDohFront({ workerUrl: base, host: "::1", port: 0, internalToken: INTERNAL, timeoutMs: 10_000 });
}, 150_000);

afterAll(async () => {
  await front?.close();
  await v6front?.close();
  await worker?.stop();
});

const QUESTIONS: Array<{ name: string; type: RRTypeName; rcode: string; answers: number }> = [
  { name: "www.diff.test.", type: "A", rcode: "NOERROR", answers: 1 },
  { name: "diff.test.", type: "MX", rcode: "NOERROR", answers: 2 },
  { name: "alias2.diff.test.", type: "AAAA", rcode: "NOERROR", answers: 3 },
  { name: "nope.www.diff.test.", type: "A", rcode: "NXDOMAIN", answers: 0 },
  { name: "www.example.com.", type: "A", rcode: "REFUSED", answers: 0 },
];

describe("real DoH clients through the HTTP/2 front get the Worker's answers", () => {
  it.each(QUESTIONS)("$name $type → $rcode", async (q) => {
    const type = RRType[q.type];
    const want = await direct(q.name, type);
    expect(want.seen.rcode).toBe(q.rcode);
    expect(want.seen.answers).toHaveLength(q.answers);

    expect(await dig("https", front.port, q.name, q.type), "dig +https").toEqual(want.seen);
    expect(await dig("https-get", front.port, q.name, q.type), "dig +https-get").toEqual(want.seen);
    expect(await dig("http-plain", front.h2cPort!, q.name, q.type), "dig +http-plain (h2c)").toEqual(want.seen);

    // kdig's +https is TLS only; without +tls-ca it does not verify the self-signed certificate.
    const k = await kdig({ port: front.port, zone: q.name, type: q.type, extra: ["+https"], timeoutMs: 10_000 });
    expect(k.errors, k.stdout + k.stderr).toEqual([]);
    expect(k.stdout).toContain("HTTP/2");
    const kdigRcode = /->>HEADER<<-.*status: (\w+)/.exec(k.stdout)?.[1];
    expect({ rcode: kdigRcode, aa: k.flags.includes("aa"), answers: k.records.map((r) => norm(`${r.owner} ${r.ttl} IN ${r.type} ${r.data}`)) }, "kdig +https").toEqual(want.seen);

    const h2c = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${front.h2cPort}/dns-query`], q.name, type);
    expect(h2c.version).toBe("2");
    expect(h2c.wire.equals(want.wire), "curl h2c bytes").toBe(true);
    const tls = await curl(["-k", "--http2", `https://127.0.0.1:${front.port}/dns-query`], q.name, type);
    expect(tls.version).toBe("2");
    expect(tls.wire.equals(want.wire), "curl TLS h2 bytes").toBe(true);
  });

  it("relays the DNS JSON API and HTTP errors with content-length", async () => {
    const json = await runTool("curl", ["-sS", "-k", "--http2", "-H", "accept: application/dns-json", "-D", "-", `https://127.0.0.1:${front.port}/dns-query?name=www.diff.test&type=A`], { timeoutMs: 15_000 });
    expect(json.stdout).toMatch(/^HTTP\/2 200/);
    expect(json.stdout).toMatch(/content-length: \d+/i);
    expect(json.stdout).toContain("192.0.2.80");
    const bad = await runTool("curl", ["-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${front.h2cPort}/dns-query?dns=!!`], { timeoutMs: 15_000 });
    expect(bad.stdout).toBe("400");
  });

  it("forwards the client's address with the internal token: a zone open only to ::1 answers through the ::1 front alone", async () => {
    const fromV6 = await dig("https", v6front.port, "www.v6only.test.", "AAAA", "::1");
    expect(fromV6).toEqual({ rcode: "NOERROR", aa: true, answers: ["www.v6only.test. 300 in aaaa 2001:db8::80"] });
    expect((await dig("https", front.port, "www.v6only.test.", "AAAA")).rcode).toBe("REFUSED");
    // A client's own admin token is passed through instead, and opens the restricted zone, as operators
    // verifying a hidden zone need (issue 7).
    const admin = await curl(["-k", "--http2", "-H", `authorization: Bearer ${ADMIN}`, `https://127.0.0.1:${front.port}/dns-query`], "www.v6only.test.", RRType.AAAA);
    expect(seenOf(decodeMessage(admin.wire))).toEqual(fromV6);
  });
});

/** One request on an HTTP/2 session to the front's h2c port; resolves to status, headers and body. */
function h2(
  session: http2.ClientHttp2Session,
  req: { method?: string; path: string; headers?: Record<string, string>; body?: Uint8Array; chunks?: number },
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": req.method ?? "GET", ":path": req.path, ...req.headers });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    if (req.body) for (let at = 0; at < req.body.length; at += 8192) stream.write(req.body.subarray(at, at + 8192));
    stream.end();
  });
}

describe("through the HTTP/2 front (issue 20)", () => {
  let session: http2.ClientHttp2Session;
  beforeAll(() => {
    session = http2.connect(`http://127.0.0.1:${front.h2cPort}`);
  });
  afterAll(() => {
    session?.close();
  });
  const post = async (name: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await h2(session, { method: "POST", path: "/dns-query", headers: { "content-type": "application/dns-message", ...headers }, body: query(name, RRType.A) });
    expect(res.status).toBe(200);
    return seenOf(decodeMessage(res.body)).rcode;
  };

  it.each<{ why: string; headers: Record<string, string> }>([
    { why: "CF-Connecting-IP", headers: { "cf-connecting-ip": "192.0.2.1" } },
    { why: "X-Forwarded-For", headers: { "x-forwarded-for": "192.0.2.1" } },
    { why: "Forwarded", headers: { forwarded: "for=192.0.2.1" } },
    { why: "x-backstop-client", headers: { "x-backstop-client": "192.0.2.1" } },
    { why: "all of them", headers: { "cf-connecting-ip": "192.0.2.1", "x-forwarded-for": "192.0.2.1", forwarded: "for=192.0.2.1", "x-backstop-client": "192.0.2.1" } },
  ])("a spoofed $why gets REFUSED from the zone open to 192.0.2.1: the front sends its socket's address", async ({ headers }) => {
    expect(await post(`www.${SPOOF_APEX}`, headers)).toBe("REFUSED");
  });

  it("the socket's address opens a zone that lists it, whatever the client claims", async () => {
    expect(await post(`www.${LOOP_APEX}`)).toBe("NOERROR");
    expect(await post(`www.${LOOP_APEX}`, { "cf-connecting-ip": "192.0.2.1", "x-backstop-client": "192.0.2.1" })).toBe("NOERROR");
    // And the same zone asked of the Worker directly: no trusted address locally, so REFUSED.
    expect((await direct(`www.${LOOP_APEX}`, RRType.A)).seen.rcode).toBe("REFUSED");
  });

  it("a 100 KB POST without a Content-Length gets 413 while legitimate queries on the same session are answered", async () => {
    // Bounded: 3 rounds of 5 large POSTs beside 100 queries.
    for (let round = 0; round < 3; round++) {
      const large = Array.from({ length: 5 }, () =>
        h2(session, { method: "POST", path: "/dns-query", headers: { "content-type": "application/dns-message" }, body: new Uint8Array(100_000) }).then((r) => String(r.status)),
      );
      const legit = Array.from({ length: 100 }, () => post("www.diff.test.").catch((err: Error) => err.message));
      const [bigs, answers] = await Promise.all([Promise.all(large), Promise.all(legit)]);
      expect(new Set(bigs), `round ${round}`).toEqual(new Set(["413"]));
      expect(answers.filter((a) => a !== "NOERROR"), `round ${round}`).toEqual([]);
    }
  });

  it("HEAD answers as the Worker does: 200, the GET's content-type and content-length, no body", async () => {
    const path = `/dns-query?dns=${Buffer.from(query("www.diff.test.", RRType.A)).toString("base64url")}`;
    const worker = await fetch(`${base}${path}`, { method: "HEAD" });
    const get = await h2(session, { path });
    const head = await h2(session, { method: "HEAD", path });
    expect(worker.status).toBe(200);
    expect(head.status).toBe(worker.status);
    expect(head.headers["content-type"]).toBe(worker.headers.get("content-type"));
    expect(head.headers["content-length"]).toBe(worker.headers.get("content-length"));
    expect(head.headers["content-length"]).toBe(String(get.body.length));
    expect(head.body.length).toBe(0);
  });
});
