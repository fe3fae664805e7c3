/**
 * @module The NOTIFY access rule as a table: source address × zone rules × TSIG outcome → decision.
 */
import { describe, expect, it } from "vitest";
import { buildNotifyAcl, decideNotify, type TsigOutcome } from "./notify-acl.ts";

// A zone shaped like a Cloudflare-primary setup (documentation addresses): transfers from one address, NOTIFY
// from prefixes. Cloudflare's own are in contract/cloudflare-addresses.ts.
const primaries = [{ address: "192.0.2.53" }, { address: "2001:db8:53::1" }];
const notifyAllow = ["198.51.100.240/28", "2001:db8:3601::/48", "203.0.113.7", "not-an-address", "10.0.0.0/33"];
const acl = buildNotifyAcl(primaries, notifyAllow);

const unsigned: TsigOutcome = { kind: "unsigned" };
const verified: TsigOutcome = { kind: "verified" };
const failed: TsigOutcome = { kind: "failed", reason: "bad MAC" };

const cases: Array<{ source: string; tsig: TsigOutcome; expect: string }> = [
  // Unsigned: primaries and prefixes.
  { source: "192.0.2.53", tsig: unsigned, expect: "accept:primary" },
  { source: "::ffff:192.0.2.53", tsig: unsigned, expect: "accept:primary" },
  { source: "2001:db8:53:0:0:0:0:1", tsig: unsigned, expect: "accept:primary" },
  { source: "198.51.100.240", tsig: unsigned, expect: "accept:notify-allow" },
  { source: "198.51.100.255", tsig: unsigned, expect: "accept:notify-allow" },
  { source: "198.51.101.0", tsig: unsigned, expect: "REFUSED" },
  { source: "198.51.100.239", tsig: unsigned, expect: "REFUSED" },
  { source: "2001:db8:3601:ffff::9", tsig: unsigned, expect: "accept:notify-allow" },
  { source: "2001:db8:3602::1", tsig: unsigned, expect: "REFUSED" },
  { source: "203.0.113.7", tsig: unsigned, expect: "accept:notify-allow" },
  { source: "203.0.113.8", tsig: unsigned, expect: "REFUSED" },
  { source: "192.0.2.54", tsig: unsigned, expect: "REFUSED" },
  { source: "127.0.0.1", tsig: unsigned, expect: "REFUSED" },
  { source: "fe80::1%lo", tsig: unsigned, expect: "REFUSED" },
  { source: "garbage", tsig: unsigned, expect: "REFUSED" },
  // Signed: the signature decides, whatever the address.
  { source: "127.0.0.1", tsig: verified, expect: "accept:tsig" },
  { source: "192.0.2.53", tsig: failed, expect: "NOTAUTH" },
  { source: "192.0.2.99", tsig: failed, expect: "NOTAUTH" },
];

describe("decideNotify", () => {
  it.each(cases)("$source with TSIG $tsig.kind → $expect", ({ source, tsig, expect: want }) => {
    const d = decideNotify(acl, source, tsig);
    expect(d.accept ? `accept:${d.by}` : d.rcode).toBe(want);
    if (!d.accept) expect(d.reason.length).toBeGreaterThan(10);
  });

  it("keeps the unparseable entries aside, allowing nothing", () => {
    expect(acl.invalid).toEqual(["not-an-address", "10.0.0.0/33"]);
  });

  it("an empty ACL refuses every unsigned source", () => {
    const empty = buildNotifyAcl([], []);
    expect(decideNotify(empty, "127.0.0.1", unsigned)).toMatchObject({ accept: false, rcode: "REFUSED" });
  });
});
