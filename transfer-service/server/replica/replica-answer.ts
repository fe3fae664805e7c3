/**
 * @module The port-53 front answering from its replica (issue 27): the same answer engine as the Worker's
 * (`answer/engine.ts`), with the same inputs the Worker would get from the forward (`query/query-forward.ts`):
 * the transport, the UDP size the front can send back (`udpSizeClass`, as the `x-backstop-udp-size` header
 * says it), and the client's real address (IPv4-mapped addresses unmapped) for the answerAllow rule. So
 * DNSSEC proofs, minimal responses, EDNS, TC and the UDP size are the same code and the same octets.
 *
 * When the engine asks for a zone the replica does not hold at its served version (or the replica is not
 * vouched for, `replica.ts`), the lookup throws `ReplicaMiss` and the answer is left to the Worker: nothing
 * from a half-known zone is sent. Only NOERROR and NXDOMAIN answers are sent from here; REFUSED and SERVFAIL
 * (no zone, answerAllow, never loaded, expired) are the Worker's, so a zone just created, loaded or promoted
 * is answered as it is at once, not as the directory knew it a moment before. The answer's origin (zones and versions read) goes with it, so the
 * response cache in front keeps it under the same rules as the Worker's answers (`workers/doh/version-headers.ts`):
 * NOERROR or NXDOMAIN, from loaded zones without an answerAllow list.
 */
import { Rcode } from "../../../dns/constants.ts";
import { nodeSha1 } from "../../../dns/sha1.node.ts";
import { type EngineResponse, respond } from "../../../answer/engine.ts";
import { type Awaitable, isPromise } from "../../../answer/awaitable.ts";
import type { ZoneInfo } from "../../../answer/zone-store.ts";
import type { Logger } from "../../ops/log.ts";
import type { RequestContext } from "../request-context.ts";
import type { QueryShape } from "../query/query-shape.ts";
import { type AnswerOrigin, udpSizeClass } from "../query/response-cache.ts";
import { unmapAddress } from "../query/worker-upstream.ts";
import { Slab } from "../../../dns/wire/slab.ts";
import { type Replica, ReplicaMiss } from "./replica.ts";

/** An answer made here, and what the response cache may know of it (undefined: not to be cached). */
export interface LocalAnswer {
  readonly answer: Uint8Array;
  /** May be worked out when read: read it only for an answer to be kept. */
  readonly origin: AnswerOrigin | undefined;
}

/**
 * Answers a plain query locally: the answer at once (the engine over the replica never waits), or undefined:
 * forward it. A promise only from an engine step that has to wait (a TSIG reply; NSEC3 hashes use Node's SHA-1, a value). Never throws
 * or rejects.
 */
export type LocalAnswerer = (wire: Uint8Array, shape: QueryShape, ctx: RequestContext) => Awaitable<LocalAnswer | undefined>;

export function replicaAnswerer(replica: Replica, log: Logger, now: () => number = Date.now): LocalAnswerer {
  // Answers are encoded into views of shared slabs (`dns/wire/slab.ts`), not an off-heap array each (issue 27,
  // session 10); the response cache keeps a copy of its own of any it stores.
  const slab = new Slab();
  const allocate = (length: number): Uint8Array => slab.take(length);
  // No promise on the way (issue 27, session 9): the replica's store returns values, so `respond` gives the
  // response itself, and the listener sends it in the turn it read the query. Session 8 measured an async frame
  // here at ~1 KB of garbage a query; a promise and a microtask turn more each.
  return (wire, shape, ctx) => {
    if (!replica.mayAnswer()) return undefined;
    const seen: ZoneInfo[] = [];
    let answering: Awaitable<EngineResponse>;
    try {
      answering = respond(replica.view(seen), wire, {
        transport: ctx.transport,
        udpLimit: ctx.transport === "udp" ? udpSizeClass(shape) : undefined,
        client: { address: unmapAddress(ctx.remoteAddress), admin: false },
        now: now(),
        // Node's SHA-1 answers at once, so an NSEC3 proof does not wait either (Web Crypto's always would).
        sha1: nodeSha1,
        allocate,
      });
    } catch (err) {
      return engineFailed(log, err);
    }
    if (isPromise(answering)) return answering.then((out) => localAnswer(out, seen, replica, log), (err: unknown) => engineFailed(log, err));
    return localAnswer(answering, seen, replica, log);
  };
}

function engineFailed(log: Logger, err: unknown): undefined {
  log.debug({ reason: (err as Error).message }, "replica: the engine failed; forwarding");
  return undefined;
}

/** The engine's response as the replica's answer, or undefined: forward it. */
function localAnswer(out: EngineResponse, seen: ZoneInfo[], replica: Replica, log: Logger): LocalAnswer | undefined {
  if (out.error !== undefined) {
    if (!(out.error instanceof ReplicaMiss)) log.debug({ reason: String(out.error) }, "replica: a lookup failed; forwarding");
    return undefined;
  }
  // Only answers from data are the replica's: a refusal (no zone, answerAllow) or a SERVFAIL (never loaded,
  // expired) may be the directory's last word a moment late (a zone just created, promoted or loaded), so
  // the Worker says those, at once, as before. They cost it no data read.
  const rcode = out.wire[3]! & 0xf;
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return undefined;
  return new ReplicaAnswer(out.wire, seen, replica.ageMs());
}

/**
 * A replica answer whose origin is worked out when asked for: the forward asks only for an answer it may
 * keep (its key asked before, `query-forward.ts`), and a miss mix's answers are nearly all asked once.
 */
class ReplicaAnswer implements LocalAnswer {
  constructor(
    readonly answer: Uint8Array,
    private readonly seen: readonly ZoneInfo[],
    /** The directory's age when the answer was made. */
    private readonly ageMs: number,
  ) {}

  get origin(): AnswerOrigin | undefined {
    return originOf(this.answer, this.seen, this.ageMs);
  }
}

/** The same rule as the Worker's version headers: what everyone asking the same question would get. */
function originOf(answer: Uint8Array, zones: readonly ZoneInfo[], ageMs: number): AnswerOrigin | undefined {
  const rcode = answer[3]! & 0xf;
  if ((rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) || zones.length === 0) return undefined;
  const names: string[] = [];
  const versions: number[] = [];
  for (const zone of zones) {
    if (zone.version === null || zone.answerAllow.length > 0) return undefined;
    names.push(zone.name.key);
    versions.push(zone.version);
  }
  return { zones: names, versions, ageMs };
}
