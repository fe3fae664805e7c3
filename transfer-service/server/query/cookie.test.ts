/**
 * Server cookies (RFC 7873, RFC 9018): RFC 9018 Appendix A's vectors, the age window at its edges, reissue,
 * the previous secret (accepted, never issued) and the binding to the client's address.
 */
import { describe, expect, it } from "vitest";
import {
  COOKIE_CLIENT_ONLY,
  COOKIE_INVALID,
  COOKIE_VALID,
  COOKIE_VALID_RENEW,
  cookieLengthValid,
  ServerCookies,
} from "./cookie.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const SECRET_A = unhex("e5e973e5a6b2a43f48e7dc849e37bfcf");
const OLD_A4 = unhex("dd3bdf9344b678b185a6f5cb60fca715");
const NEW_A4 = unhex("445536bcd2513298075a5d379663c962");
const at = (seconds: number) => () => seconds * 1000;

/** The cookie option's data placed at an offset in a larger buffer, as it sits in a query. */
function inQuery(cookie: string): { wire: Uint8Array; at: number; length: number } {
  const data = unhex(cookie);
  const wire = new Uint8Array(data.length + 20);
  wire.set(data, 13);
  return { wire, at: 13, length: data.length };
}

function check(cookies: ServerCookies, cookie: string, address: string): number {
  const q = inQuery(cookie);
  return cookies.check(q.wire, q.at, q.length, address);
}

function issue(cookies: ServerCookies, cookie: string, address: string): string {
  const q = inQuery(cookie);
  return hex(cookies.option(q.wire, q.at, address, cookies.check(q.wire, q.at, q.length, address)));
}

describe("RFC 9018 Appendix A", () => {
  it("A.1: a client cookie alone gets a new server cookie", () => {
    const cookies = new ServerCookies({ secret: SECRET_A, now: at(1559731985) });
    expect(check(cookies, "2464c4abcf10c957", "198.51.100.100")).toBe(COOKIE_CLIENT_ONLY);
    expect(issue(cookies, "2464c4abcf10c957", "198.51.100.100")).toBe("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  });

  it("A.2: 40 minutes later the cookie is valid, and reissued", () => {
    const cookies = new ServerCookies({ secret: SECRET_A, now: at(1559734385) });
    const sent = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
    expect(check(cookies, sent, "198.51.100.100")).toBe(COOKIE_VALID_RENEW);
    expect(issue(cookies, sent, "198.51.100.100")).toBe("2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
  });

  it("A.3: the reserved octets are hashed as the client sent them", () => {
    const cookies = new ServerCookies({ secret: SECRET_A, now: at(0x5cf78f71 + 60) });
    expect(check(cookies, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.203")).toBe(COOKIE_VALID);
    // The same cookie from the neighbouring address is not ours.
    expect(check(cookies, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.204")).toBe(COOKIE_INVALID);
  });

  it("A.4: after a rotation the previous secret's cookie is accepted and reissued with the new secret", () => {
    const cookies = new ServerCookies({ secret: NEW_A4, previous: OLD_A4, now: at(1559741961) });
    const sent = "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
    const address = "2001:db8:220:1:59de:d0f4:8769:82b8";
    expect(check(cookies, sent, address)).toBe(COOKIE_VALID_RENEW);
    expect(issue(cookies, sent, address)).toBe("22681ab97d52c298010000005cf7c609a6bb79d16625507a");
    // Without the previous secret it is refused.
    expect(check(new ServerCookies({ secret: NEW_A4, now: at(1559741961) }), sent, address)).toBe(COOKIE_INVALID);
  });
});

describe("ServerCookies", () => {
  const client = "0102030405060708";
  const address = "192.0.2.1";
  const issuedAt = 2_000_000_000;
  const issued = issue(new ServerCookies({ secret: SECRET_A, now: at(issuedAt) }), client, address);
  const aged = (seconds: number, options: { previous?: boolean } = {}) =>
    options.previous
      ? new ServerCookies({ secret: NEW_A4, previous: SECRET_A, now: at(issuedAt + seconds) })
      : new ServerCookies({ secret: SECRET_A, now: at(issuedAt + seconds) });

  it("accepts a cookie up to an hour old and refuses it a second later", () => {
    expect(check(aged(3600), issued, address)).toBe(COOKIE_VALID_RENEW);
    expect(check(aged(3601), issued, address)).toBe(COOKIE_INVALID);
  });

  it("accepts a cookie five minutes ahead and refuses it further ahead", () => {
    expect(check(aged(-300), issued, address)).toBe(COOKIE_VALID);
    expect(check(aged(-301), issued, address)).toBe(COOKIE_INVALID);
  });

  it("echoes a cookie up to half an hour old, and reissues it after", () => {
    const young = aged(1800);
    expect(check(young, issued, address)).toBe(COOKIE_VALID);
    expect(issue(young, issued, address)).toBe(issued);
    const old = aged(1801);
    expect(check(old, issued, address)).toBe(COOKIE_VALID_RENEW);
    const renewed = issue(old, issued, address);
    expect(renewed).not.toBe(issued);
    expect(renewed.slice(0, 16)).toBe(client);
    expect(parseInt(renewed.slice(24, 32), 16)).toBe(issuedAt + 1801);
    expect(check(old, renewed, address)).toBe(COOKIE_VALID);
  });

  it("accepts the previous secret's cookies but issues only with the current one", () => {
    const rotated = aged(10, { previous: true });
    expect(check(rotated, issued, address)).toBe(COOKIE_VALID_RENEW);
    const renewed = issue(rotated, issued, address);
    expect(renewed).not.toBe(issued);
    // The new cookie is the current secret's: valid without the previous one.
    expect(check(new ServerCookies({ secret: NEW_A4, now: at(issuedAt + 10) }), renewed, address)).toBe(COOKIE_VALID);
    expect(check(aged(10), renewed, address)).toBe(COOKIE_INVALID);
  });

  it("binds a cookie to the client's address (and an IPv4-mapped address is the IPv4 one)", () => {
    const now = aged(1);
    expect(check(now, issued, address)).toBe(COOKIE_VALID);
    expect(check(now, issued, "::ffff:192.0.2.1")).toBe(COOKIE_VALID);
    expect(check(now, issued, "192.0.2.2")).toBe(COOKIE_INVALID);
    expect(check(now, issued, "2001:db8::1")).toBe(COOKIE_INVALID);
  });

  it("refuses a changed client cookie, a changed octet, another version, and server cookies of other lengths", () => {
    const now = aged(1);
    expect(check(now, "ff" + issued.slice(2), address)).toBe(COOKIE_INVALID);
    expect(check(now, issued.slice(0, 46) + (issued.slice(46) === "00" ? "01" : "00"), address)).toBe(COOKIE_INVALID);
    expect(check(now, issued.slice(0, 16) + "02" + issued.slice(18), address)).toBe(COOKIE_INVALID);
    expect(check(now, issued.slice(0, 32), address)).toBe(COOKIE_INVALID);
    expect(check(now, issued + "00", address)).toBe(COOKIE_INVALID);
  });

  it("knows the lengths RFC 7873 §5.2.2 allows", () => {
    const ok = Array.from({ length: 48 }, (_, n) => n).filter(cookieLengthValid);
    expect(ok).toEqual([8, ...Array.from({ length: 25 }, (_, i) => 16 + i)]);
  });
});
