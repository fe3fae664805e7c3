/**
 * @module Re-creates the captured wire fixtures in this folder: real queries from `dig` and `kdig`, and real
 * answers from `knotd`, recorded on loopback.
 *
 *     npx tsx dns/testdata/capture.ts
 *
 * How: knotd serves a small zone (every type whose RDATA holds names, a large TXT set, a delegation with
 * glue) on a free loopback port; a recording proxy listens on another (UDP and TCP), forwards to knotd and
 * keeps every message both ways. Each case runs one dig/kdig command against the proxy, and its query and
 * answer(s) are written as `<case>.query.bin` and `<case>.answer[.N].bin`, listed in `index.json`.
 *
 * IDs, cookies and TSIG times are random or time-dependent, so a re-run changes bytes but not shapes; the
 * tests read whatever `index.json` lists. Nothing here is a secret: the TSIG key exists only for this capture.
 */
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeMessage, encodeMessage } from "../message.ts";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ZONE = "example.com.";
/** A zone large enough that knotd sends its AXFR as several messages (RFC 5936 §2.2), TSIG on each. */
const LARGE_ZONE = "large.example.";
const LARGE_RECORDS = 1500;

const KEY_NAME = "capture-key.";
const KEY_SECRET = "Y2FwdHVyZS1vbmx5LWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ1Njc4OQ=="; // base64, fixture-only
const TOOL_TIMEOUT_MS = 10_000;

interface Case {
  name: string;
  tool: "dig" | "kdig";
  args: string[];
  transport: "udp" | "tcp";
  note: string;
}

/** `dig`/`kdig` arguments shared by every case: our proxy, one try, short timeout. */
function commonArgs(tool: Case["tool"], port: number): string[] {
  return tool === "dig"
    ? ["@127.0.0.1", "-p", String(port), "+tries=1", "+timeout=3"]
    : ["@127.0.0.1", "-p", String(port), "+retry=0", "+timeout=3"];
}

const d = (name: string, note: string, ...args: string[]): Case => ({
  name: `dig-${name}`,
  tool: "dig",
  args,
  transport: transportOf(args),
  note,
});
const k = (name: string, note: string, ...args: string[]): Case => ({
  name: `kdig-${name}`,
  tool: "kdig",
  args,
  transport: transportOf(args),
  note,
});

function transportOf(args: string[]): Case["transport"] {
  if (args.includes("+notcp")) return "udp";
  return args.includes("+tcp") || args.some((a) => /^(axfr|ixfr)/i.test(a)) ? "tcp" : "udp";
}

