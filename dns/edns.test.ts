import { describe, expect, it } from "vitest";
import { RRType, Rcode } from "./constants.ts";
import {
  DEFAULT_UDP_PAYLOAD_SIZE,
  type Edns,
  EdnsOptionCode,
  ExtendedErrorCode,
  decodeOpt,
  extendedError,
  extendedErrors,
  ednsVersionUnsupported,
  encodeOpt,
  findOption,
  joinRcode,
  negotiatePayloadSize,
  optWireLength,
  responseEdns,
  splitRcode,
} from "./edns.ts";
import { Name } from "./name.ts";
import { WireError } from "./wire/reader.ts";

const base: Edns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, flags: 0, options: [] };
const bytes = (...b: number[]) => Uint8Array.from(b);

describe("OPT record ↔ Edns (RFC 6891 §6.1.2–6.1.3)", () => {
  // [what, Edns, OPT CLASS, OPT TTL, OPT RDATA]
  const cases: Array<[label: string, edns: Edns, cls: number, ttl: number, rdata: number[]]> = [
    ["plain EDNS0, 1232", base, 1232, 0, []],
    ["DO bit (RFC 3225)", { ...base, dnssecOk: true, udpPayloadSize: 4096 }, 4096, 0x00008000, []],
    ["version 1", { ...base, version: 1 }, 1232, 0x00010000, []],
    ["BADVERS extended rcode bits", { ...base, extendedRcode: 1 }, 1232, 0x01000000, []],
    ["every TTL bit: rcode 255, version 255, DO, Z", { ...base, extendedRcode: 255, version: 255, flags: 0x7fff, dnssecOk: true }, 1232, 0xffffffff, []],
    ["empty NSID option", { ...base, options: [{ code: EdnsOptionCode.NSID, data: bytes() }] }, 1232, 0, [0, 3, 0, 0]],
    ["cookie and an unknown option, order kept", {
      ...base,
      options: [
        { code: EdnsOptionCode.COOKIE, data: bytes(1, 2, 3, 4, 5, 6, 7, 8) },
        { code: 65001, data: bytes(0xbe, 0xef) },
      ],
    }, 1232, 0, [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0xfd, 0xe9, 0, 2, 0xbe, 0xef]],
    ["payload size below 512 kept as sent", { ...base, udpPayloadSize: 100 }, 100, 0, []],
  ];
  it.each(cases)("%s", (_label, edns, cls, ttl, rdata) => {
    const rr = encodeOpt(edns);
    expect(rr.name.isRoot()).toBe(true);
    expect([rr.type, rr.class, rr.ttl, Array.from(rr.rdata)]).toEqual([RRType.OPT, cls, ttl, rdata]);
    expect(optWireLength(edns)).toBe(11 + rdata.length);
    expect(decodeOpt(rr)).toEqual(edns);
  });

  const bad: Array<[label: string, rdata: number[]]> = [
    ["option header cut short", [0, 3, 0]],
    ["option data longer than the RDATA", [0, 10, 0, 8, 1, 2]],
    ["second option cut short", [0, 3, 0, 0, 0]],
  ];
  it.each(bad)("rejects %s with a typed error", (_label, rdata) => {
    expect(() => decodeOpt({ name: Name.root, type: RRType.OPT, class: 1232, ttl: 0, rdata: Uint8Array.from(rdata) })).toThrowError(WireError);
  });

  const unencodable: Array<[label: string, edns: Edns]> = [
    ["payload size above 65535", { ...base, udpPayloadSize: 65536 }],
    ["version above 255", { ...base, version: 256 }],
    ["extended rcode above 255", { ...base, extendedRcode: 256 }],
    ["flags reaching into DO", { ...base, flags: 0x8000 }],
    ["option code above 65535", { ...base, options: [{ code: 0x10000, data: bytes() }] }],
    ["options over 65535 octets", { ...base, options: [{ code: 1, data: new Uint8Array(40000) }, { code: 2, data: new Uint8Array(40000) }] }],
  ];
  it.each(unencodable)("refuses to encode %s", (_label, edns) => {
    expect(() => encodeOpt(edns)).toThrowError(RangeError);
  });

  it("finds options by code", () => {
    const edns = { ...base, options: [{ code: 8, data: bytes(1) }, { code: 8, data: bytes(2) }] };
    expect(findOption(edns, 8)?.data).toEqual(bytes(1));
    expect(findOption(edns, 3)).toBeUndefined();
    expect(findOption(undefined, 8)).toBeUndefined();
  });
});

