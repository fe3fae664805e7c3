/**
 * @module The port-53 front as the integration tests start it: the real transfer-service in this process,
 * before the test's real Worker (`wrangler dev`), with the defaults every such test needs and says why for.
 * `port53.test.ts`, `cookies.test.ts` and `edns-edges.test.ts` each add only what they are about.
 */
import { loadConfig } from "../../transfer-service/config.ts";
import type { Logger } from "../../transfer-service/ops/log.ts";
import { Metrics } from "../../transfer-service/ops/metrics.ts";
import { type RunningService, type ServiceParts, startService } from "../../transfer-service/service.ts";
import type { StackTokens } from "../stack/zone-load.ts";

/**
 * Starts a front on `stack`'s Worker with `env` laid over these defaults:
 * - RRL off: hundreds of queries a second from 127.0.0.1 must never be limited on any machine (only the
 *   RRL tests turn it on);
 * - a 20 s forward timeout: a loaded machine's workerd can take more than the 1.5 s default, and only the
 *   silent-Worker test is about that timer (it sets its own);
 * - the control port on a free loopback port.
 */
export function startFront(stack: StackTokens, log: Logger, env: Record<string, string>, parts: ServiceParts = {}): Promise<RunningService> {
  const config = loadConfig({
    BACKSTOP_INTERNAL_TOKEN: stack.internal,
    BACKSTOP_WORKER_URL: stack.base,
    BACKSTOP_HTTP_LISTEN: "127.0.0.1:0",
    BACKSTOP_RRL_RESPONSES_PER_SECOND: "0",
    BACKSTOP_FRONT_TIMEOUT_MS: "20000",
    ...env,
  });
  return startService(config, log, { metrics: new Metrics({ defaultMetrics: false }), ...parts });
}