const CASES: Case[] = [
  d("plain", "no EDNS: no OPT, no compression in the query", "+noedns", "+nocookie", "+noad", ZONE, "A"),
  d("a", "dig's defaults: EDNS 1232, cookie, AD", `www.${ZONE}`, "A"),
  d("dnssec", "+dnssec: DO bit", "+dnssec", ZONE, "SOA"),
  d("nsid", "+nsid: NSID option, knotd answers with its NSID", "+nsid", ZONE, "SOA"),
  d("cookie", "+cookie with a client cookie", "+cookie=0102030405060708", ZONE, "NS"),
  d("subnet", "+subnet: ECS option", "+subnet=192.0.2.0/24", `www.${ZONE}`, "A"),
  d("bufsize", "+bufsize=4096", "+bufsize=4096", ZONE, "MX"),
  d("tcp", "+tcp: a query over TCP", "+tcp", ZONE, "SOA"),
  d("tsig", "TSIG-signed query and signed answer", "-y", `hmac-sha256:${KEY_NAME}:${KEY_SECRET}`, ZONE, "SOA"),
  d("mx", "MX answer: names compressed in RDATA (RFC 1035 type)", ZONE, "MX"),
  d("srv", "SRV answer: target never compressed (RFC 3597 §4)", `_sip._tcp.${ZONE}`, "SRV"),
  d("txt-udp", "large TXT set over UDP: truncated, TC set", "+ignore", `big.${ZONE}`, "TXT"),
  d("txt-tcp", "large TXT set over TCP", "+tcp", `big.${ZONE}`, "TXT"),
  d("nxdomain", "NXDOMAIN with SOA in authority", `nope.${ZONE}`, "A"),
  d("nodata", "NODATA: NOERROR, SOA in authority", `www.${ZONE}`, "SRV"),
  d("referral", "referral: NS in authority, glue in additional", "+norecurse", `host.sub.${ZONE}`, "A"),
  d("cname", "CNAME chain inside the zone", `alias.${ZONE}`, "A"),
  d("naptr", "NAPTR (RFC 3597 §4 decompress-only type)", ZONE, "NAPTR"),
  d("rp", "RP (RFC 3597 §4 decompress-only type)", ZONE, "RP"),
  d("afsdb", "AFSDB", ZONE, "AFSDB"),
  d("ptr", "PTR", `ptr.${ZONE}`, "PTR"),
  d("refused", "a zone knotd does not serve: REFUSED", "example.net.", "A"),
  d("axfr", "AXFR over TCP, several messages possible", ZONE, "AXFR"),
  d("ixfr", "IXFR query: SOA in the authority section (RFC 1995 §3)", `ixfr=2024010100`, ZONE),
  d("notify", "opcode NOTIFY (RFC 1996) to a primary", "+opcode=notify", "+norecurse", ZONE, "SOA"),
  d("status", "opcode STATUS: NOTIMP", "+opcode=status", ZONE, "SOA"),
  d("update", "opcode UPDATE (RFC 2136)", "+opcode=update", ZONE, "SOA"),
  k("a", "kdig's defaults", `www.${ZONE}`, "A"),
  k("dnssec-nsid-cookie", "+dnssec +nsid +cookie", "+dnssec", "+nsid", "+cookie", ZONE, "SOA"),
  k("subnet", "+subnet (IPv6)", "+subnet=2001:db8::/56", `www.${ZONE}`, "AAAA"),
  k("bufsize", "+bufsize=512 on the large TXT set: TC", "+bufsize=512", "+ignore", `big.${ZONE}`, "TXT"),
  k("padding", "+padding: EDNS padding option (RFC 7830)", "+padding=128", ZONE, "SOA"),
  k("badvers", "+edns=1: knotd answers BADVERS, an extended rcode (RFC 6891 §6.1.3)", "+edns=1", ZONE, "SOA"),
  k("unknown-option", "an unknown EDNS option is ignored", "+ednsopt=65001:beef", ZONE, "SOA"),
  k("expire", "+expire: EDNS EXPIRE option (RFC 7314)", "+expire", ZONE, "SOA"),
  k("tcp", "+tcp", "+tcp", `_sip._tcp.${ZONE}`, "SRV"),
  k("tsig", "TSIG-signed query and answer", "-y", `hmac-sha256:${KEY_NAME}:${KEY_SECRET}`, ZONE, "MX"),
  k("axfr-tsig", "TSIG-signed AXFR", "-y", `hmac-sha256:${KEY_NAME}:${KEY_SECRET}`, ZONE, "AXFR"),
  k("axfr-multi-tsig", `TSIG-signed AXFR of ${LARGE_RECORDS + 3} records in several messages (RFC 8945 §5.3.1)`, "-y", `hmac-sha256:${KEY_NAME}:${KEY_SECRET}`, LARGE_ZONE, "AXFR"),
  k("any", "ANY (RFC 8482: a minimal answer)", ZONE, "ANY"),
  k("chaos", "CHAOS class query", "-c", "CH", "version.server.", "TXT"),
];

/**
 * The zone; `changed` is the next version (serial 2024010102): www's AAAA removed, an A added, an MX
 * preference changed, so knotd serves a real IXFR difference (RFC 1995 §4).
 */
function largeZoneText(): string {
  const lines = [`$ORIGIN ${LARGE_ZONE}`, "$TTL 300", "@ SOA ns.large.example. hostmaster.large.example. 7 3600 600 86400 300", "@ NS ns", "ns A 192.0.2.1"];
  for (let i = 0; i < LARGE_RECORDS; i++) lines.push(`host${i} A 10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`);
  return `${lines.join("\n")}\n`;
}

