/**
 * The OPT found and edited without a full decode, against the full decoder: every position and option bit
 * `opt-scan.ts` reads must agree with `decodeMessage`, malformed options are told apart from well-formed
 * ones exactly where `decodeOpt` fails, and an appended option reads back as the last option of the OPT.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Opcode, RRClass, RRType } from "../constants.ts";
import { EdnsOptionCode } from "../edns.ts";
import { noFlags } from "../header.ts";
import { decodeMessage, encodeMessage, type Message } from "../message.ts";
import { Name } from "../name.ts";
import { queryWire } from "../testing/query-wire.ts";
import { appendEdnsOption, locateOpt, OPTION_EXPIRE, OPTION_NSID, OPTIONS_MALFORMED, queryOptions, scanOptions } from "./opt-scan.ts";
import { WireError } from "./reader.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
/** `www.probe.test A` with RD clear, QDCOUNT 1, ARCOUNT 1, then an OPT whose RDATA is `rdata` (hex). */
const withOptRdata = (rdata: string, rdlength?: number): Uint8Array => {
  const data = hex(rdata || "00").subarray(0, rdata ? undefined : 0);
  const len = rdlength ?? data.length;
  return new Uint8Array([...hex("1234 0000 0001 0000 0000 0001 03777777 0570726f6265 0474657374 00 0001 0001 00 0029 04d0 00000000"), len >> 8, len & 0xff, ...data]);
};

describe("scanOptions", () => {
  it.each<{ why: string; rdata: string; bits: number }>([
    { why: "no options", rdata: "", bits: 0 },
    { why: "an empty NSID (RFC 5001 §2.1)", rdata: "0003 0000", bits: OPTION_NSID },
    { why: "a cookie and an NSID", rdata: "000a 0008 0102030405060708 0003 0000", bits: OPTION_NSID },
    { why: "an unknown option", rdata: "fde9 0002 abcd", bits: 0 },
    { why: "an EDNS EXPIRE request (RFC 7314 §2)", rdata: "0009 0000", bits: OPTION_EXPIRE },
    { why: "NSID and EXPIRE", rdata: "0003 0000 0009 0000", bits: OPTION_NSID | OPTION_EXPIRE },
    { why: "an option header cut short", rdata: "000a", bits: OPTIONS_MALFORMED },
    { why: "option data past the RDATA", rdata: "000a 0008 0102", bits: OPTIONS_MALFORMED },
    { why: "a second option cut short", rdata: "0003 0000 00", bits: OPTIONS_MALFORMED },
  ])("$why", ({ rdata, bits }) => {
    const wire = withOptRdata(rdata);
    const opt = locateOpt(wire)!;
    expect(scanOptions(wire, opt.rdataAt, opt.rdlength)).toBe(bits);
    expect(queryOptions(wire)).toBe(bits);
    // The full decoder fails exactly on the malformed ones.
    if (bits === OPTIONS_MALFORMED) expect(() => decodeMessage(wire)).toThrow(WireError);
    else {
      const options = decodeMessage(wire).edns!.options;
      expect(options.some((o) => o.code === EdnsOptionCode.NSID)).toBe((bits & OPTION_NSID) !== 0);
      expect(options.some((o) => o.code === EdnsOptionCode.EXPIRE)).toBe((bits & OPTION_EXPIRE) !== 0);
    }
  });

  it("agrees with decodeOpt on random option octets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (data) => {
        const wire = withOptRdata(Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(""));
        const bits = queryOptions(wire);
        let decoded;
        try {
          decoded = decodeMessage(wire);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
        }
        expect(bits === OPTIONS_MALFORMED).toBe(decoded === undefined);
        if (decoded) expect((bits & OPTION_NSID) !== 0).toBe(decoded.edns!.options.some((o) => o.code === EdnsOptionCode.NSID));
      }),
      { numRuns: 2000 },
    );
  });
});

/** A response with compressed names in every section and an OPT, as the engine writes one. */
function response(withTsig = false): Uint8Array {
  const name = Name.parse("www.probe.test.");
  const rr = (type: number, rdata: Uint8Array) => ({ name, type, class: RRClass.IN, ttl: 300, rdata });
  const message: Message = {
    id: 7,
    opcode: Opcode.QUERY,
    flags: { ...noFlags(), qr: true, aa: true },
    rcode: 0,
    questions: [{ name, type: RRType.A, class: RRClass.IN }],
    answers: [rr(RRType.A, new Uint8Array([192, 0, 2, 1])), rr(RRType.A, new Uint8Array([192, 0, 2, 2]))],
    authorities: [rr(RRType.NS, Name.parse("ns1.probe.test.").toWire())],
    additionals: [{ ...rr(RRType.A, new Uint8Array([127, 0, 0, 1])), name: Name.parse("ns1.probe.test.") }],
    edns: { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true, flags: 0, options: [{ code: 10, data: new Uint8Array(8) }] },
  };
  if (withTsig) message.tsig = { record: rr(RRType.TSIG, new Uint8Array(20)), offset: 0 };
  return encodeMessage(message).wire;
}

describe("locateOpt and appendEdnsOption", () => {
  it("finds the OPT after compressed records, last in the message", () => {
    const wire = response();
    const opt = locateOpt(wire)!;
    expect(opt.last).toBe(true);
    expect(opt.rdlength).toBe(12);
    expect(wire[opt.at]).toBe(0);
    expect(locateOpt(queryWire("a.example.", "A", { edns: false }))).toBeUndefined();
    expect(() => locateOpt(wire.subarray(0, wire.length - 3))).toThrow(WireError);
  });

  it("appends NSID as the OPT's last option; the message decodes with every record intact", () => {
    const wire = response();
    const nsid = new TextEncoder().encode("front-1");
    const out = appendEdnsOption(wire, EdnsOptionCode.NSID, nsid, 0xffff);
    expect(out.length).toBe(wire.length + 4 + nsid.length);
    const before = decodeMessage(wire);
    const after = decodeMessage(out);
    expect(after.answers).toEqual(before.answers);
    expect(after.authorities).toEqual(before.authorities);
    expect(after.additionals).toEqual(before.additionals);
    expect(after.edns!.dnssecOk).toBe(true);
    expect(after.edns!.options).toEqual([...before.edns!.options, { code: EdnsOptionCode.NSID, data: nsid }]);
  });

  it("leaves the reply as it is when the option does not fit, there is no OPT, or a TSIG follows the OPT", () => {
    const wire = response();
    const nsid = new Uint8Array(10);
    expect(appendEdnsOption(wire, EdnsOptionCode.NSID, nsid, wire.length + 13)).toBe(wire);
    expect(appendEdnsOption(wire, EdnsOptionCode.NSID, nsid, wire.length + 14)).not.toBe(wire);
    const plain = queryWire("a.example.", "A", { edns: false });
    expect(appendEdnsOption(plain, EdnsOptionCode.NSID, nsid, 0xffff)).toBe(plain);
    const signed = response(true);
    expect(locateOpt(signed)!.last).toBe(false);
    expect(appendEdnsOption(signed, EdnsOptionCode.NSID, nsid, 0xffff)).toBe(signed);
  });

  it("random octets: a position, undefined or a WireError; appendEdnsOption never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          locateOpt(bytes);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
        }
        appendEdnsOption(bytes, EdnsOptionCode.NSID, new Uint8Array(2), 0xffff);
        queryOptions(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
