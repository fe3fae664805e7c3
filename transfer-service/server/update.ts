/**
 * @module RFC 2136 DNS UPDATE on the DNS port, UDP and TCP (issue 22), for primary zones. The service
 * decides who may update; the Worker decides what the update does:
 * 1. The zone section is one SOA question of class IN (else FORMERR, §3.1.1); a zone we do not have is
 *    NOTAUTH (§3.1.2), a zone that is not a primary is REFUSED (Backstop does not forward updates).
 * 2. `updateAllow` (address or prefix, and the TSIG key that entry requires) by address first: a source
 *    no entry holds is REFUSED before any TSIG work, as transfers out do.
 * 3. The TSIG signature (RFC 8945) with the keys `updateAllow` names (the only keys the service is handed
 *    for the zone, so any other key is unknown here: BADKEY); a failure is answered as RFC 8945 §5.2 says
 *    (NOTAUTH with BADKEY/BADSIG unsigned, BADTIME signed). An unsigned update, or one signed with a key
 *    named only by the entries for other sources, is REFUSED (§3.3: permission denied): the key is required. All six HMACs are here (`dns/hmac.node.ts`), which is one reason TSIG is checked in Node.
 * 4. The prerequisite and update sections go to the Worker (`POST /internal/v1/zones/:zone/update`), which
 *    checks the prerequisites and applies the updates under the zone's lease, against one version, as one
 *    commit and one serial step. Done there, not here, so nothing can change the zone between the check
 *    and the commit (a check here would race an API edit). Its rcode is the answer, signed with the
 *    request's key; a commit is announced on `CommitEvents` (the front's cache, NOTIFY out).
 */
import { Rcode, RRClass, RRType } from "../../dns/constants.ts";
import { encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import type { HmacProvider } from "../../dns/tsig/hmac.ts";
import { decodeBase64, prepareTsigKey, type TsigKey } from "../../dns/tsig/key.ts";
import { TsigError } from "../../dns/tsig/errors.ts";
import { tsigErrorResponse } from "../../dns/tsig/error-response.ts";
import { signResponse } from "../../dns/tsig/sign.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { verifyRequest, type VerifiedRequest } from "../../dns/tsig/verify.ts";
import type { UpdateRecord, UpdateRequest, UpdateResult, ZoneConfigList } from "../../contract/internal-v1.ts";
import type { Logger } from "../ops/log.ts";
import type { CommitEvents } from "./query/commit-watch.ts";
import { replyTo } from "./reply.ts";
import type { RequestContext } from "./request-context.ts";
import { matchingEntries, sameKeyName } from "./xfr-out/transfer-acl.ts";

/** What the update handler needs of the Worker (`worker/worker-client.ts` implements it). */
export interface UpdateTarget {
  zoneForTransfer(zone: string): Promise<ZoneConfigList | null>;
  applyUpdate(zone: string, body: UpdateRequest): Promise<UpdateResult>;
}

export interface UpdateOptions {
  target: UpdateTarget;
  hmac: HmacProvider;
  log: Logger;
  /** This instance's commit events: an applied update drops the front's cache and sends NOTIFY out. */
  commits?: CommitEvents | undefined;
  now?: Clock;
}

export type UpdateHandler = (message: Message, wire: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>;

const asUpdateRecord = (rr: ResourceRecord): UpdateRecord => ({
  name: rr.name.toString(),
  type: rr.type,
  class: rr.class,
  ttl: rr.ttl,
  rdata: Buffer.from(rr.rdata).toString("base64"),
});

/** The keys `updateAllow` names, prepared for verification. */
async function updateKeys(config: ZoneConfigList, hmac: HmacProvider): Promise<TsigKey[]> {
  const named = config.zones[0]!.updateAllow.map((e) => e.tsigKey);
  const keys: TsigKey[] = [];
  for (const material of config.keys) {
    if (!named.some((n) => sameKeyName(n, material.name)) || decodeBase64(material.secret) === undefined) continue;
    keys.push(await prepareTsigKey(material, hmac));
  }
  return keys;
}

export function createUpdateHandler(options: UpdateOptions): UpdateHandler {
  const { target, log } = options;
  return async (message, wire, ctx) => {
    const client = ctx.remoteAddress;
    const question = message.questions[0];
    const zone = question?.name.toString().replace(/\.$/, "").toLowerCase() ?? "";
    const answer = (rcode: number, reason: string, verified?: VerifiedRequest): Promise<Uint8Array> | Uint8Array => {
      log.info({ zone, client, transport: ctx.transport, rcode, reason }, "update");
      const reply = encodeMessage(replyTo(message, rcode)).wire;
      return verified ? signResponse(reply, verified, { now: options.now }) : reply;
    };

    if (message.questions.length !== 1 || question!.type !== RRType.SOA || question!.class !== RRClass.IN) {
      return answer(Rcode.FORMERR, "the zone section must hold one SOA question of class IN (RFC 2136 §3.1.1)");
    }
    const config = await target.zoneForTransfer(zone);
    const zoneConfig = config?.zones[0];
    if (!config || !zoneConfig) return answer(Rcode.NOTAUTH, "not a zone here");
    if (zoneConfig.model !== "primary") return answer(Rcode.REFUSED, `a ${zoneConfig.model} zone is not updated here`);

    const matches = matchingEntries(zoneConfig.updateAllow, client);
    if (matches.length === 0) {
      return answer(Rcode.REFUSED, zoneConfig.updateAllow.length === 0 ? "the zone's updateAllow is empty" : `source ${client} matches no updateAllow entry`);
    }
    const keys = await updateKeys(config, options.hmac);
    let verified: VerifiedRequest | undefined;
    try {
      verified = await verifyRequest(wire, keys, { now: options.now, peer: `the update client ${client}` });
    } catch (err) {
      if (!(err instanceof TsigError)) throw err;
      log.info({ zone, client, reason: err.message }, "update refused: TSIG");
      const keyName = err.details.keyName;
      const key = keyName === undefined ? undefined : keys.find((k) => sameKeyName(k.name.toString(), keyName));
      return (await tsigErrorResponse(wire, err, { key, now: options.now })) ?? encodeMessage(replyTo(message, Rcode.NOTAUTH)).wire;
    }
    if (!verified) return answer(Rcode.REFUSED, `unsigned; updateAllow ${matches[0]!.address} requires TSIG key ${matches[0]!.tsigKey}`);
    const keyName = verified.key.name.toString();
    if (!matches.some((e) => e.tsigKey !== undefined && sameKeyName(e.tsigKey, keyName))) {
      return answer(Rcode.REFUSED, `signed with ${keyName}, but updateAllow for ${client} names ${matches.map((e) => e.tsigKey).join(", ")}`, verified);
    }

    const result = await target.applyUpdate(zone, {
      // RFC 2136 §2: the prerequisite section is the answer section, the update section the authority section.
      prerequisites: message.answers.map(asUpdateRecord),
      updates: message.authorities.map(asUpdateRecord),
      client: `${client} key ${keyName}`,
    });
    if (result.committed) options.commits?.emit(zone, result.committed.version);
    const reason = result.committed ? `committed serial ${result.committed.serial}` : (result.reason ?? "nothing to change");
    return answer(result.rcode, reason, verified);
  };
}
