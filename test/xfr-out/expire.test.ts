/**
 * @module EDNS EXPIRE (RFC 7314, issue 21 item 4) along a real chain, with the real Worker (`local-stack.ts`):
 *
 * ```
 *   knotd P (primary, SOA EXPIRE 40 s) ──► knotd M (secondary) ──► Backstop "viamid.test" ──► knotd D
 *        └──────────────────────────────────────────────────────► Backstop "direct.test"
 * ```
 *
 * - Backstop asks for the option, and a zone fed by M expires when M's copy does (M's remaining time,
 *   told in its answers), not 40 s after Backstop's own transfer, let alone at the 1 h minimum clamp that
 *   the zone fed by P straight gets (P, a primary, says its SOA EXPIRE: the clamp applies, as knotd does).
 * - `kdig +expire` against Backstop's DNS port, over UDP, TCP and DoH (kdig +https through the HTTP/2
 *   front), reads the seconds left here, counting down; a query without the option gets none.
 * - D, a knotd secondary of Backstop, takes Backstop's remaining time from the AXFR and expires with it.
 * - Past that time Backstop answers SERVFAIL for the zone fed by M, and so does D, while the zone fed by P
 *   still answers.
 *
 * The time checks allow 2 s for whole-second rounding and one round trip, and never assume how fast the
 * machine is: each value is compared with another measured at about the same moment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKnotd } from "../peers/index.ts";
import type { PeerHandle } from "../peers/types.ts";
import { runTool } from "../peers/run-tool.ts";
import { startLocalStack, type LocalStack } from "../transfer/local-stack.ts";
import { waitFor } from "../transfer/service-under-test.ts";
import { startDohFront, type DohFront } from "../../transfer-service/server/doh-front.ts";

const VIA_MID = "viamid.test";
const DIRECT = "direct.test";
/** The SOA's EXPIRE: long enough for the chain to form on a slow machine, short enough to watch it run out. */
const EXPIRE_S = 40;
const zoneText = (origin: string) => `$ORIGIN ${origin}.
$TTL 300
@    IN SOA ns1 hostmaster 1 1000 1000 ${EXPIRE_S} 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
`;

let stack: LocalStack | undefined;
let primary: PeerHandle | undefined;
let mid: PeerHandle | undefined;
let downstream: PeerHandle | undefined;
let doh: DohFront | undefined;

interface ExpireSeen {
  status: string | undefined;
  /** The EXPIRE option's seconds, undefined when the answer had none. */
  expire: number | undefined;
  /** When the answer came (ms since the epoch). */
  at: number;
}

/** `kdig [+expire] zone SOA` against a port: the rcode and the EXPIRE option kdig prints (";; EXPIRE: 38 (…)"). */
async function soaExpire(port: number, zone: string, extra: string[] = ["+expire"]): Promise<ExpireSeen> {
  const res = await runTool("kdig", ["@127.0.0.1", "-p", String(port), "+norec", "+time=5", ...extra, zone, "SOA"], { timeoutMs: 20_000 });
  const expire = /;; EXPIRE: (\d+)/.exec(res.stdout)?.[1];
  return { status: /->>HEADER<<-.*status: (\w+)/.exec(res.stdout)?.[1], expire: expire === undefined ? undefined : Number(expire), at: Date.now() };
}

const api = (method: string, p: string, body?: unknown) => stack!.api(method, p, body);
const zoneView = async (zone: string) => (await api("GET", `/api/v1/zones/${zone}`)).json as { serial: number | null; expiresAt: string | null };
const expiresAtOf = async (zone: string) => Date.parse((await zoneView(zone)).expiresAt!);

