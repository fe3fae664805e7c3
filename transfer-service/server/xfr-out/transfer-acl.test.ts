/**
 * @module The transfer ACL as a table: who gets REFUSED, who NOTAUTH (and when it is BADKEY), who may
 * transfer, over addresses, prefixes, IPv6, IPv4-mapped sources and key names spelled differently.
 */
import { describe, expect, it } from "vitest";
import { decideTransfer, type TransferAllowEntry, type TransferTsig } from "./transfer-acl.ts";

const unsigned: TransferTsig = { kind: "unsigned" };
const signed = (keyName: string): TransferTsig => ({ kind: "verified", keyName });

const allow: TransferAllowEntry[] = [
  { address: "192.0.2.0/24", tsigKey: "down-key" },
  { address: "198.51.100.7" },
  { address: "2001:db8::/32", tsigKey: "v6-key." },
];

describe("decideTransfer", () => {
  it.each<[string, TransferAllowEntry[], string, TransferTsig, string]>([
    ["empty transferAllow", [], "192.0.2.1", unsigned, "REFUSED"],
    ["empty transferAllow, even signed", [], "192.0.2.1", signed("down-key"), "REFUSED"],
    ["address outside every entry", allow, "203.0.113.9", unsigned, "REFUSED"],
    ["outside, signed with a listed key", allow, "203.0.113.9", signed("down-key"), "REFUSED"],
    ["in the prefix, unsigned", allow, "192.0.2.77", unsigned, "NOTAUTH"],
    ["in the prefix, the entry's key", allow, "192.0.2.77", signed("down-key"), "allow"],
    ["in the prefix, the key spelled with a dot and capitals", allow, "192.0.2.77", signed("Down-Key."), "allow"],
    ["in the prefix, another key", allow, "192.0.2.77", signed("v6-key"), "BADKEY"],
    ["a host entry without a key, unsigned", allow, "198.51.100.7", unsigned, "allow"],
    ["a host entry without a key, signed with any key", allow, "198.51.100.7", signed("v6-key"), "allow"],
    ["next to the host entry", allow, "198.51.100.8", unsigned, "REFUSED"],
    ["IPv6 in the prefix with its key", allow, "2001:db8::53", signed("v6-key"), "allow"],
    ["IPv6 outside", allow, "2001:db9::53", signed("v6-key"), "REFUSED"],
    ["IPv4-mapped IPv6 source judged by its IPv4", allow, "::ffff:198.51.100.7", unsigned, "allow"],
    ["a source that is not an address", allow, "not-an-address", unsigned, "REFUSED"],
    ["an entry that does not parse allows nothing", [{ address: "everyone" }], "192.0.2.1", unsigned, "REFUSED"],
  ])("%s", (_why, entries, source, tsig, expected) => {
    const d = decideTransfer(entries, source, tsig);
    if (expected === "allow") return expect(d.allow).toBe(true);
    expect(d.allow).toBe(false);
    if (d.allow) return;
    expect(d.reason.length).toBeGreaterThan(0);
    if (expected === "BADKEY") {
      expect(d).toMatchObject({ rcode: "NOTAUTH", badKey: true });
    } else {
      expect(d).toMatchObject({ rcode: expected, badKey: false });
    }
  });
});