describe("payload size negotiation (RFC 6891 §6.2.3, §6.2.5)", () => {
  // [what, requestor's size or no EDNS, server maximum, result]
  const cases: Array<[label: string, requested: number | undefined, max: number | undefined, size: number]> = [
    ["no EDNS: 512", undefined, undefined, 512],
    ["no EDNS, large server max: still 512", undefined, 4096, 512],
    ["dig's 1232", 1232, undefined, 1232],
    ["4096 capped at the default 1232", 4096, undefined, DEFAULT_UDP_PAYLOAD_SIZE],
    ["4096 with a 4096 server max", 4096, 4096, 4096],
    ["below 512 raised to 512", 100, undefined, 512],
    ["zero raised to 512", 0, undefined, 512],
    ["server max below 512 ignored", 1232, 300, 512],
    ["65535 capped", 65535, 1400, 1400],
  ];
  it.each(cases)("%s", (_label, requested, max, size) => {
    const query = requested === undefined ? undefined : { ...base, udpPayloadSize: requested };
    expect(negotiatePayloadSize(query, max)).toBe(size);
  });
});

describe("BADVERS and the response OPT", () => {
  const versions: Array<[version: number | undefined, unsupported: boolean]> = [
    [undefined, false],
    [0, false],
    [1, true],
    [255, true],
  ];
  it.each(versions)("version %s → unsupported %s", (version, unsupported) => {
    expect(ednsVersionUnsupported(version === undefined ? undefined : { ...base, version })).toBe(unsupported);
  });

  it("answers with version 0, our payload size, DO copied, Z zero, only the options chosen", () => {
    const query: Edns = { ...base, version: 1, dnssecOk: true, flags: 0x1234, options: [{ code: 65001, data: bytes(1) }] };
    const nsid = { code: EdnsOptionCode.NSID, data: new TextEncoder().encode("backstop") };
    expect(responseEdns(query, { options: [nsid] })).toEqual({
      udpPayloadSize: DEFAULT_UDP_PAYLOAD_SIZE, extendedRcode: 0, version: 0, dnssecOk: true, flags: 0, options: [nsid],
    });
    expect(responseEdns({ ...base, udpPayloadSize: 512 }, { udpPayloadSize: 4096 })).toMatchObject({ udpPayloadSize: 4096, dnssecOk: false, options: [] });
  });
});

describe("extended rcodes (RFC 6891 §6.1.3)", () => {
  const cases: Array<[rcode: number, header: number, extended: number]> = [
    [Rcode.NOERROR, 0, 0],
    [Rcode.NXDOMAIN, 3, 0],
    [15, 15, 0],
    [Rcode.BADVERS, 0, 1],
    [Rcode.BADCOOKIE, 7, 1],
    [4095, 15, 255],
  ];
  it.each(cases)("rcode %d = header %d + extended %d", (rcode, header, extended) => {
    expect(splitRcode(rcode)).toEqual({ header, extended });
    expect(joinRcode(header, extended)).toBe(rcode);
  });

  it("refuses rcodes that do not fit 12 bits", () => {
    for (const rcode of [-1, 4096, 1.5]) expect(() => splitRcode(rcode)).toThrowError(RangeError);
  });
});

describe("Extended DNS Errors (RFC 8914 §2)", () => {
  it("INFO-CODE in network order, then EXTRA-TEXT in UTF-8 without a NUL", () => {
    expect(extendedError(ExtendedErrorCode.NOT_AUTHORITATIVE)).toEqual({ code: 15, data: new Uint8Array([0, 20]) });
    const o = extendedError(ExtendedErrorCode.INVALID_DATA, "zone expired");
    expect(o.code).toBe(EdnsOptionCode.EXTENDED_ERROR);
    expect(Array.from(o.data.subarray(0, 2))).toEqual([0, 24]);
    expect(new TextDecoder().decode(o.data.subarray(2))).toBe("zone expired");
    expect(() => extendedError(65536)).toThrow(RangeError);
  });

  it("reads back through an OPT, skipping other options and EDEs shorter than their INFO-CODE", () => {
    const edns: Edns = {
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: false,
      flags: 0,
      options: [{ code: 3, data: new Uint8Array(0) }, extendedError(20), { code: 15, data: new Uint8Array([1]) }, extendedError(0, "é")],
    };
    expect(extendedErrors(decodeOpt(encodeOpt(edns)))).toEqual([
      { infoCode: 20, extraText: "" },
      { infoCode: 0, extraText: "é" },
    ]);
    expect(extendedErrors(undefined)).toEqual([]);
  });
});
