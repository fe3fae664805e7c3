/**
 * @module The replica of one front process, as the service wires it (`service.ts` `createFront`): read from
 * the Worker's `/internal/v1`, told of this instance's commits, and shown in /metrics. Undefined when
 * `BACKSTOP_REPLICA_MAX_BYTES` is 0 (every query the response cache misses is forwarded, as before issue 27).
 */
import type { Config } from "../../config.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { CommitEvents } from "../query/commit-watch.ts";
import { Replica } from "./replica.ts";
import { httpReplicaSource } from "./replica-source.ts";

export interface StartedReplica {
  replica: Replica;
  stop(): Promise<void>;
}

export function startReplica(config: Config, log: Logger, metrics: Metrics, commits: CommitEvents | undefined): StartedReplica | undefined {
  if (config.replica.maxBytes === 0) return undefined;
  const replica = new Replica({
    source: httpReplicaSource({ workerUrl: config.workerUrl, internalToken: config.internalToken, timeoutMs: Math.min(config.workerTimeoutMs, 2_000) }),
    log: log.child({ part: "replica" }),
    maxRecords: config.replica.maxRecords,
    maxBytes: config.replica.maxBytes,
    pollMs: config.replica.pollMs,
    events: {
      loaded: (seconds, _records, kind) => metrics.replicaLoadSeconds.observe({ kind }, seconds),
      staleWindow: (seconds) => metrics.replicaStaleSeconds.observe(seconds),
    },
  });
  metrics.watchReplica(() => replica.stats());
  const unwatch = commits?.on((zone, version) => replica.committed(zone, version));
  void replica.start();
  return {
    replica,
    async stop() {
      unwatch?.();
      await replica.stop();
    },
  };
}
