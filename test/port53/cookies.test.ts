/**
 * @module DNS Cookies on the port-53 front end to end (issue 18 item 2): the transfer-service in-process,
 * forwarding to the real Worker (`wrangler dev`, workerd, local D1), asked by real `dig` and `kdig`.
 *
 * - `dig +cookie` gets its client cookie back with a 16-octet RFC 9018 server cookie, and `+cookie=<that>`
 *   is echoed and shown "(good)"; `kdig +cookie` likewise;
 * - a rotated secret (`BACKSTOP_COOKIE_SECRET_PREVIOUS`) still accepts the old cookies and answers them with
 *   a cookie of the new secret: no failed answer;
 * - with RRL on at a low rate, a client presenting a valid server cookie is answered every time while a
 *   cookieless flood from the same prefix is limited; a client that sends only a client cookie gets its
 *   slips as BADCOOKIE (with a fresh server cookie), where the cookieless flood gets TC=1.
 *
 * The services here run with RRL off except the RRL ones. The RRL assertions hold on any machine: the rate
 * is 1 answer a second, so a flood of 200 identical questions sent within a second or so is limited unless
 * the machine takes minutes to answer it, and the exemption does not depend on the rate at all.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rcode } from "../../dns/constants.ts";
import { EdnsOptionCode } from "../../dns/edns.ts";
import { decodeMessage, type Message } from "../../dns/message.ts";
import { queryWire } from "../../dns/testing/query-wire.ts";
import { createLogger } from "../../transfer-service/ops/log.ts";
import { COOKIE_VALID, ServerCookies } from "../../transfer-service/server/query/cookie.ts";
import type { RunningService } from "../../transfer-service/service.ts";
import { kdig } from "../peers/kdig.ts";
import { freePorts } from "../peers/ports.ts";
import { digAt } from "../stack/dig-output.ts";
import { startWranglerDev, type WranglerDev } from "../stack/wrangler-dev.ts";
import { loadZone, type StackTokens } from "../stack/zone-load.ts";
import { startFront } from "./front.ts";
import { blast } from "./udp-blast.ts";
import { udpExchange } from "../tsig/wire-client.ts";

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const INTERNAL = `internal-${randomBytes(12).toString("hex")}`;
const log = createLogger({ level: process.env.BACKSTOP_TEST_LOG ?? "silent" });
const SECRET = randomBytes(16).toString("hex");
const NEXT_SECRET = randomBytes(16).toString("hex");

const ZONE = `
$ORIGIN cookie.test.
$TTL 300
@     SOA   ns hostmaster 1 7200 3600 1209600 300
@     NS    ns
ns    A     192.0.2.53
www   A     192.0.2.80
flood A     192.0.2.81
`;

let worker: WranglerDev | undefined;
let stack: StackTokens;
const services: RunningService[] = [];

/** A front on the test's Worker with cookie secret `SECRET`, RRL off unless `env` turns it on. */
async function start(env: Record<string, string>): Promise<{ service: RunningService; port: number }> {
  const [port] = await freePorts(1);
  const service = await startFront(stack, log, { BACKSTOP_DNS_LISTEN: `127.0.0.1:${port}`, BACKSTOP_COOKIE_SECRET: SECRET, ...env });
  services.push(service);
  return { service, port: port! };
}

beforeAll(async () => {
  worker = await startWranglerDev({ adminToken: ADMIN, internalToken: INTERNAL });
  stack = { base: worker.base, admin: ADMIN, internal: INTERNAL };
  await loadZone(stack, "cookie.test.", ZONE);
}, 150_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  await worker?.stop();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const withCookie = (name: string, cookie: Uint8Array, id = 1): Uint8Array =>
  queryWire(name, "A", { id, edns: { options: [{ code: EdnsOptionCode.COOKIE, data: cookie }] } });
const cookieOf = (m: Message): Uint8Array | undefined => m.edns?.options.find((o) => o.code === EdnsOptionCode.COOKIE)?.data;
/** Whether `cookie` (client | server) is valid for 127.0.0.1 under `secret`. */
const validUnder = (secret: string, cookie: Uint8Array): boolean => {
  const wire = withCookie("x.", cookie);
  return new ServerCookies({ secret: unhex(secret) }).check(wire, wire.length - cookie.length, cookie.length, "127.0.0.1") === COOKIE_VALID;
};
const metric = async (svc: RunningService, name: string, labels: string) =>
  Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec((await svc.metrics.render()).body)?.[1] ?? 0);

describe("dig and kdig see server cookies", () => {
  let port: number;
  beforeAll(async () => {
    ({ port } = await start({}));
  }, 60_000);

  it("dig +cookie gets a server cookie; +cookie=<it> is echoed and shown good", async () => {
    const first = await digAt({ port, args: ["+cookie"], name: "www.cookie.test.", type: "A" });
    expect(first.seen.rcode).toBe("NOERROR");
    const returned = /COOKIE: ([0-9a-f]+)/i.exec(first.stdout)?.[1]?.toLowerCase();
    expect(returned, first.stdout).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/);
    expect(validUnder(SECRET, unhex(returned!))).toBe(true);
    const second = await digAt({ port, args: [`+cookie=${returned}`], name: "www.cookie.test.", type: "A" });
    expect(second.seen.rcode).toBe("NOERROR");
    expect(second.stdout).toMatch(new RegExp(`COOKIE: ${returned} \\(good\\)`, "i"));
  });

  it("kdig +cookie gets a server cookie, valid for its address", async () => {
    const res = await kdig({ port, zone: "www.cookie.test.", type: "A", extra: ["+cookie"], timeoutMs: 10_000 });
    const line = /COOKIE: *([0-9a-f]+)(?: +([0-9a-f]+))?/i.exec(res.stdout);
    expect(line, res.stdout).not.toBeNull();
    const cookie = `${line![1]}${line![2] ?? ""}`.toLowerCase();
    expect(cookie, res.stdout).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/);
    expect(validUnder(SECRET, unhex(cookie))).toBe(true);
  });
});

