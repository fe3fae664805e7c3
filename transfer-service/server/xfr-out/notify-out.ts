/**
 * @module NOTIFY out (RFC 1996): after every version this instance commits, each of the zone's
 * `alsoNotify` downstreams gets a NOTIFY carrying the new SOA (§3.7), signed when the entry names a key,
 * over UDP, retried until the target answers: 5 tries over about 2 minutes (BIND's 5 retransmissions at
 * growing intervals; RFC 1996 §3.6 asks for retransmission until answered or a limit). The last unanswered
 * try is logged and counted as `abandoned`.
 *
 * Exactly one instance sends: the one that committed, which held the zone's refresh lease to do so, and is
 * the only one that hears its own commit (`server/query/commit-watch.ts`). A newer commit of the zone
 * supersedes the NOTIFYs still retrying for an older one. Every target is checked with
 * `contract/outbound-address.ts` before the first send, for rows older than the API's rule.
 *
 * The answer only stops the retries: its rcode is logged (a downstream's REFUSED or NOTAUTH is the
 * operator's to read), and its TSIG is not checked, since nothing is taken from it.
 */
import { randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { Opcode, Rcode, RRClass, RRType } from "../../../dns/constants.ts";
import { noFlags } from "../../../dns/header.ts";
import { encodeMessage, type ResourceRecord } from "../../../dns/message.ts";
import { soaSerial } from "../../../dns/rdata/soa.ts";
import { Name } from "../../../dns/name.ts";
import type { HmacProvider } from "../../../dns/tsig/hmac.ts";
import { prepareTsigKey } from "../../../dns/tsig/key.ts";
import { signRequest } from "../../../dns/tsig/sign.ts";
import { outboundAddressProblem } from "../../../contract/outbound-address.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import { firstSoa, type TransferSource } from "./transfer-out.ts";
import { sameKeyName } from "./transfer-acl.ts";

/** When each try starts, ms after the commit; the last waits `LAST_WAIT_MS`. About 2 minutes in all. */
export const NOTIFY_SCHEDULE_MS = [0, 5_000, 15_000, 35_000, 75_000];
export const LAST_WAIT_MS = 45_000;

export interface NotifyOutOptions {
  source: Pick<TransferSource, "zoneForTransfer" | "versionRecords">;
  hmac: HmacProvider;
  log: Logger;
  metrics?: Metrics | undefined;
  /** Try start times (tests shorten them). */
  scheduleMs?: number[];
  lastWaitMs?: number;
}

type Outcome = "answered" | "error" | "abandoned" | "forbidden" | "superseded";

export class NotifyOut {
  private readonly rounds = new Map<string, AbortController>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: NotifyOutOptions) {}

  /** `zone` has a new committed `version`: NOTIFY its downstreams (in the background). */
  committed(zone: string, version: number): void {
    if (this.closed) return;
    this.rounds.get(zone)?.abort();
    const controller = new AbortController();
    this.rounds.set(zone, controller);
    const round = this.round(zone, version, controller.signal)
      .catch((err: unknown) => this.options.log.warn({ zone, version, err: { message: (err as Error).message } }, "NOTIFY out failed"))
      .finally(() => {
        if (this.rounds.get(zone) === controller) this.rounds.delete(zone);
        this.pending.delete(round);
      });
    this.pending.add(round);
  }

  /** Stops every round (their targets are not told) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.rounds.values()) c.abort();
    await Promise.allSettled([...this.pending]);
  }

  private count(outcome: Outcome): void {
    this.options.metrics?.notifyOut.inc({ result: outcome });
  }

  private async round(zone: string, version: number, signal: AbortSignal): Promise<void> {
    const config = await this.options.source.zoneForTransfer(zone);
    const zoneConfig = config?.zones[0];
    if (!config || !zoneConfig || zoneConfig.alsoNotify.length === 0 || signal.aborted) return;
    const soa = await firstSoa(this.options.source, zone, version, zoneConfig.id);
    if (!soa) throw new Error(`version ${version} of ${zone} has no SOA to announce`);
    await Promise.all(
      zoneConfig.alsoNotify.map(async (target) => {
        const where = `${target.address.includes(":") ? `[${target.address}]` : target.address}:${target.port}`;
        const problem = outboundAddressProblem(target.address);
        if (problem !== undefined) {
          this.count("forbidden");
          this.options.log.warn({ zone, target: where, reason: problem }, "NOTIFY target refused by the outbound address rule; not sent");
          return;
        }
        const material = target.tsigKey ? config.keys.find((k) => sameKeyName(k.name, target.tsigKey!)) : undefined;
        if (target.tsigKey && !material) {
          this.count("error");
          this.options.log.warn({ zone, target: where, key: target.tsigKey }, "NOTIFY target names a TSIG key the Worker did not hand over; not sent");
          return;
        }
        const key = material ? await prepareTsigKey(material, this.options.hmac) : undefined;
        const outcome = await this.notifyTarget(zone, soa, target.address, target.port, key, signal);
        this.count(outcome.result);
        const fields = { zone, target: where, serial: soaSerial(soa.rdata), tries: outcome.tries, signed: key !== undefined };
        if (outcome.result === "answered") this.options.log.info(fields, "NOTIFY out answered");
        else if (outcome.result === "error") this.options.log.warn({ ...fields, rcode: outcome.rcode }, "NOTIFY out answered with an error");
        else if (outcome.result === "abandoned") this.options.log.warn(fields, "NOTIFY out abandoned: no answer after the last try");
      }),
    );
  }

  /** Tries one target on the schedule until it answers; one UDP socket for all tries. */
  private async notifyTarget(
    zone: string,
    soa: ResourceRecord,
    address: string,
    port: number,
    key: Awaited<ReturnType<typeof prepareTsigKey>> | undefined,
    signal: AbortSignal,
  ): Promise<{ result: Outcome; tries: number; rcode?: number }> {
    const schedule = this.options.scheduleMs ?? NOTIFY_SCHEDULE_MS;
    const lastWait = this.options.lastWaitMs ?? LAST_WAIT_MS;
    const id = randomInt(0, 0x10000);
    const socket: Socket = createSocket(isIPv6(address) ? "udp6" : "udp4");
    socket.on("error", () => undefined);
    const started = Date.now();
    let answered: ((rcode: number) => void) | undefined;
    socket.on("message", (msg: Buffer, rinfo) => {
      // The answer: same ID, QR set, opcode NOTIFY (RFC 1996 §4.7), from the target.
      if (msg.length < 12 || ((msg[0]! << 8) | msg[1]!) !== id || (msg[2]! & 0x80) === 0 || ((msg[2]! >> 3) & 0xf) !== Opcode.NOTIFY) return;
      if (rinfo.port !== port) return;
      answered?.(msg[3]! & 0xf);
    });
    const answer = new Promise<number>((resolve) => (answered = resolve));
    try {
      const wire = await this.notifyMessage(zone, soa, id, key);
      for (let i = 0; i < schedule.length; i++) {
        if (signal.aborted) return { result: "superseded", tries: i };
        socket.send(wire, port, address);
        const until = i + 1 < schedule.length ? started + schedule[i + 1]! : Date.now() + lastWait;
        const rcode = await Promise.race([answer, sleep(Math.max(0, until - Date.now()), signal).then(() => undefined)]);
        if (rcode !== undefined) return rcode === Rcode.NOERROR ? { result: "answered", tries: i + 1 } : { result: "error", tries: i + 1, rcode };
      }
      return { result: signal.aborted ? "superseded" : "abandoned", tries: schedule.length };
    } finally {
      socket.close();
    }
  }

  /** NOTIFY for `zone` with its SOA in the answer section (RFC 1996 §3.7), AA set, signed with `key` if any. */
  private async notifyMessage(zone: string, soa: ResourceRecord, id: number, key: Awaited<ReturnType<typeof prepareTsigKey>> | undefined): Promise<Uint8Array> {
    const flags = noFlags();
    flags.aa = true;
    const wire = encodeMessage({
      id,
      opcode: Opcode.NOTIFY,
      flags,
      rcode: Rcode.NOERROR,
      questions: [{ name: Name.parseAbsolute(zone), type: RRType.SOA, class: RRClass.IN }],
      answers: [soa],
      authorities: [],
      additionals: [],
    }).wire;
    return key ? (await signRequest(wire, key)).message : wire;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}
