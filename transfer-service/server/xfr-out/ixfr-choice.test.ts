/**
 * @module The IXFR reply chosen from the client's serial and ours (RFC 1995 §2, §4, RFC 1982 order),
 * over TCP and UDP, across the 2^32 wrap.
 */
import { describe, expect, it } from "vitest";
import { chooseIxfr, type IxfrChoice } from "./ixfr-choice.ts";

describe("chooseIxfr", () => {
  it.each<[string, number, number, "tcp" | "udp", IxfrChoice]>([
    ["current over TCP: the single SOA", 7, 7, "tcp", "current"],
    ["current over UDP: the single SOA", 7, 7, "udp", "current"],
    ["behind over TCP: the journal", 5, 7, "tcp", "journal"],
    ["behind across the wrap: the journal", 0xfffffffe, 3, "tcp", "journal"],
    ["ahead of us (a serial regression here): the whole zone", 9, 7, "tcp", "full"],
    ["ahead across the wrap: the whole zone", 3, 0xfffffffe, "tcp", "full"],
    ["exactly 2^31 apart (RFC 1982 undefined): the whole zone", 0, 0x80000000, "tcp", "full"],
    ["behind over UDP: the single SOA sends it to TCP", 5, 7, "udp", "current"],
    ["ahead over UDP: the single SOA", 9, 7, "udp", "current"],
  ])("%s", (_why, client, ours, transport, expected) => {
    expect(chooseIxfr(client, ours, transport)).toBe(expected);
  });
});