/** Cases run after the zone has moved to serial 2024010102. */
const CASES_AFTER_CHANGE: Case[] = [
  d("ixfr-diff", "IXFR from 2024010101: one difference sequence (RFC 1995 §4)", "ixfr=2024010101", ZONE),
  k("ixfr-diff", "IXFR from 2024010101 over TCP, kdig", "+tcp", "IXFR=2024010101", ZONE),
  d("ixfr-udp", "IXFR over UDP (RFC 1995 §2): the difference if it fits", "+notcp", "ixfr=2024010101", ZONE),
];

function zoneText(changed = false): string {
  const lines = [
    "$ORIGIN example.com.",
    "$TTL 3600",
    `@ IN SOA ns1.example.com. hostmaster.example.com. ${changed ? 2024010102 : 2024010101} 7200 3600 1209600 300`,
    "@ NS ns1.example.com.",
    "@ NS ns2.example.com.",
    "@ MX 10 mail.example.com.",
    changed ? "@ MX 30 mail2.example.com." : "@ MX 20 mail2.example.com.",
    '@ NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.com.',
    "@ RP hostmaster.example.com. info.example.com.",
    "@ AFSDB 1 afs.example.com.",
    "@ A 192.0.2.1",
    "ns1 A 192.0.2.53",
    "ns2 AAAA 2001:db8::53",
    "www A 192.0.2.80",
    ...(changed ? ["new A 192.0.2.99"] : ["www AAAA 2001:db8::80"]),
    "mail A 192.0.2.25",
    "alias CNAME www.example.com.",
    "_sip._tcp SRV 0 5 5060 sip.example.com.",
    "sip A 192.0.2.60",
    "ptr PTR www.example.com.",
    'info TXT "contact: hostmaster"',
    "sub NS ns.sub.example.com.",
    "ns.sub A 192.0.2.153",
  ];
  // 40 strings of ~60 octets: about 3 KB, past any 1232-octet UDP answer.
  for (let i = 0; i < 40; i++) lines.push(`big TXT "record ${String(i).padStart(2, "0")} ${"x".repeat(50)}"`);
  return `${lines.join("\n")}\n`;
}

function knotConfig(dir: string, port: number, notifyPort: number): string {
  return [
    "server:",
    `    rundir: "${dir}"`,
    `    pidfile: "${dir}/knot.pid"`,
    `    listen: 127.0.0.1@${port}`,
    '    nsid: "backstop-capture"',
    "    background-workers: 1",
    "control:",
    `    listen: "${dir}/knot.sock"`,
    "log:",
    "  - target: stderr",
    "    any: warning",
    "database:",
    `    storage: "${dir}"`,
    "key:",
    `  - id: ${KEY_NAME}`,
    "    algorithm: hmac-sha256",
    `    secret: ${KEY_SECRET}`,
    "remote:",
    "  - id: catcher",
    `    address: 127.0.0.1@${notifyPort}`,
    "acl:",
    "  - id: xfr",
    "    address: [127.0.0.1]",
    "    action: transfer",
    "  - id: xfr-key",
    `    key: ${KEY_NAME}`,
    "    action: transfer",
    "template:",
    "  - id: default",
    `    storage: "${dir}"`,
    "    zonefile-sync: -1",
    "    zonefile-load: difference",
    "    journal-content: changes",
    "    semantic-checks: off",
    "zone:",
    `  - domain: ${ZONE}`,
    `    file: "${dir}/example.com.zone"`,
    "    acl: [xfr, xfr-key]",
    "    notify: [catcher]",
    `  - domain: ${LARGE_ZONE}`,
    `    file: "${dir}/large.example.zone"`,
    "    acl: [xfr, xfr-key]",
    "",
  ].join("\n");
}

/** A free loopback port for both UDP and TCP (bound then released; good enough for a one-off script). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port");
}

interface Recorded {
  queries: Uint8Array[];
  answers: Uint8Array[];
}

/** Splits a TCP byte stream into its 2-octet-length-framed messages (RFC 1035 §4.2.2). */
function deframe(stream: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 2 <= stream.length) {
    const len = stream.readUInt16BE(pos);
    if (pos + 2 + len > stream.length) break;
    out.push(new Uint8Array(stream.subarray(pos + 2, pos + 2 + len)));
    pos += 2 + len;
  }
  return out;
}

