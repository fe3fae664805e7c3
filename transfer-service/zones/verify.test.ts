/**
 * @module Verify's decisions that need no primary (issue 24, item 2): the nameserver map's syntax, the refusals
 * (not a zone here: 404; nothing to compare with: 409), a primary at an address Backstop never sends to
 * (reported in words, nothing sent), nameservers without an address (reported, never resolved), and
 * `POST /control/verify` on the service's HTTP port. The comparison against a real primary (knotd) is
 * `test/cli/cli.test.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { encodeRecordStream } from "../../contract/record-stream.ts";
import type { ZoneConfigList } from "../../contract/internal-v1.ts";
import type { VerifyResult } from "../../contract/control.ts";
import { Name } from "../../dns/name.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";
import { createLogger } from "../ops/log.ts";
import { Metrics } from "../ops/metrics.ts";
import { startHttpServer, type HttpServer } from "../ops/control-http.ts";
import { parseNameserverMap, recordLine, VerifyError, verifyZone, type VerifyOptions, type VerifySource } from "./verify.ts";

const ZONE_TEXT = `$ORIGIN v.test.
@ 300 IN SOA ns1 hostmaster 7 3600 600 86400 300
@ 300 IN NS ns1
@ 300 IN NS ns.elsewhere.example.
ns1 300 IN A 0.0.0.0
www 300 IN A 192.0.2.7
`;

function config(primaries: { address: string; port: number }[], version: number | null = 1): ZoneConfigList {
  return {
    keys: [],
    zones: [
      {
        name: "v.test",
        model: primaries.length === 0 ? "primary" : "secondary",
        primaries,
        tsigKey: null,
        notifyAllow: [],
        transferAllow: [],
        alsoNotify: [],
        updateAllow: [],
        status: "active",
        statusDetail: "",
        currentVersion: version,
        serial: 7,
        primarySerial: 7,
        recordCount: 5,
        expiresAt: null,
        lastCheckAt: null,
        nextRefreshAt: null,
        timers: { refresh: null, retry: null, expire: null, minimum: null, minRefresh: 1, maxRefresh: 1, minRetry: 1, maxRetry: 1, minExpire: 1, maxExpire: 1 },
        lease: null,
        limits: { maxRecords: null, maxBytes: null },
        refresh: null,
      },
    ],
  };
}

/** The served version as the Worker's record stream, cut in two chunks mid-record. */
function source(list: ZoneConfigList | null): VerifySource {
  const stream = encodeRecordStream(parseZoneText(ZONE_TEXT, { origin: Name.parseAbsolute("v.test") }));
  return {
    zoneForTransfer: (zone) => Promise.resolve(zone === "v.test" ? list : null),
    versionRecords: () =>
      Promise.resolve({
        serial: 7,
        version: 1,
        chunks: (async function* () {
          yield stream.subarray(0, 50);
          yield stream.subarray(50);
        })(),
        cancel: () => undefined,
      }),
  };
}

const options = (src: VerifySource, nameservers = {}): VerifyOptions => ({
  source: src,
  hmac: nodeHmac,
  soa: { timeoutMs: 200, tries: 1 },
  limits: { connectTimeoutMs: 200, idleTimeoutMs: 1000, totalTimeoutMs: 2000, maxRecords: 1000, maxBytes: 1 << 20, chunkRecords: 100 },
  nameservers,
});

describe("BACKSTOP_VERIFY_NAMESERVERS", () => {
  it("reads name=address[:port] lists, port 53 by default, a name several times", () => {
    expect(parseNameserverMap("NS1.Example.com.=192.0.2.1, ns1.example.com=[2001:db8::1]:5300,ns2.example.com=127.0.0.1:5053,ns3.example.com=2001:db8::2")).toEqual({
      "ns1.example.com": [
        { host: "192.0.2.1", port: 53 },
        { host: "2001:db8::1", port: 5300 },
      ],
      "ns2.example.com": [{ host: "127.0.0.1", port: 5053 }],
      "ns3.example.com": [{ host: "2001:db8::2", port: 53 }],
    });
    expect(() => parseNameserverMap("ns1.example.com")).toThrow(/is not name=address/);
    expect(() => parseNameserverMap("ns1.example.com=ns.example.net")).toThrow(/is not an IP address/);
    expect(() => parseNameserverMap("ns1.example.com=127.0.0.1:70000")).toThrow(/above 65535/);
  });
});