beforeAll(async () => {
  stack = await startLocalStack();
  primary = await startKnotd({ zones: [{ name: VIA_MID, text: zoneText(VIA_MID) }, { name: DIRECT, text: zoneText(DIRECT) }] });
  // M's copy starts counting down from its own transfer, now.
  mid = await startKnotd({ zones: [{ name: VIA_MID, secondaryOf: { address: "127.0.0.1", port: primary.port } }] });
  await waitFor("M holds the zone", async () => (await soaExpire(mid!.port, VIA_MID)).status === "NOERROR", 20_000);
  // A copy as fresh as the primary's says the SOA's EXPIRE itself, and Backstop then treats it as the
  // primary's (the clamps apply, as knotd does): let M's copy age a few seconds first, so that what it
  // says is plainly "time left".
  await waitFor("M's copy a few seconds old", async () => ((await soaExpire(mid!.port, VIA_MID)).expire ?? EXPIRE_S) <= EXPIRE_S - 3, 10_000);
  for (const [name, from] of [[VIA_MID, mid], [DIRECT, primary]] as const) {
    const created = await api("POST", "/api/v1/zones", {
      name,
      primaries: [{ address: "127.0.0.1", port: from.port }],
      // D, a downstream on loopback, transfers unsigned.
      transferAllow: [{ address: "127.0.0.1" }],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
  }
  await waitFor("both zones in Backstop", async () => (await zoneView(VIA_MID)).serial === 1 && (await zoneView(DIRECT)).serial === 1 && (await zoneView(VIA_MID)).expiresAt !== null, 60_000);
  doh = await startDohFront({ workerUrl: stack.base, port: 0, timeoutMs: 10_000 });
}, 240_000);

afterAll(async () => {
  await doh?.close();
  await downstream?.stop();
  await mid?.stop();
  await primary?.stop();
  await stack?.stop();
});

describe("EDNS EXPIRE along knotd → knotd → Backstop → knotd", () => {
  it("a zone fed by a secondary expires when the secondary's copy does; one fed by the primary gets the SOA's EXPIRE, clamped", async () => {
    const m = await soaExpire(mid!.port, VIA_MID);
    expect(m.status).toBe("NOERROR");
    expect(m.expire).toBeLessThanOrEqual(EXPIRE_S);
    const midExpiresAt = m.at + m.expire! * 1000;
    const ours = await expiresAtOf(VIA_MID);
    // Backstop's expiry is M's (whole seconds both ways, and a round trip).
    expect(Math.abs(ours - midExpiresAt)).toBeLessThanOrEqual(2_000);
    // … not 40 s after Backstop's own transfer, and far from the 1 h minimum clamp.
    expect(ours).toBeLessThan(Date.now() + EXPIRE_S * 1000);
    // P is the primary: its option is the SOA's EXPIRE, so the zone's clamps apply (BACKSTOP_MIN_EXPIRE_S, 1 h).
    expect(await expiresAtOf(DIRECT)).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it("answers kdig +expire on the DNS port (UDP and TCP) and over DoH with the seconds left, counting down", async () => {
    // The port-53 front answers from its replica, whose zone directory may be up to about a second older than
    // the API's row: a refresh of the zone in that second moves the expiry by a few seconds (M's time left), so
    // each transport is asked until its answer and the row read around it agree (bounded), not once.
    const agrees = async (args?: string[]) => {
      let last = "";
      let agreed: Awaited<ReturnType<typeof soaExpire>> | undefined;
      await waitFor("the DNS port's EXPIRE and the zone's expiry agree", async () => {
        const before = await expiresAtOf(VIA_MID);
        const answer = await soaExpire(stack!.dnsPort, VIA_MID, args);
        const after = await expiresAtOf(VIA_MID);
        last = `${answer.status} expire=${answer.expire} before=${before} after=${after} at=${answer.at}`;
        if (answer.status !== "NOERROR" || answer.expire === undefined || before !== after) return false;
        agreed = answer;
        return Math.abs(answer.at + answer.expire * 1000 - after) <= 2_000;
      }, 10_000).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${last}`);
      });
      return agreed!;
    };
    const udp = await agrees();
    await agrees(["+expire", "+tcp"]);
    const ours = await expiresAtOf(VIA_MID);
    // kdig +https: TLS to the HTTP/2 front (self-signed, not verified without +tls-ca), answered by the Worker.
    const https = await soaExpire(doh!.port, VIA_MID, ["+expire", "+https"]);
    expect(https.status).toBe("NOERROR");
    expect(Math.abs(https.at + https.expire! * 1000 - ours)).toBeLessThanOrEqual(2_000);
    // It counts down: a later answer says less (never a cached value).
    await waitFor("a smaller EXPIRE", async () => ((await soaExpire(stack!.dnsPort, VIA_MID)).expire ?? Infinity) < udp.expire!, 10_000);
    // The zone fed by the primary serves for an hour here, but no secondary may use more than the SOA's EXPIRE.
    expect((await soaExpire(stack!.dnsPort, DIRECT)).expire).toBe(EXPIRE_S);
    // Not asked, not answered.
    const plain = await soaExpire(stack!.dnsPort, VIA_MID, []);
    expect(plain.status).toBe("NOERROR");
    expect(plain.expire).toBeUndefined();
  });

  it("hands the remaining time on: a knotd secondary of Backstop takes it from the AXFR", async () => {
    // Far enough from M's start that the remaining time differs from a full EXPIRE.
    await waitFor("Backstop's copy well under the SOA's EXPIRE", async () => ((await soaExpire(stack!.dnsPort, VIA_MID)).expire ?? EXPIRE_S) <= EXPIRE_S - 3, 10_000);
    downstream = await startKnotd({ zones: [{ name: VIA_MID, secondaryOf: { address: "127.0.0.1", port: stack!.dnsPort } }] });
    await waitFor("D holds the zone", async () => (await soaExpire(downstream!.port, VIA_MID)).status === "NOERROR", 20_000);
    const d = await soaExpire(downstream!.port, VIA_MID);
    const ours = await soaExpire(stack!.dnsPort, VIA_MID);
    expect(d.expire).toBeDefined();
    expect(d.expire!).toBeLessThanOrEqual(ours.expire! + 1);
    expect(d.expire!).toBeLessThan(EXPIRE_S - 1);
    expect(downstream!.output()).toMatch(/AXFR, incoming.*finished/);
  }, 60_000);

  it("past that time Backstop answers SERVFAIL for the zone fed by the secondary, and so does D; the zone fed by the primary answers", async () => {
    const ours = await expiresAtOf(VIA_MID);
    const bound = Math.max(0, ours - Date.now()) + 15_000;
    await waitFor("Backstop's copy expired", async () => (await soaExpire(stack!.dnsPort, VIA_MID)).status === "SERVFAIL", bound);
    // Not before the time it announced.
    expect(Date.now()).toBeGreaterThanOrEqual(ours - 1_000);
    await waitFor("D's copy expired", async () => (await soaExpire(downstream!.port, VIA_MID)).status === "SERVFAIL", 15_000);
    const direct = await soaExpire(stack!.dnsPort, DIRECT);
    expect(direct.status).toBe("NOERROR");
    expect((await stack!.doh(`www.${DIRECT}.`, "A")).answers).toEqual([`www.${DIRECT}. 300 192.0.2.80`]);
  }, 90_000);
});
