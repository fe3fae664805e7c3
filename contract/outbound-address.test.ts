/**
 * The outbound address rule as a table: every refused kind in IPv4 and IPv6, the embeddings of IPv4 in IPv6,
 * and the loopback, private and public addresses that stay allowed. No packet is sent: this is the pure rule.
 */
import { describe, expect, it } from "vitest";
import { isOutboundAllowed, outboundAddressProblem } from "./outbound-address.ts";

describe("outboundAddressProblem", () => {
  it.each([
    // unspecified
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["::", /unspecified/],
    ["0:0:0:0:0:0:0:0", /unspecified/],
    // broadcast and reserved
    ["255.255.255.255", /broadcast/],
    ["240.0.0.1", /reserved/],
    // multicast
    ["224.0.0.251", /multicast/],
    ["239.255.255.250", /multicast/],
    ["ff02::1", /multicast/],
    ["FF05::1:3", /multicast/],
    // link-local
    ["169.254.1.1", /link-local/],
    ["169.254.0.0", /link-local/],
    ["fe80::1", /link-local/],
    ["febf:ffff::1", /link-local/],
    // cloud metadata
    ["169.254.169.254", /metadata/],
    ["fd00:ec2::254", /metadata/],
    ["fd00:ec2:0:0:0:0:0:254", /metadata/],
    ["100.100.100.200", /metadata/],
    // IPv4 inside IPv6
    ["::ffff:169.254.169.254", /IPv4-mapped for 169\.254\.169\.254, which is a cloud metadata/],
    ["::ffff:a9fe:a9fe", /IPv4-mapped for 169\.254\.169\.254/],
    ["::ffff:0.0.0.0", /IPv4-mapped for 0\.0\.0\.0, which is an unspecified/],
    ["::ffff:255.255.255.255", /broadcast/],
    ["::ffff:224.0.0.1", /multicast/],
    ["::169.254.169.254", /IPv4-compatible for 169\.254\.169\.254/],
    ["64:ff9b::169.254.169.254", /NAT64 for 169\.254\.169\.254/],
    ["64:ff9b::a9fe:101", /NAT64 for 169\.254\.1\.1, which is a link-local/],
    ["2002:a9fe:a9fe::1", /6to4 for 169\.254\.169\.254/],
    // not addresses at all
    ["", /not an IPv4 or IPv6 address/],
    ["primary.example", /not an IPv4 or IPv6 address/],
    ["0x7f.1", /not an IPv4 or IPv6 address/],
    ["127.1", /not an IPv4 or IPv6 address/],
    ["fe80::1%eth0", /not an IPv4 or IPv6 address/],
    ["::ffff:1.2.3.256", /not an IPv4 or IPv6 address/],
  ])("refuses %j", (address, why) => {
    expect(outboundAddressProblem(address)).toMatch(why);
    expect(isOutboundAllowed(address)).toBe(false);
  });

  it.each([
    // loopback: tests run primaries there
    "127.0.0.1",
    "127.0.0.53",
    "::1",
    "::ffff:127.0.0.1",
    // private and shared ranges: private primaries
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "fd00::1",
    "fd00:ec2::253",
    "fc00::1",
    "::ffff:10.1.2.3",
    "::ffff:8.8.8.8",
    "::8.8.8.8",
    // public and documentation addresses
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "8.8.8.8",
    "104.30.167.163",
    "2001:db8::1",
    "2a09:bac0:1000:c47::1",
    "64:ff9b::808:808",
    "2002:c000:201::1",
    // next to refused ranges
    "1.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "223.255.255.255",
    "fec0::1",
    "fe7f::1",
  ])("allows %j", (address) => {
    expect(outboundAddressProblem(address)).toBeUndefined();
    expect(isOutboundAllowed(address)).toBe(true);
  });

  it("names the address it refuses, as the operator typed it", () => {
    expect(outboundAddressProblem("FD00:EC2::254")).toBe("FD00:EC2::254 is a cloud metadata service address");
  });
});