describe("verifyZone without a primary to ask", () => {
  it("refuses a zone the Worker does not know (404) and one without primaries (409)", async () => {
    await expect(verifyZone("nope.test", options(source(config([]))))).rejects.toMatchObject({ status: 404 });
    const err = await verifyZone("v.test", options(source(config([])))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerifyError);
    expect(err).toMatchObject({ status: 409, message: "zone v.test has no primaries to compare with (model primary)" });
  });

  it("reports a primary at a forbidden address without sending, and nameservers it has no address for", async () => {
    const r = await verifyZone("v.test", options(source(config([{ address: "0.0.0.0", port: 53 }])), {}));
    expect(r).toMatchObject({ zone: "v.test", match: false, servedSerial: 7, servedCount: 5, primarySerial: null, primaryCount: null, primary: "0.0.0.0:53", converged: false });
    expect(r.error).toMatch(/^not sending our SOA query for v\.test\. to 0\.0\.0\.0:53: /);
    // ns1's address is its in-zone glue, asked on port 53 (an address Backstop never sends to, so nothing
    // leaves); the other NS is out of zone and has no entry: reported, not resolved.
    expect(r.nameservers).toEqual([
      { name: "ns1.v.test", address: "0.0.0.0:53", serial: null, error: expect.stringMatching(/^not sending our SOA query for v\.test\. to 0\.0\.0\.0:53/) },
      { name: "ns.elsewhere.example", address: null, serial: null, error: "out-of-zone name: the service resolves nothing; add its address to BACKSTOP_VERIFY_NAMESERVERS" },
    ]);
    // The map wins over the glue.
    const mapped = await verifyZone("v.test", options(source(config([{ address: "0.0.0.0", port: 53 }])), { "ns1.v.test": [{ host: "0.0.0.0", port: 5300 }] }));
    expect(mapped.nameservers).toEqual([
      { name: "ns1.v.test", address: "0.0.0.0:5300", serial: null, error: expect.stringMatching(/^not sending our SOA query for v\.test\. to 0\.0\.0\.0:5300/) },
      { name: "ns.elsewhere.example", address: null, serial: null, error: "out-of-zone name: the service resolves nothing; add its address to BACKSTOP_VERIFY_NAMESERVERS" },
    ]);
  });

  it("compares records as lowercased master-file lines", () => {
    const [rr] = parseZoneText("WWW.V.Test. 300 IN A 192.0.2.7\n", { origin: Name.parseAbsolute("v.test") });
    expect(recordLine(rr!)).toBe("www.v.test. 300 IN A 192.0.2.7");
  });
});

describe("POST /control/verify", () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
  });
  const TOKEN = "internal-token-0123456789";
  const answer = { zone: "v.test", match: true } as unknown as VerifyResult;

  async function start(verify?: (zone: string) => Promise<VerifyResult>): Promise<(body: unknown, token?: string) => Promise<{ status: number; json: unknown }>> {
    server = await startHttpServer({
      listen: { host: "127.0.0.1", port: 0 },
      token: TOKEN,
      handler: { healthy: () => ({ ok: true }), refresh: () => true, ...(verify ? { verify } : {}) },
      metrics: new Metrics({ defaultMetrics: false }),
      log: createLogger({ level: "silent" }),
    });
    const url = `http://127.0.0.1:${server.address.port}/control/verify`;
    return async (body, token = TOKEN) => {
      const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, json: await res.json() };
    };
  }

  it("takes the internal token and a zone, and answers the handler's result or its refusal", async () => {
    const post = await start(async (zone) => {
      if (zone === "gone.test") throw new VerifyError(404, "zone gone.test is not a zone here");
      if (zone === "p.test") throw new VerifyError(409, "zone p.test has no primaries to compare with (model primary)");
      return answer;
    });
    expect(await post({ zone: "v.test" }, "wrong-token-0123456789")).toMatchObject({ status: 401 });
    expect(await post({})).toMatchObject({ status: 400, json: { error: expect.stringContaining("zone") } });
    expect(await post({ zone: "v.test" })).toEqual({ status: 200, json: answer });
    expect(await post({ zone: "gone.test" })).toEqual({ status: 404, json: { error: "zone gone.test is not a zone here" } });
    expect(await post({ zone: "p.test" })).toMatchObject({ status: 409 });
  });

  it("answers 404 when the service has no verifier", async () => {
    const post = await start();
    expect(await post({ zone: "v.test" })).toEqual({ status: 404, json: { error: "this service does not verify zones" } });
  });
});
