/**
 * @module The cause table matches the sentences the transfer-service really writes (copied from
 * `dns/tsig/verify.ts` and `transfer-service/remote/transfer-error.ts`) and fills in the specifics.
 */
import { describe, expect, it } from "vitest";
import { errorCauses, type CauseFacts } from "./error-causes.ts";

const base: CauseFacts = {
  error: null,
  status: "failing",
  zone: "example.test",
  tsigKey: "xfr-key",
  serial: 7,
  primarySerial: 5,
  notifyAllow: ["104.30.167.163/32"],
  transferAddresses: ["203.0.113.7"],
};
const matched = (error: string, status = "failing") => errorCauses({ ...base, error, status }).filter((r) => r.matches);

describe("errorCauses", () => {
  it.each([
    ['127.0.0.1:5300 could not verify our TSIG signature with key "xfr-key" (BADSIG): the shared secrets differ', "tsig-secret"],
    ['127.0.0.1:5300 rejected TSIG key "xfr-key" with hmac-sha256 (BADKEY): it does not hold a key of that name and algorithm; check both on each side', "tsig-key"],
    ["127.0.0.1:5300 answered REFUSED to our AXFR", "refused"],
    ["cannot connect to 127.0.0.1:5300 over TCP (ECONNREFUSED: connect ECONNREFUSED)", "unreachable"],
    ["clock skew of 912 seconds: 127.0.0.1:5300's TSIG time is ahead of ours, more than the fudge of 300 s allows (key \"xfr-key\"); check both clocks (NTP)", "clock-skew"],
  ])("%s → %s", (error, id) => {
    expect(matched(error).map((r) => r.id)).toEqual([id]);
  });

  it("names both keys, the skew, our transfer address and both serials", () => {
    const key = errorCauses({ ...base, error: 'the primary signed with TSIG key "other-key", but we use key "xfr-key"' }).find((r) => r.id === "tsig-key")!;
    expect(key.cause).toContain('key "other-key", this zone expects "xfr-key"');
    expect(errorCauses({ ...base, error: "clock skew of 912 seconds" }).find((r) => r.id === "clock-skew")!.cause).toContain("912 seconds");
    expect(errorCauses(base).find((r) => r.id === "refused")!.fix).toContain("203.0.113.7");
    const regressed = errorCauses({ ...base, status: "serial-regressed" }).find((r) => r.id === "serial-regressed")!;
    expect([regressed.matches, regressed.cause]).toEqual([true, expect.stringContaining("serial 5 is lower than ours, 7")]);
  });

  it("marks nothing for no error", () => {
    expect(matched("", "active")).toEqual([]);
  });
});
