/**
 * @module The whole transfer-service in-process for tests: real DNS listener and HTTP port on free
 * loopback ports, the refresh machinery against a shared `MemoryWorker`, timers clamped short so a test
 * sees refresh, retry and expiry within seconds.
 */
import { nodeHmac } from "../../dns/hmac.node.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { loadConfig } from "../../transfer-service/config.ts";
import { createLogger, type Logger } from "../../transfer-service/ops/log.ts";
import type { MemoryWorker } from "../../transfer-service/testing/memory-worker.ts";
import { Metrics } from "../../transfer-service/ops/metrics.ts";
import { ZoneSet } from "../../transfer-service/zones/zone-set.ts";
import { startService, type RunningService } from "../../transfer-service/service.ts";

export const TEST_TOKEN = "test-internal-token-0123456789";

export interface ServiceUnderTest {
  service: RunningService;
  refresher: ZoneSet;
  dnsPort: number;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startServiceUnderTest(
  worker: MemoryWorker,
  opts: { instanceId?: string; env?: Record<string, string>; tsigNow?: Clock; log?: Logger } = {},
): Promise<ServiceUnderTest> {
  const config = loadConfig({
    BACKSTOP_INTERNAL_TOKEN: TEST_TOKEN,
    BACKSTOP_INSTANCE_ID: opts.instanceId ?? "test-1",
    BACKSTOP_DNS_LISTEN: "127.0.0.1:0",
    // Not an RRL test: whether its queries cross 50 a second must not depend on the machine.
    BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    BACKSTOP_HTTP_LISTEN: "127.0.0.1:0",
    BACKSTOP_MIN_REFRESH_S: "1",
    BACKSTOP_MIN_RETRY_S: "1",
    BACKSTOP_MIN_EXPIRE_S: "1",
    BACKSTOP_PRIMARY_BACKOFF_BASE_S: "1",
    BACKSTOP_PRIMARY_BACKOFF_MAX_S: "2",
    BACKSTOP_POLL_INTERVAL_S: "1",
    BACKSTOP_LEASE_TTL_S: "30",
    BACKSTOP_SOA_TIMEOUT_MS: "500",
    BACKSTOP_SOA_TRIES: "1",
    BACKSTOP_XFR_CONNECT_TIMEOUT_MS: "2000",
    BACKSTOP_XFR_IDLE_TIMEOUT_S: "5",
    BACKSTOP_XFR_TOTAL_TIMEOUT_S: "60",
    ...opts.env,
  });
  const log = opts.log ?? createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });
  const metrics = new Metrics({ defaultMetrics: false });
  const refresher = new ZoneSet({ worker, settings: config, log, metrics, hmac: nodeHmac, tsigNow: opts.tsigNow });
  const service = await startService(config, log, { zones: refresher, metrics });
  return {
    service,
    refresher,
    dnsPort: service.dnsAddresses[0]!.port,
    httpUrl: `http://127.0.0.1:${service.httpAddress.port}`,
    stop: () => service.stop(),
  };
}

/** Polls `check` every 50 ms until it returns true, or fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
