/**
 * @module The container's HEALTHCHECK: asks the service's own `GET /healthz` on the address the
 * environment configures (BACKSTOP_HTTP_LISTEN, wildcards mapped to loopback), exits 0 when healthy.
 * A separate entry so the check needs no shell, curl or wget in the image.
 */
import { parseListenAddress } from "../addresses.ts";

const listen = parseListenAddress(process.env.BACKSTOP_HTTP_LISTEN || "127.0.0.1:9153");
const host = listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host === "::" ? "::1" : listen.host;
const url = `http://${host.includes(":") ? `[${host}]` : host}:${listen.port}/healthz`;

fetch(url, { signal: AbortSignal.timeout(3000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
