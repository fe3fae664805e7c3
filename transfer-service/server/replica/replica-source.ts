/**
 * @module Where the port-53 front's replica (`replica.ts`) reads from: the Worker's `/internal/v1` zone change
 * feed (`GET /zones?since=`, the zones whose version, expiry, model or answerAllow changed) and a committed
 * version's record stream (`GET /zones/:zone/versions/:version/records`, `contract/record-stream.ts`).
 *
 * Its own undici Agent and no retries, unlike `worker/worker-client.ts`: the replica polls every few hundred
 * milliseconds and must know at once when the Worker is unreachable (it then keeps answering from what it
 * holds, issue 27 item 4), and a failed poll is simply the next poll.
 */
import { Agent, request } from "undici";
import type { z } from "zod";
import { INTERNAL_PREFIX, Journal, RECORDS_VERSION_HEADER, ZoneConfigChanges } from "../../../contract/internal-v1.ts";

/** Why a read failed: `unreachable` (no connection, or no answer in time) is what "the edge is down" means. */
export class ReplicaSourceError extends Error {
  override readonly name = "ReplicaSourceError";
  constructor(
    readonly kind: "unreachable" | "status" | "bad-answer",
    message: string,
  ) {
    super(message);
  }
}

/** A cursor into the zone change feed (`deletes` undefined on a first read). */
export interface FeedCursor {
  since: number;
  deletes?: number | undefined;
}

export interface ReplicaSource {
  /** One page of the zone change feed. @throws ReplicaSourceError */
  zoneChanges(cursor: FeedCursor): Promise<ZoneConfigChanges>;
  /** A committed version's record stream, whole; null when that version is gone (a newer one replaced it). @throws ReplicaSourceError */
  versionRecords(zone: string, version: number): Promise<Uint8Array | null>;
  /**
   * The changesets from serial `since` to the version served now; null when the journal does not reach back
   * to `since` (a full transfer since, or pruned). Optional: a source without it reloads whole versions.
   * @throws ReplicaSourceError
   */
  journal?(zone: string, since: number): Promise<Journal | null>;
  close(): Promise<void>;
}

export interface HttpReplicaSourceOptions {
  workerUrl: string;
  internalToken: string;
  /** Bound on a feed read and on each wait of a version read. */
  timeoutMs: number;
}

/** The replica's reads over the Worker's `/internal/v1`. */
export function httpReplicaSource(options: HttpReplicaSourceOptions): ReplicaSource {
  const base = `${options.workerUrl.replace(/\/+$/, "")}${INTERNAL_PREFIX}`;
  // Kept under workerd's 5 s idle close, as everywhere the service talks to the Worker (worker-upstream.ts).
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 4, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connectTimeout: options.timeoutMs });
  const headers = { authorization: `Bearer ${options.internalToken}` };

  const get = async (path: string) => {
    try {
      return await request(`${base}${path}`, { method: "GET", dispatcher: agent, headers, signal: AbortSignal.timeout(options.timeoutMs * 4) });
    } catch (err) {
      throw new ReplicaSourceError("unreachable", `the Worker is unreachable: ${(err as Error).message}`);
    }
  };

  /** A JSON answer checked against `schema`; null on 404. */
  const getJson = async <T>(path: string, schema: z.ZodType<T>, what: string): Promise<T | null> => {
    const res = await get(path);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new ReplicaSourceError("unreachable", (err as Error).message);
    }
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new ReplicaSourceError(res.statusCode >= 500 ? "unreachable" : "status", `${what}: HTTP ${res.statusCode}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ReplicaSourceError("bad-answer", `${what}: not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ReplicaSourceError("bad-answer", `${what}: ${parsed.error.issues[0]?.message ?? "unexpected answer"}`);
    return parsed.data;
  };

  return {
    async zoneChanges(cursor) {
      const query = new URLSearchParams({ since: String(cursor.since) });
      if (cursor.deletes !== undefined) query.set("deletes", String(cursor.deletes));
      const page = await getJson(`/zones?${query}`, ZoneConfigChanges, "zone feed");
      if (page === null) throw new ReplicaSourceError("status", "zone feed: HTTP 404");
      return page;
    },

    journal: (zone, since) => getJson(`/zones/${encodeURIComponent(zone)}/journal?since=${since}`, Journal, `journal of ${zone}`),

    async versionRecords(zone, version) {
      const res = await get(`/zones/${encodeURIComponent(zone)}/versions/${version}/records`);
      if (res.statusCode === 404) {
        await res.body.dump().catch(() => undefined);
        return null;
      }
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        throw new ReplicaSourceError(res.statusCode >= 500 ? "unreachable" : "status", `version ${version} of ${zone}: HTTP ${res.statusCode}`);
      }
      if (Number(res.headers[RECORDS_VERSION_HEADER]) !== version) {
        await res.body.dump().catch(() => undefined);
        throw new ReplicaSourceError("bad-answer", `asked for version ${version} of ${zone}, got ${String(res.headers[RECORDS_VERSION_HEADER])}`);
      }
      try {
        return new Uint8Array(await res.body.arrayBuffer());
      } catch (err) {
        throw new ReplicaSourceError("unreachable", (err as Error).message);
      }
    },

    close: () => agent.close(),
  };
}