/** A recording proxy on `listenPort` (UDP and TCP) in front of the server on `upstreamPort`. */
async function startProxy(listenPort: number, upstreamPort: number) {
  let current: Recorded = { queries: [], answers: [] };
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    current.queries.push(new Uint8Array(msg));
    const up = dgram.createSocket("udp4");
    const rec = current;
    const timer = setTimeout(() => up.close(), 5000);
    up.on("message", (answer) => {
      rec.answers.push(new Uint8Array(answer));
      udp.send(answer, rinfo.port, rinfo.address);
      clearTimeout(timer);
      up.close();
    });
    up.send(msg, upstreamPort, "127.0.0.1");
  });
  await new Promise<void>((resolve) => udp.bind(listenPort, "127.0.0.1", resolve));
  const tcp = net.createServer((client) => {
    const rec = current;
    const fromClient: Buffer[] = [];
    const fromServer: Buffer[] = [];
    const up = net.connect(upstreamPort, "127.0.0.1");
    client.on("data", (b) => {
      fromClient.push(b);
      up.write(b);
    });
    up.on("data", (b) => {
      fromServer.push(b);
      client.write(b);
    });
    const done = () => {
      rec.queries.push(...deframe(Buffer.concat(fromClient)));
      rec.answers.push(...deframe(Buffer.concat(fromServer)));
    };
    let closed = 0;
    const onClose = () => {
      if (++closed === 2) done();
    };
    client.on("close", () => {
      up.end();
      onClose();
    });
    up.on("close", () => {
      client.end();
      onClose();
    });
    client.on("error", () => up.destroy());
    up.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => tcp.listen(listenPort, "127.0.0.1", resolve));
  return {
    take(): Recorded {
      const r = current;
      current = { queries: [], answers: [] };
      return r;
    },
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

function run(tool: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), TOOL_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function waitForSerial(port: number, serial: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await run("kdig", ["@127.0.0.1", "-p", String(port), "+retry=0", "+timeout=1", "+short", ZONE, "SOA"]);
    if (r.out.includes(String(serial))) return;
    await sleep(100);
  }
  throw new Error(`knotd did not serve serial ${serial}`);
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/**
 * Receives knotd's NOTIFY messages (RFC 1996) over UDP or TCP (knotd 3.2 sends them over TCP) and
 * acknowledges them, so knotd stops retrying. The reply is ours and not kept; only knotd's NOTIFY queries
 * are fixtures.
 */
async function startNotifyCatcher(port: number) {
  const caught: Array<{ wire: Uint8Array; transport: "udp" | "tcp" }> = [];
  const ack = (wire: Uint8Array): Uint8Array | undefined => {
    try {
      const q = decodeMessage(wire);
      return encodeMessage({ ...q, flags: { ...q.flags, qr: true }, answers: [], authorities: [], additionals: [] }).wire;
    } catch {
      return undefined; // not a message we can read: nothing to acknowledge
    }
  };
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, rinfo) => {
    const wire = new Uint8Array(msg);
    caught.push({ wire, transport: "udp" });
    const reply = ack(wire);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(port, "127.0.0.1", resolve));
  const tcp = net.createServer((conn) => {
    let pending = Buffer.alloc(0);
    conn.on("data", (b) => {
      pending = Buffer.concat([pending, b]);
      for (const wire of deframe(pending)) {
        pending = pending.subarray(2 + wire.length);
        caught.push({ wire, transport: "tcp" });
        const reply = ack(wire);
        if (reply) {
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length);
          framed.set(reply, 2);
          conn.write(framed);
        }
      }
    });
    conn.on("error", () => conn.destroy());
  });
  await new Promise<void>((resolve) => tcp.listen(port, "127.0.0.1", resolve));
  return {
    caught,
    close: () => {
      sock.close();
      tcp.close();
    },
  };
}

