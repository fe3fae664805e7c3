/**
 * @module RFC 3597 §5 generic rdata: `\# <length> <hex>`, for types we have no codec for, accepted for
 * known types too, and printed for any rdata whose known-type form would not give back the same bytes.
 */
import { fromBase16, toBase16 } from "./base16.ts";
import { RdataError } from "./rdata-error.ts";
import { fieldError, type Token } from "./token.ts";

export function genericToText(rdata: Uint8Array): string {
  return rdata.length === 0 ? "\\# 0" : `\\# ${rdata.length} ${toBase16(rdata)}`;
}

/** True when the tokens start with the `\#` marker (which may not be quoted). */
export function isGeneric(tokens: readonly Token[]): boolean {
  const first = tokens[0];
  return first !== undefined && !first.quoted && first.text === "\\#";
}

/** Parses `\# len hex…`; the hex may be split into several words. */
export function genericFromText(tokens: readonly Token[]): Uint8Array {
  const marker = tokens[0]!;
  const lengthToken = tokens[1];
  if (lengthToken === undefined) throw new RdataError("missing-field", "\\# needs a length", marker.column, marker.line);
  if (lengthToken.quoted || !/^[0-9]{1,5}$/.test(lengthToken.text) || Number(lengthToken.text) > 65535) {
    throw fieldError("bad-text", lengthToken, `\\# length "${lengthToken.text}" is not 0-65535`);
  }
  const length = Number(lengthToken.text);
  const hexTokens = tokens.slice(2);
  for (const t of hexTokens) if (t.quoted) throw fieldError("bad-text", t, "\\# data may not be quoted");
  const bytes = fromBase16(hexTokens.map((t) => t.text).join(""));
  if (bytes === undefined) throw fieldError("bad-text", hexTokens[0] ?? lengthToken, "\\# data is not valid hex");
  if (bytes.length !== length) {
    throw fieldError("bad-text", lengthToken, `\\# says ${length} octets but the data has ${bytes.length}`);
  }
  return bytes;
}
