/**
 * @module A commit landing while a zone streams out (issue #21, "under change"): a client starts an AXFR of
 * a 100k-record zone from Backstop, reads a little and stops reading; meanwhile the primary changes, and
 * Backstop commits the new version by IXFR. When the client reads on, it gets exactly the version that
 * was served when it asked: the old SOA first and last, every old record, none of the new ones. The
 * listener's back-pressure is what keeps the transfer mid-way while the commit lands.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import { decodeMessage, encodeMessage } from "../../dns/message.ts";
import { noFlags } from "../../dns/header.ts";
import { Name } from "../../dns/name.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import { kdig, startKnotd } from "../peers/index.ts";
import type { PeerHandle } from "../peers/types.ts";
import { generateZone } from "../zones/generate.ts";
import { startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";

const ZONE = "change.test";
const RECORDS = 100_000;
const ADDED = 500;
const text = (serial: number, records: number) => generateZone({ origin: ZONE, records, seed: 33, serial });

/** Version streams the service took from its replica for transfers out (`xfr-out/replica-records.ts`). */
const replicaReads = async (stack: LocalStack) => (await stack.service.metrics.xfrOutReads.get()).values.find((v) => v.labels.source === "replica")?.value ?? 0;

/**
 * Both sources of a transfer out: the front's replica (a packed version the transfer holds while a commit
 * installs the next), and the Worker (with the replica off: the version's rows stay readable after the commit).
 */
describe.each<{ source: string; env: Record<string, string> }>([
  { source: "replica", env: {} },
  { source: "Worker", env: { BACKSTOP_REPLICA_MAX_BYTES: "0" } },
])("AXFR out under change, streamed from the $source", ({ source, env }) => {
  let stack: LocalStack | undefined;
  let primary: PeerHandle | undefined;
  const serialOf = async () => (await stack!.api("GET", `/api/v1/zones/${ZONE}`)).json.serial as number | null;

  beforeAll(async () => {
    stack = await startLocalStack({ env });
    primary = await startKnotd({ zones: [{ name: ZONE, text: text(1, RECORDS), notify: [`127.0.0.1:${stack.dnsPort}`] }] });
    const created = await stack.api("POST", "/api/v1/zones", {
      name: ZONE,
      primaries: [{ address: "127.0.0.1", port: primary.port }],
      notifyAllow: ["127.0.0.1/32"],
      transferAllow: [{ address: "127.0.0.1" }],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    await waitFor("serial 1 in Backstop", async () => (await serialOf()) === 1, 180_000);
    if (source === "replica") await waitFor("the replica holds serial 1", async () => stack!.service.replica?.heldVersion(ZONE) !== undefined, 30_000);
    else expect(stack.service.replica).toBeUndefined();
  }, 300_000);

  afterAll(async () => {
    await primary?.stop();
    await stack?.stop();
  });

    it("gives a client that reads slowly the version served when it asked, though a commit lands meanwhile", async () => {
      const socket = connect(stack!.dnsPort, "127.0.0.1");
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      const messages: Uint8Array[] = [];
      const decoder = new FrameDecoder();
      let ended = false;
      // Paused as soon as the first message is in (the replica streams fast enough that a paused poll would
      // come after the whole zone), so what the client has read stays a message or two.
      let paused = false;
      socket.on("data", (d: Buffer) => {
        messages.push(...decoder.push(new Uint8Array(d)));
        if (!paused && messages.length > 0) {
          paused = true;
          socket.pause();
        }
      });
      socket.on("close", () => (ended = true));
      const query = encodeMessage({
        id: 4242,
        opcode: 0,
        flags: noFlags(),
        rcode: 0,
        questions: [{ name: Name.parseAbsolute(ZONE), type: RRType.AXFR, class: 1 }],
        answers: [],
        authorities: [],
        additionals: [],
      }).wire;
      const reads = await replicaReads(stack!);
      socket.write(frame(query));
      await waitFor("the first message", async () => messages.length > 0, 30_000);

      await primary!.updateZone(ZONE, text(2, RECORDS + ADDED));
      await waitFor("serial 2 in Backstop", async () => (await serialOf()) === 2, 60_000);
      // The transfer is still under way: the client has not read it all (back-pressure held the rest). The
      // zone is ~3.4 MB on the wire; a paused loopback reader's kernel buffers held well under that here.
      const closing = (m: Uint8Array) => decodeMessage(m).answers.at(-1)?.type === RRType.SOA && messages.length > 1;
      expect(messages.some(closing)).toBe(false);

      socket.resume();
      await waitFor("the closing SOA", async () => messages.length > 1 && closing(messages.at(-1)!), 60_000);
      socket.destroy();
      expect(ended || socket.destroyed).toBe(true);
      expect(await replicaReads(stack!)).toBe(source === "replica" ? reads + 1 : 0);
      const answers = messages.flatMap((m) => decodeMessage(m).answers);
      expect(answers.length).toBe(RECORDS + 1);
      expect(soaSerial(answers[0]!.rdata)).toBe(1);
      expect(soaSerial(answers.at(-1)!.rdata)).toBe(1);
      // Records i ≥ RECORDS - 3 (owners `*-<i>.`) belong to serial 2 only.
      const newer = answers.filter((r) => Number(/-(\d+)\./.exec(r.name.toString())?.[1] ?? -1) >= RECORDS - 3);
      expect(newer).toEqual([]);
      expect(messages.length).toBeGreaterThan(20);
    }, 180_000);

    it("hands out the whole 100k-record zone to kdig as knotd does (time logged beside knotd's)", async () => {
      const timed = async (port: number) => {
        const started = performance.now();
        const r = await kdig({ port, zone: ZONE, type: "AXFR", timeoutMs: 60_000 });
        return { ms: performance.now() - started, records: r.records.length, errors: r.errors };
      };
      const ours = await timed(stack!.dnsPort);
      const theirs = await timed(primary!.port);
      console.log(`AXFR of ${theirs.records - 1} records to kdig: Backstop ${ours.ms.toFixed(0)} ms, knotd ${theirs.ms.toFixed(0)} ms (kdig's own parsing and printing included)`);
      expect(ours.errors).toEqual([]);
      expect(ours.records).toBe(theirs.records);
    }, 120_000);
});