describe("rotation", () => {
  it("a cookie of the previous secret is still accepted, and answered with one of the new secret", async () => {
    const { port: oldPort } = await start({});
    const first = decodeMessage(await udpExchange(oldPort, withCookie("www.cookie.test.", unhex("0102030405060708")), 10_000));
    const issued = cookieOf(first)!;
    expect(validUnder(SECRET, issued)).toBe(true);
    const { service, port } = await start({ BACKSTOP_COOKIE_SECRET: NEXT_SECRET, BACKSTOP_COOKIE_SECRET_PREVIOUS: SECRET });
    const after = decodeMessage(await udpExchange(port, withCookie("www.cookie.test.", issued, 2), 10_000));
    expect(after.rcode).toBe(Rcode.NOERROR);
    expect(after.answers).toHaveLength(1);
    const renewed = cookieOf(after)!;
    expect(hex(renewed)).not.toBe(hex(issued));
    expect(validUnder(NEXT_SECRET, renewed)).toBe(true);
    expect(await metric(service, "backstop_cookies_total", 'result="valid"')).toBe(1);
  }, 60_000);
});

describe("cookies and RRL (rate 1 a second)", () => {
  let service: RunningService;
  let port: number;
  beforeAll(async () => {
    ({ service, port } = await start({ BACKSTOP_RRL_RESPONSES_PER_SECOND: "1", BACKSTOP_RRL_SLIP: "2", BACKSTOP_FRONT_TIMEOUT_MS: "30000" }));
  }, 60_000);

  it("a client with a valid server cookie is answered every time while a cookieless flood from its prefix is limited", async () => {
    const client = unhex("1111111111111111");
    const mine = cookieOf(decodeMessage(await udpExchange(port, withCookie("www.cookie.test.", client), 10_000)))!;
    expect(mine).toHaveLength(24);
    const before = { drop: await metric(service, "backstop_rrl_responses_total", 'action="drop",category="response"'), slip: await metric(service, "backstop_rrl_responses_total", 'action="slip",category="response"') };
    const flood = blast(port, Array.from({ length: 200 }, (_, i) => queryWire("www.cookie.test.", "A", { id: i })));
    // Meanwhile the same question from the same prefix, 30 times, each with the cookie: every one answered.
    const answered: Array<{ rcode: number; tc: boolean; answers: number }> = [];
    for (let i = 0; i < 30; i++) {
      const m = decodeMessage(await udpExchange(port, withCookie("www.cookie.test.", mine, 1000 + i), 10_000));
      answered.push({ rcode: m.rcode, tc: m.flags.tc, answers: m.answers.length });
    }
    const replies = await flood;
    expect(answered).toEqual(new Array(30).fill({ rcode: Rcode.NOERROR, tc: false, answers: 1 }));
    const dropped = (await metric(service, "backstop_rrl_responses_total", 'action="drop",category="response"')) - before.drop;
    const slipped = (await metric(service, "backstop_rrl_responses_total", 'action="slip",category="response"')) - before.slip;
    expect(dropped + slipped, "the cookieless flood is limited").toBeGreaterThan(0);
    expect(replies.some((m) => m.flags.tc && m.answers.length === 0), "cookieless slips are TC=1").toBe(true);
    expect(replies.some((m) => m.rcode === Rcode.BADCOOKIE), "no BADCOOKIE to a client without a cookie").toBe(false);
    expect(await metric(service, "backstop_cookies_total", 'result="valid"')).toBeGreaterThanOrEqual(30);
    console.log(`cookies and RRL: 30/30 cookie answers while the cookieless flood had ${dropped} dropped, ${slipped} slipped`);
  }, 120_000);

  it("a client that sends only a client cookie gets BADCOOKIE slips (with a fresh server cookie), never TC=1", async () => {
    const client = unhex("2222222222222222");
    const replies = await blast(port, Array.from({ length: 200 }, (_, i) => withCookie("flood.cookie.test.", client, i)));
    const badCookies = replies.filter((m) => m.rcode === Rcode.BADCOOKIE);
    expect(badCookies.length, "BADCOOKIE slips").toBeGreaterThan(0);
    expect(replies.filter((m) => m.flags.tc)).toEqual([]);
    for (const m of badCookies) {
      expect(m.answers).toHaveLength(0);
      const cookie = cookieOf(m)!;
      expect(hex(cookie.subarray(0, 8))).toBe(hex(client));
      expect(validUnder(SECRET, cookie)).toBe(true);
    }
    // Fewer answers than queries: the rest were limited, and only slips came back for them.
    expect(replies.filter((m) => m.rcode === Rcode.NOERROR).length).toBeLessThan(200);
    expect(await metric(service, "backstop_cookies_total", 'result="badcookie_sent"')).toBeGreaterThanOrEqual(badCookies.length);
    // With the cookie a BADCOOKIE carried, the client is answered at once although its account is limited.
    const retry = decodeMessage(await udpExchange(port, withCookie("flood.cookie.test.", cookieOf(badCookies[0]!)!, 999), 10_000));
    expect(retry.rcode).toBe(Rcode.NOERROR);
    expect(retry.answers).toHaveLength(1);
    console.log(`cookies and RRL: a client-cookie flood of 200 got ${badCookies.length} BADCOOKIE slips, ${replies.length - badCookies.length} answers`);
  }, 120_000);
});
