/**
 * @module The scripted primary: its text format (what each line becomes, and errors that name the line)
 * and its server (the rules played in order over UDP and TCP, TSIG streams, `close`, `silence`, NOTIFY,
 * and `drop-if-blocked` dropping a client that stops reading, as knotd does).
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Opcode, Rcode, RRClass, RRType } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { decodeMessage, encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { prepareTsigKey } from "../../dns/tsig/key.ts";
import { signRequest } from "../../dns/tsig/sign.ts";
import { TsigStreamVerifier } from "../../dns/tsig/verify.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import { parseScript, ScriptError, soaSerial, startScriptedPrimary, type ScriptedPrimary } from "./scripted-primary.ts";

const SECRET = randomBytes(32).toString("base64");
const files: Record<string, string> = {
  "v1.zone": "@ 3600 SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n",
  "v2.zone": "@ 3600 SOA ns1 hostmaster 2 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.2\n",
  "bad.zone": "@ 3600 SOA ns1 hostmaster\n",
  "no-soa.zone": "@ 3600 NS ns1\n",
};
const read = (name: string) => files[name] ?? "";
const script = (body: string) => parseScript(`zone unit.test\nversion 1 v1.zone\nversion 2 v2.zone\nkey k. hmac-sha256 ${SECRET}\n${body}`, read, "unit.script");

describe("parseScript", () => {
  it("reads versions, generated records, keys and rules with their steps", () => {
    const s = script(`generate 2 1-3 r$ 60 TXT "row $"   # three more records
on SOA over udp twice
    soa 1
on IXFR from 1 signed
    message
        soa 2
        soa 1
        ns1 A 192.0.2.1      # deleted
        soa 2
        ns1 A 192.0.2.2
        soa 2
    close
on AXFR always
    drop-if-blocked 1500
    zone 2 per 2
    notify 2 over tcp
    rcode NOTAUTH unsigned
    tsig-error BADTIME clock +3600
    pause 10
    silence
`);
    expect(s.zone.toString()).toBe("unit.test.");
    expect(s.versions.get("2")!.length).toBe(6);
    expect(s.versions.get("2")!.at(-1)!.name.toString()).toBe("r3.unit.test.");
    expect(s.keys).toEqual([{ name: "k.", algorithm: "hmac-sha256", secret: SECRET }]);
    expect(s.exchanges.map((e) => [e.query, e.times])).toEqual([
      [{ qtype: RRType.SOA, transport: "udp" }, 2],
      [{ qtype: RRType.IXFR, fromSerial: 1, signed: true }, 1],
      [{ qtype: RRType.AXFR }, "always"],
    ]);
    const ixfr = s.exchanges[1]!.steps;
    expect(ixfr.map((st) => st.kind)).toEqual(["message", "close"]);
    const records = (ixfr[0] as { records: ResourceRecord[] }).records;
    expect(records.map((rr) => (rr.type === RRType.SOA ? `SOA ${soaSerial(rr)}` : rr.name.toString()))).toEqual([
      "SOA 2",
      "SOA 1",
      "ns1.unit.test.",
      "SOA 2",
      "ns1.unit.test.",
      "SOA 2",
    ]);
    expect(s.exchanges[2]!.steps).toMatchObject([
      { kind: "drop-if-blocked", ms: 1500 },
      { kind: "zone", version: "2", per: 2 },
      { kind: "notify", version: "2", transport: "tcp" },
      { kind: "message", rcode: Rcode.NOTAUTH, signed: false, records: [] },
      { kind: "tsig-error", error: Rcode.BADTIME, clockOffsetS: 3600 },
      { kind: "pause", ms: 10 },
      { kind: "silence" },
    ]);
  });

  it.each([
    ["a step outside a rule", "    soa 1", /unit.script:5: a step must be indented/],
    ["an unknown version", "on SOA\n    soa 7", /unit.script:6: no version "7"/],
    ["an unknown step", "on SOA\n    shout", /unit.script:6: unknown step "shout"/],
    ["an unknown rcode", "on SOA\n    rcode LOUD", /unknown RCODE LOUD/],
    ["a TSIG error that is not one", "on SOA\n    tsig-error NXDOMAIN", /unit.script:6: usage: tsig-error/],
    ["an unknown rule word", "on SOA quickly", /unit.script:5: unknown word "quickly"/],
    ["a bad record", "on SOA\n    message\n        www A not-an-address", /unit.script:7:/],
    ["a bad version file", "version 3 bad.zone", /unit.script:5: in bad.zone: /],
    ["a version without its SOA first", "version 3 no-soa.zone", /unit.script:5: no-soa.zone must begin with the zone's SOA/],
  ])("names the line: %s", (_name, body, match) => {
    expect(() => script(body)).toThrow(ScriptError);
    expect(() => script(body)).toThrow(match);
  });
});

const zone = Name.parse("unit.test");
const running: ScriptedPrimary[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
async function start(body: string): Promise<ScriptedPrimary> {
  const p = await startScriptedPrimary(script(body));
  running.push(p);
  return p;
}

function query(qtype: number, authority?: ResourceRecord): Uint8Array {
  return encodeMessage({
    id: 4242,
    opcode: Opcode.QUERY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: zone, type: qtype, class: RRClass.IN }],
    answers: [],
    authorities: authority ? [authority] : [],
    additionals: [],
  }).wire;
}

/** One UDP query; the reply, or undefined after `ms`. */
function udpAsk(port: number, wire: Uint8Array, ms = 300): Promise<Message | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, ms);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(decodeMessage(new Uint8Array(m)));
    });
    s.send(wire, port, "127.0.0.1");
  });
}

