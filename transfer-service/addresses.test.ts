/**
 * @module Addresses and prefixes as the NOTIFY ACL and RRL's exemptions read them.
 */
import { describe, expect, it } from "vitest";
import { inPrefix, parseAddress, parseListenAddress, parsePrefix } from "./addresses.ts";

describe("parsePrefix", () => {
  it.each([
    ["192.0.2.0/24", "192.0.2.0/24"],
    ["192.0.2.1", "192.0.2.1/32"],
    ["::1", "::1/128"],
    ["::ffff:192.0.2.0/120", "192.0.2.0/24"],
    ["2001:DB8::/32", "2001:db8::/32"],
  ])("%s → %s", (text, want) => {
    const p = parsePrefix(text);
    expect(p && `${p[0].toString()}/${p[1]}`).toBe(want);
  });
  it.each(["", "10.0.0.0/33", "example.com", "1.2.3", "::/129"])("rejects %j", (text) => {
    expect(parsePrefix(text)).toBeUndefined();
  });
});

describe("inPrefix", () => {
  it.each([
    ["::ffff:192.0.2.1", "192.0.2.0/24", true],
    ["192.0.2.1", "192.0.3.0/24", false],
    ["2001:0db8::1", "2001:db8::/32", true],
    ["192.0.2.1", "::/0", false],
  ])("%s in %s → %s", (address, prefix, want) => {
    expect(inPrefix(parseAddress(address)!, parsePrefix(prefix)!)).toBe(want);
  });
});

describe("parseListenAddress", () => {
  it("reads host:port and [v6]:port", () => {
    expect(parseListenAddress(" 127.0.0.1:5053")).toEqual({ host: "127.0.0.1", port: 5053 });
    expect(parseListenAddress("[::1]:53")).toEqual({ host: "::1", port: 53 });
  });
  it.each(["127.0.0.1", "[::1]", "::1:53", "host:port", ":53", "127.0.0.1:65536"])("rejects %j", (text) => {
    expect(() => parseListenAddress(text)).toThrow();
  });
});