type IndexEntry = { file: string; role: "query" | "answer"; case: string; source: string; transport: string; command: string; note: string };

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "backstop-capture-"));
  const knotPort = await freePort();
  const notifyPort = await freePort();
  const catcher = await startNotifyCatcher(notifyPort);
  writeFileSync(path.join(dir, "example.com.zone"), zoneText());
  writeFileSync(path.join(dir, "large.example.zone"), largeZoneText());
  writeFileSync(path.join(dir, "knot.conf"), knotConfig(dir, knotPort, notifyPort));
  const knotd = spawn("knotd", ["-c", path.join(dir, "knot.conf")], { stdio: ["ignore", "inherit", "inherit"] });
  const stopKnotd = async () => {
    if (knotd.exitCode !== null) return;
    const exited = new Promise((res) => knotd.once("exit", res));
    knotd.kill("SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    if (knotd.exitCode === null) knotd.kill("SIGKILL");
  };
  try {
    await waitForSerial(knotPort, 2024010101);
    const proxyPort = await freePort();
    const proxy = await startProxy(proxyPort, knotPort);
    for (const f of readdirSync(HERE)) if (f.endsWith(".bin")) unlinkSync(path.join(HERE, f));
    const index: IndexEntry[] = [];
    const versions = {
      dig: spawnSync("dig", ["-v"], { encoding: "utf8" }).stderr.trim(),
      kdig: spawnSync("kdig", ["-V"], { encoding: "utf8" }).stdout.trim(),
      knotd: spawnSync("knotd", ["--version"], { encoding: "utf8" }).stdout.trim(),
    };
    const capture = async (c: Case) => {
      const args = [...commonArgs(c.tool, proxyPort), ...c.args];
      const res = await run(c.tool, args);
      await sleep(100); // let the proxy see the TCP close
      const rec = proxy.take();
      if (rec.queries.length === 0 || rec.answers.length === 0) {
        throw new Error(`${c.name}: captured ${rec.queries.length} queries, ${rec.answers.length} answers\n${res.out}`);
      }
      const command = `${c.tool} ${c.args.join(" ")}`.replace(KEY_SECRET, "<fixture key>");
      // Only the first query: a TC answer makes dig retry over TCP, which we do not want as a second fixture.
      const q = `${c.name}.query.bin`;
      writeFileSync(path.join(HERE, q), rec.queries[0]!);
      index.push({ file: q, role: "query", case: c.name, source: versions[c.tool], transport: c.transport, command, note: c.note });
      const answers = c.transport === "udp" ? rec.answers.slice(0, 1) : rec.answers;
      answers.forEach((a, i) => {
        const file = answers.length === 1 ? `${c.name}.answer.bin` : `${c.name}.answer.${i}.bin`;
        writeFileSync(path.join(HERE, file), a);
        index.push({ file, role: "answer", case: c.name, source: versions.knotd, transport: c.transport, command, note: c.note });
      });
      console.log(`${c.name}: ${rec.queries[0]!.length} octets query, ${answers.map((a) => a.length).join("+")} octets answer`);
    };
    for (const c of CASES) await capture(c);

    // The next version: knotd computes the difference from the zone file and journals it.
    catcher.caught.length = 0;
    writeFileSync(path.join(dir, "example.com.zone"), zoneText(true));
    const reload = await run("knotc", ["-c", path.join(dir, "knot.conf"), "-t", "10", "zone-reload", ZONE]);
    if (reload.code !== 0) throw new Error(`knotc zone-reload failed: ${reload.out}`);
    await waitForSerial(knotPort, 2024010102);
    for (const c of CASES_AFTER_CHANGE) await capture(c);
    for (let i = 0; i < 50 && catcher.caught.length === 0; i++) await sleep(100);
    const notify = catcher.caught[0];
    if (notify === undefined) throw new Error("knotd sent no NOTIFY after the change");
    writeFileSync(path.join(HERE, "knotd-notify.query.bin"), notify.wire);
    index.push({
      file: "knotd-notify.query.bin", role: "query", case: "knotd-notify", source: versions.knotd, transport: notify.transport,
      command: "knotc zone-reload (serial 2024010101 → 2024010102)", note: "NOTIFY sent by knotd after a change (RFC 1996 §3)",
    });
    console.log(`knotd-notify: ${notify.wire.length} octets over ${notify.transport}`);

    writeFileSync(path.join(HERE, "index.json"), `${JSON.stringify(index, null, 1)}\n`);
    writeFileSync(path.join(HERE, "example.com.zone"), zoneText());
    writeFileSync(path.join(HERE, "example.com.changed.zone"), zoneText(true));
    await proxy.close();
  } finally {
    await stopKnotd();
    catcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
