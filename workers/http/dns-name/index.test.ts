/**
 * @module Zone and key name input, run in workerd (whose URL parser does the UTS 46 step): accepted forms
 * normalize to lowercase A-labels without the trailing dot; everything else gets a message saying why.
 */
import { describe, expect, it } from "vitest";
import { normalizeDnsName } from "./index.ts";

describe("normalizeDnsName", () => {
  it.each([
    ["example.com", "example.com"],
    ["Example.COM.", "example.com"],
    ["  example.com  ", "example.com"],
    ["_dmarc.example.com", "_dmarc.example.com"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["BÜCHER.example.", "xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["例え.テスト", "xn--r8jz45g.xn--zckzah"],
    ["ß.de", "xn--zca.de"],
    ["0.168.192.in-addr.arpa", "0.168.192.in-addr.arpa"],
  ])("accepts %j as %j", (input, expected) => {
    expect(normalizeDnsName(input)).toEqual({ name: expected });
  });

  it.each([
    ["", /required/],
    [".", /required/],
    ["a..b", /empty label/],
    [".example.com", /empty label/],
    ["exa mple.com", /cannot be in a name/],
    ["example.com/x", /cannot be in a name/],
    ["user@example.com", /cannot be in a name/],
    ["exa\tmple.com", /cannot be in a name/],
    ["-bad.example", /hyphen/],
    ["bad-.example", /hyphen/],
    ["a!b.example", /letters, digits/],
    [`${"a".repeat(64)}.example`, /63/],
    [`${"abcdefghi.".repeat(26)}com`, /253/],
    ["xn--zz.com", /A-label|punycode/],
    ["\u0000.example", /internationalized|cannot/],
  ])("rejects %j with a message", (input, message) => {
    const result = normalizeDnsName(input);
    expect("error" in result && result.error).toMatch(message);
  });
});
