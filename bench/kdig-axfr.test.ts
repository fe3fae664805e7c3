import { describe, expect, it } from "vitest";
import { axfrErrors, parseAxfrStats } from "./kdig-axfr.ts";

describe("kdig AXFR output", () => {
  it("reads the closing statistics of a transfer", () => {
    const tail = "b.t. 300 IN A 10.0.0.2\nt. 300 IN SOA ns. h. 1 3600 600 86400 300\n;; Received 3457010 B (54 messages, 100001 records)\n;; Time 2026-12-07 05:59:28 UTC\n";
    expect(parseAxfrStats(tail)).toEqual({ bytes: 3457010, messages: 54, records: 100001 });
    expect(parseAxfrStats(";; Received 149 B (1 message, 5 records)\n")).toEqual({ bytes: 149, messages: 1, records: 5 });
  });

  it("has no statistics and names the error of a refused transfer", () => {
    const out = ";; Received 0 B\n;; Time 2026-12-07 05:59:28 UTC\n;; ERROR: server replied with error 'NOTAUTH'\n;; ERROR: failed to query server 127.0.0.1@53999(TCP)\n";
    expect(parseAxfrStats(out)).toBeUndefined();
    expect(axfrErrors(out)).toEqual(["server replied with error 'NOTAUTH'", "failed to query server 127.0.0.1@53999(TCP)"]);
  });
});
