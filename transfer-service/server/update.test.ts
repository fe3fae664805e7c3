/**
 * @module Who may send an RFC 2136 UPDATE (issue 22), as the service decides before the Worker sees it: a
 * table over the zone section, the zone's model, `updateAllow` by address, and TSIG (unsigned, the named
 * key, a key named only for another address, a key we do not hold, a bad MAC). The handler is called with a
 * source address in its context (no packet leaves the process) and a fake Worker that records what reaches
 * it; an applied update is answered signed and announced on `CommitEvents`.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Opcode, Rcode, RRClass, RRType } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { noFlags } from "../../dns/header.ts";
import { decodeMessage, encodeMessage, type Message } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { prepareTsigKey } from "../../dns/tsig/key.ts";
import { signRequest } from "../../dns/tsig/sign.ts";
import { verifyResponse } from "../../dns/tsig/verify.ts";
import type { UpdateRequest, ZoneConfigList } from "../../contract/internal-v1.ts";
import { createLogger } from "../ops/log.ts";
import { CommitEvents } from "./query/commit-watch.ts";
import { createUpdateHandler } from "./update.ts";

const log = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, done) => done() }) });
const updKey = { name: "upd-key", algorithm: "hmac-sha256" as const, secret: Buffer.from("update-key-secret-0123456789abcd").toString("base64") };
const farKey = { name: "far-key", algorithm: "hmac-sha256" as const, secret: Buffer.from("far-key-secret-0123456789abcdefg").toString("base64") };

function zone(model: "primary" | "secondary"): ZoneConfigList {
  return {
    zones: [{ name: "u.test", model, updateAllow: [{ address: "127.0.0.0/8", tsigKey: "upd-key" }, { address: "192.0.2.7", tsigKey: "far-key" }] } as ZoneConfigList["zones"][number]],
    keys: [updKey, farKey],
  };
}

function update(qtype: number = RRType.SOA, zoneName = "u.test."): Message {
  return {
    id: 321,
    opcode: Opcode.UPDATE,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: Name.parse(zoneName), type: qtype, class: RRClass.IN }],
    answers: [],
    authorities: [{ name: Name.parse("www.u.test."), type: RRType.A, class: RRClass.IN, ttl: 60, rdata: new Uint8Array([192, 0, 2, 1]) }],
    additionals: [],
  };
}

async function run(opts: { model?: "primary" | "secondary" | "none"; source?: string; key?: typeof updKey; badMac?: boolean; qtype?: number }) {
  const seen: UpdateRequest[] = [];
  const commits = new CommitEvents();
  const emitted: Array<[string, number]> = [];
  commits.on((z, v) => void emitted.push([z, v]));
  const handler = createUpdateHandler({
    target: {
      zoneForTransfer: async () => (opts.model === "none" ? null : zone(opts.model ?? "primary")),
      applyUpdate: async (_z, body) => {
        seen.push(body);
        return { rcode: Rcode.NOERROR, committed: { version: 9, serial: 42 } };
      },
    },
    hmac: nodeHmac,
    log,
    commits,
  });
  let wire = encodeMessage(update(opts.qtype)).wire;
  let signed: Awaited<ReturnType<typeof signRequest>> | undefined;
  if (opts.key) {
    const key = await prepareTsigKey(opts.badMac ? { ...opts.key, secret: Buffer.from("not-the-secret-at-all-0123456789").toString("base64") } : opts.key, nodeHmac);
    signed = await signRequest(wire, key);
    wire = signed.message;
  }
  const reply = await handler(decodeMessage(wire), wire, { transport: "udp", remoteAddress: opts.source ?? "127.0.0.1", remotePort: 5300 });
  return { reply: decodeMessage(reply), wire: reply, seen, emitted, signed };
}

describe("RFC 2136 UPDATE: who may", () => {
  it.each<[string, Parameters<typeof run>[0], number, boolean]>([
    ["a zone section that is not an SOA question: FORMERR", { key: updKey, qtype: RRType.A }, Rcode.FORMERR, false],
    ["a zone we do not have: NOTAUTH", { model: "none", key: updKey }, Rcode.NOTAUTH, false],
    ["a secondary zone: REFUSED", { model: "secondary", key: updKey }, Rcode.REFUSED, false],
    ["a source no entry holds: REFUSED", { source: "198.51.100.1", key: updKey }, Rcode.REFUSED, false],
    ["unsigned: REFUSED (the key is required)", {}, Rcode.REFUSED, false],
    ["a key named only for another address: REFUSED", { key: farKey }, Rcode.REFUSED, false],
    ["a bad MAC: NOTAUTH", { key: updKey, badMac: true }, Rcode.NOTAUTH, false],
    ["the named key from its prefix: applied", { key: updKey }, Rcode.NOERROR, true],
  ])("%s", async (_why, opts, rcode, applied) => {
    const { reply, seen, emitted } = await run(opts);
    expect(reply.rcode).toBe(rcode);
    expect(reply.opcode).toBe(Opcode.UPDATE);
    expect(reply.id).toBe(321);
    expect(seen.length).toBe(applied ? 1 : 0);
    expect(emitted).toEqual(applied ? [["u.test", 9]] : []);
  });

  it("hands the Worker the sections as sent, and signs the answer with the request's key", async () => {
    const { seen, wire, signed } = await run({ key: updKey });
    expect(seen[0]!.updates).toEqual([{ name: "www.u.test.", type: RRType.A, class: RRClass.IN, ttl: 60, rdata: Buffer.from([192, 0, 2, 1]).toString("base64") }]);
    expect(seen[0]!.prerequisites).toEqual([]);
    const key = await prepareTsigKey(updKey, nodeHmac);
    await expect(verifyResponse(wire, key, signed!.mac)).resolves.toBeDefined();
  });
});