/** One TCP query; the raw messages until the server closes or `ms` of quiet. */
function tcpAsk(port: number, wire: Uint8Array, ms = 300): Promise<{ messages: Uint8Array[]; closed: boolean }> {
  return new Promise((resolve) => {
    const messages: Uint8Array[] = [];
    const decoder = new FrameDecoder();
    const s = connect({ host: "127.0.0.1", port }, () => s.write(frame(wire)));
    let timer = setTimeout(() => finish(false), ms);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ messages, closed });
    };
    s.on("data", (d) => {
      messages.push(...decoder.push(new Uint8Array(d)));
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), ms);
    });
    s.on("end", () => finish(true));
    s.on("error", () => finish(true));
  });
}

describe("startScriptedPrimary", () => {
  it("plays rules in order over UDP and TCP, logs a query no rule fits, and says what was left unplayed", async () => {
    const p = await start(`on SOA over udp
    soa 1
on SOA over udp
    soa 2
on AXFR over tcp
    zone 2 per 2
on IXFR
    rcode NOTIMP
`);
    const first = await udpAsk(p.port, query(RRType.SOA));
    expect(first!.id).toBe(4242);
    expect(first!.flags.aa && first!.flags.qr).toBe(true);
    expect(soaSerial(first!.answers[0]!)).toBe(1);
    expect(soaSerial((await udpAsk(p.port, query(RRType.SOA)))!.answers[0]!)).toBe(2);
    expect(await udpAsk(p.port, query(RRType.SOA))).toBeUndefined();
    const axfr = await tcpAsk(p.port, query(RRType.AXFR));
    // SOA, NS, A, SOA: two records a message.
    expect(axfr.messages.map((m) => decodeMessage(m).answers.length)).toEqual([2, 2]);
    expect(decodeMessage(axfr.messages[1]!).questions).toEqual([]);
    expect(p.unexpected()).toEqual(["SOA over udp"]);
    expect(p.unplayed()).toEqual(["line 11: on IXFR"]);
    expect(p.transcript).toContain("AXFR: sent 2 messages");
  });

  it("signs every message of a signed query's reply, leaves a message marked unsigned bare, and sends a TSIG error", async () => {
    const p = await start(`on AXFR signed
    zone 1 per 1
on SOA signed
    rcode NOTAUTH unsigned
on SOA signed
    tsig-error BADTIME clock +3600
`);
    const key = await prepareTsigKey({ name: "k.", algorithm: "hmac-sha256", secret: SECRET }, nodeHmac);
    const signed = await signRequest(query(RRType.AXFR), key);
    const axfr = await tcpAsk(p.port, signed.message);
    expect(axfr.messages).toHaveLength(4);
    const verifier = new TsigStreamVerifier(key, signed.mac);
    for (const m of axfr.messages) expect(await verifier.next(m)).toBeDefined();
    verifier.finish();

    const soaQuery = await signRequest(query(RRType.SOA), key);
    const notauth = await udpAsk(p.port, soaQuery.message);
    expect(notauth!.rcode).toBe(Rcode.NOTAUTH);
    expect(notauth!.tsig).toBeUndefined();

    // BADTIME with no MAC, the primary's clock an hour ahead: the verifier reads the skew from it.
    const again = await signRequest(query(RRType.SOA), key);
    const badtime = await new Promise<Uint8Array>((resolve) => {
      const s = createSocket("udp4");
      s.on("message", (m) => {
        s.close();
        resolve(new Uint8Array(m));
      });
      s.send(again.message, p.port, "127.0.0.1");
    });
    const err = await new TsigStreamVerifier(key, again.mac).next(badtime).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/\(BADTIME\): clock skew of 3600 seconds/);
  });

  it("matches an IXFR by the serial it comes from; `close` ends the connection and `silence` sends nothing", async () => {
    const p = await start(`on IXFR from 2
    soa 2
on IXFR from 1
    close
on AXFR
    silence
`);
    const ours = script("").versions.get("1")![0]!;
    const closed = await tcpAsk(p.port, query(RRType.IXFR, ours));
    expect(closed).toEqual({ messages: [], closed: true });
    expect(await tcpAsk(p.port, query(RRType.AXFR))).toEqual({ messages: [], closed: false });
    expect(p.transcript.slice(0, 2)).toEqual(["IXFR over tcp from 1: rule at line 7", "IXFR: sent 0 messages"]);
  });

  it("sends NOTIFY with a version's SOA over UDP and over TCP", async () => {
    const p = await start(`on SOA
    notify 2
    notify over tcp
`);
    const seen: Array<{ transport: string; message: Message }> = [];
    const udp = createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    udp.on("message", (m) => seen.push({ transport: "udp", message: decodeMessage(new Uint8Array(m)) }));
    const tcp = createServer((s: Socket) => {
      const decoder = new FrameDecoder();
      s.on("data", (d) => {
        for (const m of decoder.push(new Uint8Array(d))) seen.push({ transport: "tcp", message: decodeMessage(m) });
        s.end();
      });
    });
    const port = udp.address().port;
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, "127.0.0.1", () => resolve());
    });
    try {
      p.notifyTo = { address: "127.0.0.1", port };
      await udpAsk(p.port, query(RRType.SOA), 100);
      await p.waitFor(/NOTIFY sent over tcp/, 10_000);
      // "sent" is the primary's side: wait, bounded, until both NOTIFYs have also arrived here.
      await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 10_000, interval: 20 });
      expect(seen.map((n) => [n.transport, n.message.opcode, n.message.answers.map(soaSerial)])).toEqual([
        ["udp", Opcode.NOTIFY, [2]],
        ["tcp", Opcode.NOTIFY, []],
      ]);
    } finally {
      udp.close();
      await new Promise((r) => tcp.close(r));
    }
  });

  it("drop-if-blocked: a client that sends AXFR and never reads is dropped once a write has waited that long", async () => {
    // Far more than loopback's socket buffers hold, so the writes must block on a reader that does not read.
    const p = await start(`generate 1 1-40000 r$ 300 TXT "${"x".repeat(240)}"
on AXFR
    drop-if-blocked 300
    zone 1 per 200
`);
    const s = connect({ host: "127.0.0.1", port: p.port }, () => s.write(frame(query(RRType.AXFR))));
    s.pause();
    try {
      const line = await p.waitFor(/AXFR: (dropped|sent)/, 20_000);
      expect(line).toBe("AXFR: dropped the reader (a write waited 300 ms)");
    } finally {
      s.destroy();
    }
  });
});
