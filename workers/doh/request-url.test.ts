/**
 * The URL shortcuts of the DoH hot path (`request-url.ts`) against the WHATWG URL parser they stand in for:
 * the same `dns` value as URLSearchParams, the same verdict on the path as `URL.pathname`.
 */
import { describe, expect, it } from "vitest";
import { isDohUrl, queryParam } from "./request-url.ts";

const B = "http://backstop.test";

describe("queryParam is URLSearchParams.get for one name", () => {
  it.each([
    `${B}/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB`,
    `${B}/dns-query?ct&dns=q80BAAABAAAAAAAA`,
    `${B}/dns-query?dns=first&dns=second`,
    `${B}/dns-query?dns`,
    `${B}/dns-query?dns=`,
    `${B}/dns-query?xdns=1&dnsx=2`,
    `${B}/dns-query?dns=a%2Bb+c`,
    `${B}/dns-query?%64ns=decoded-key`,
    `${B}/dns-query?dns=bad%zzescape`,
    `${B}/dns-query?name=example.org&type=A`,
    `${B}/dns-query?dns=x#fragment`,
    `${B}/dns-query`,
  ])("%s", (url) => {
    const reference = new URL(url).searchParams.get("dns");
    // URLSearchParams keeps a malformed escape as it stands too, after turning + into a space.
    expect(queryParam(url, "dns")).toBe(reference ?? undefined);
  });
});

describe("isDohUrl is pathname === /dns-query", () => {
  it.each([
    `${B}/dns-query`,
    `${B}/dns-query?dns=AAAB`,
    `${B}/dns-query#x`,
    `${B}/dns-query/`,
    `${B}/dns-queryx?dns=AAAB`,
    `${B}/api/v1/dns-query`,
    `${B}/`,
    "https://backstop.test:8443/dns-query?dns=AAAB",
  ])("%s", (url) => {
    expect(isDohUrl(url)).toBe(new URL(url).pathname === "/dns-query");
  });
});
