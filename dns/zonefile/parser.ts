/**
 * @module RFC 1035 §5 master-file parser: streams records out of text that streams in.
 *
 * Handles `$ORIGIN`, `$TTL` (RFC 2308 §4), `$INCLUDE` (only when the caller supplies a resolver: a zone
 * file must not read the filesystem on its own), `@`, relative names, blank owners, parentheses,
 * comments, quoted strings with escapes, TTL and class in either order, and RFC 3597 generic rdata.
 *
 * TTL of a record without one, in order: `$TTL`; the last TTL given explicitly (RFC 1035 §5.1); for the
 * SOA only, its MINIMUM field (what BIND does for old zone files). Anything else is an error.
 *
 * Every record comes out as the message model carries it: owner, type, class, TTL and uncompressed rdata.
 */
import { soaMinimum } from "../rdata/soa.ts";
import { classFromString, isMetaType, RRClass, RRType, typeFromString } from "../constants.ts";
import { Name, NameError } from "../name.ts";
import { RdataError, rdataFromText } from "../rdata/index.ts";
import type { Token } from "../rdata/token.ts";
import { parseTtl } from "./ttl.ts";
import { ZoneTokenizer, type Entry } from "./tokenizer.ts";
import { ZoneFileError } from "./zone-file-error.ts";
import { parseRange, substitute } from "./generate.ts";

export interface ZoneRecord {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

/** Text of an included file, as chunks; `from` is the including file's name. */
export type IncludeResolver = (path: string, from: string | undefined) => AsyncIterable<string> | Iterable<string>;

export interface ZoneParseOptions {
  /** The origin before any `$ORIGIN`: normally the zone's name. */
  origin: Name;
  /** `$TTL` before any `$TTL` directive. */
  defaultTtl?: number;
  /** The class records must have (default IN); a record of another class is an error. */
  class?: number;
  /** Name used in error messages. */
  file?: string;
  /** Enables `$INCLUDE`. Without it, `$INCLUDE` is an error. */
  include?: IncludeResolver;
  /** How deep `$INCLUDE`s may nest (default 8), which also stops include loops. */
  maxIncludeDepth?: number;
}

/**
 * Per-file state. An included file starts with its own origin and no previous owner; when it ends, the
 * origin returns to the including file's (RFC 1035 §5.1) but TTL defaults carry on, as in BIND.
 */
interface FileState {
  origin: Name;
  defaultTtl: number | undefined;
  lastTtl: number | undefined;
  owner: Name | undefined;
  file: string | undefined;
}

type EntryResult = { record: ZoneRecord } | { records: ZoneRecord[] } | { include: { path: string; origin: Name; token: Token } } | undefined;

class EntryParser {
  constructor(private readonly zoneClass: number) {}

  private fail(code: ZoneFileError["code"], message: string, token: Token, state: FileState): never {
    throw new ZoneFileError(code, message, token.line ?? 0, token.column ?? 0, state.file);
  }

  private name(token: Token, state: FileState, code: "bad-owner" | "directive"): Name {
    if (token.quoted) this.fail(code, `a name may not be quoted: "${token.text}"`, token, state);
    try {
      return Name.parse(token.text, state.origin);
    } catch (err) {
      if (err instanceof NameError) {
        throw new ZoneFileError(code, err.message, token.line ?? 0, (token.column ?? 0) + (err.column ?? 0), state.file);
      }
      throw err;
    }
  }

  parse(entry: Entry, state: FileState): EntryResult {
    const tokens = entry.tokens;
    let i = 0;
    const first = tokens[0]!;
    if (!entry.blankOwner && !first.quoted && first.text.startsWith("$")) return this.directive(tokens, state);

    let owner: Name;
    if (entry.blankOwner) {
      if (state.owner === undefined) this.fail("no-owner", "record without an owner, and no previous owner", first, state);
      owner = state.owner;
    } else {
      owner = this.name(first, state, "bad-owner");
      i = 1;
    }

    let ttl: number | undefined;
    let cls: number | undefined;
    for (let k = 0; k < 2 && i < tokens.length; k++) {
      const token = tokens[i]!;
      if (token.quoted) break;
      if (ttl === undefined && /^[0-9]/.test(token.text)) {
        const v = parseTtl(token.text);
        if (v === undefined) this.fail("bad-ttl", `bad TTL "${token.text}"`, token, state);
        ttl = v;
        i++;
        continue;
      }
      const c = cls === undefined ? classFromString(token.text) : undefined;
      if (c !== undefined && typeFromString(token.text) === undefined) {
        cls = c;
        i++;
        continue;
      }
      break;
    }

    const typeToken = tokens[i];
    if (typeToken === undefined) this.fail("bad-type", "record without a type", tokens[tokens.length - 1]!, state);
    const type = typeToken.quoted ? undefined : typeFromString(typeToken.text);
    if (type === undefined) this.fail("bad-type", `unknown type "${typeToken.text}"`, typeToken, state);
    if (isMetaType(type) || type === RRType.TSIG || type === RRType.TKEY) {
      this.fail("bad-type", `${typeToken.text} cannot appear in a zone`, typeToken, state);
    }
    if (cls !== undefined && cls !== this.zoneClass) this.fail("bad-class", `class ${tokens[i - 1]!.text} differs from the zone's`, typeToken, state);

    const rdataTokens = tokens.slice(i + 1);
    let rdata: Uint8Array;
    try {
      rdata = rdataFromText(type, rdataTokens, state.origin);
    } catch (err) {
      if (err instanceof RdataError) {
        const at = rdataTokens[0] ?? typeToken;
        throw new ZoneFileError("bad-rdata", err.message, err.line ?? at.line ?? 0, err.column ?? at.column ?? 0, state.file);
      }
      throw err;
    }

    if (ttl !== undefined) state.lastTtl = ttl;
    else if (state.defaultTtl !== undefined) ttl = state.defaultTtl;
    else if (state.lastTtl !== undefined) ttl = state.lastTtl;
    else if (type === RRType.SOA && rdata.length >= 20) {
      // No TTL anywhere yet: the SOA MINIMUM serves, as BIND does ("no TTL specified; using SOA MINTTL").
      ttl = soaMinimum(rdata);
      state.lastTtl = ttl;
    } else this.fail("no-ttl", "no TTL given, no $TTL and no earlier TTL to inherit", typeToken, state);

    state.owner = owner;
    return { record: { name: owner, type, class: this.zoneClass, ttl, rdata } };
  }

  private directive(tokens: Token[], state: FileState): EntryResult {
    const d = tokens[0]!;
    const arg = tokens[1];
    const word = d.text.toUpperCase();
    if (word === "$ORIGIN" || word === "$TTL") {
      if (arg === undefined) this.fail("directive", `${word} needs a value`, d, state);
      if (tokens.length > 2) this.fail("directive", `unexpected "${tokens[2]!.text}" after ${word}`, tokens[2]!, state);
      if (word === "$ORIGIN") {
        state.origin = this.name(arg, state, "directive");
      } else {
        const v = parseTtl(arg.text);
        if (v === undefined || arg.quoted) this.fail("bad-ttl", `bad $TTL "${arg.text}"`, arg, state);
        state.defaultTtl = v;
      }
      return undefined;
    }
    if (word === "$INCLUDE") {
      if (arg === undefined) this.fail("directive", "$INCLUDE needs a file name", d, state);
      const originToken = tokens[2];
      if (tokens.length > 3) this.fail("directive", `unexpected "${tokens[3]!.text}" after $INCLUDE`, tokens[3]!, state);
      const origin = originToken === undefined ? state.origin : this.name(originToken, state, "directive");
      return { include: { path: arg.text, origin, token: d } };
    }
    if (word === "$GENERATE") return { records: this.generate(tokens, state) };
    this.fail("directive", `unsupported directive ${d.text}`, d, state);
  }

  /**
   * BIND's `$GENERATE range lhs [ttl] [class] type rhs` (`generate.ts`): each value's line is parsed as if
   * written out, so TTL defaults, `@`, relative names and errors behave as for any record. The previous
   * owner is left as it was (a blank-owner line after it continues the record before).
   */
  private generate(tokens: Token[], state: FileState): ZoneRecord[] {
    const d = tokens[0]!;
    if (tokens.length < 5) this.fail("directive", "$GENERATE needs a range, an owner, a type and rdata", d, state);
    const range = parseRange(tokens[1]!.text);
    if (typeof range === "string") this.fail("directive", `$GENERATE: ${range}`, tokens[1]!, state);
    const lhs = tokens[2]!, middle = tokens.slice(3, -1), rhs = tokens[tokens.length - 1]!;
    if (middle.length < 1 || middle.length > 3) this.fail("directive", "$GENERATE takes one rdata token after the type (quote it if it holds spaces)", rhs, state);
    const owner = state.owner;
    const out: ZoneRecord[] = [];
    for (let v = range.start; v <= range.stop; v += range.step) {
      const name = substitute(lhs.text, v);
      if ("error" in name) this.fail("directive", `$GENERATE: ${name.error}`, lhs, state);
      const data = substitute(rhs.text, v);
      if ("error" in data) this.fail("directive", `$GENERATE: ${data.error}`, rhs, state);
      const line: Token[] = [{ ...lhs, text: name.text }, ...middle, ...(rhs.quoted ? [{ ...rhs, text: data.text }] : tokenizeAt(data.text, rhs))];
      const result = this.parse({ tokens: line, blankOwner: false, line: d.line ?? 0 }, state);
      if (result && "record" in result) out.push(result.record);
    }
    state.owner = owner;
    return out;
  }
}

/** An unquoted rdata token after substitution may hold several fields (`"10 mail$"` was one token only if quoted). */
function tokenizeAt(text: string, at: Token): Token[] {
  return text.split(/\s+/).filter((t) => t !== "").map((t) => ({ text: t, quoted: false, line: at.line, column: at.column }));
}

/**
 * Parses a zone file streamed as text chunks (from a ReadableStream piped through TextDecoderStream, a
 * Node stream with an encoding, or an array), yielding the records of each chunk as one array: the
 * batch form costs one await per chunk instead of one per record, for bulk loading.
 * @throws ZoneFileError naming file, line and column.
 */
export async function* parseZoneBatches(source: AsyncIterable<string> | Iterable<string>, options: ZoneParseOptions): AsyncGenerator<ZoneRecord[]> {
  const parser = new EntryParser(options.class ?? RRClass.IN);
  const maxDepth = options.maxIncludeDepth ?? 8;

  async function* run(src: AsyncIterable<string> | Iterable<string>, state: FileState, depth: number): AsyncGenerator<ZoneRecord[]> {
    const tokenizer = new ZoneTokenizer(state.file);
    let done = false;
    const iterator = (Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]()) as AsyncIterator<string> | Iterator<string>;
    while (!done) {
      const step = await iterator.next();
      const entries = step.done ? tokenizer.end() : tokenizer.push(step.value);
      done = step.done === true;
      let batch: ZoneRecord[] = [];
      for (const entry of entries) {
        const result = parser.parse(entry, state);
        if (result === undefined) continue;
        if ("record" in result) {
          batch.push(result.record);
          continue;
        }
        if ("records" in result) {
          batch.push(...result.records);
          continue;
        }
        const { path, origin, token } = result.include;
        if (options.include === undefined) {
          throw new ZoneFileError("directive", "$INCLUDE is not enabled", token.line ?? 0, token.column ?? 0, state.file);
        }
        if (depth >= maxDepth) {
          throw new ZoneFileError("include-depth", `$INCLUDE nested deeper than ${maxDepth}`, token.line ?? 0, token.column ?? 0, state.file);
        }
        if (batch.length > 0) yield batch;
        batch = [];
        const inner: FileState = { origin, defaultTtl: state.defaultTtl, lastTtl: state.lastTtl, owner: undefined, file: path };
        yield* run(options.include(path, state.file), inner, depth + 1);
        // BIND keeps a $TTL (and the last TTL) set inside an included file; only the origin is restored.
        state.defaultTtl = inner.defaultTtl;
        state.lastTtl = inner.lastTtl;
      }
      if (batch.length > 0) yield batch;
    }
  }

  yield* run(source, { origin: options.origin, defaultTtl: options.defaultTtl, lastTtl: undefined, owner: undefined, file: options.file }, 0);
}

/**
 * Parses a zone file streamed as text chunks, yielding records in file order.
 * @throws ZoneFileError naming file, line and column.
 */
export async function* parseZone(source: AsyncIterable<string> | Iterable<string>, options: ZoneParseOptions): AsyncGenerator<ZoneRecord> {
  for await (const batch of parseZoneBatches(source, options)) yield* batch;
}

/** Parses a whole zone held in a string (no `$INCLUDE`). For tests and small zones. */
export function parseZoneText(text: string, options: Omit<ZoneParseOptions, "include">): ZoneRecord[] {
  const parser = new EntryParser(options.class ?? RRClass.IN);
  const state: FileState = { origin: options.origin, defaultTtl: options.defaultTtl, lastTtl: undefined, owner: undefined, file: options.file };
  const tokenizer = new ZoneTokenizer(options.file);
  const out: ZoneRecord[] = [];
  for (const entry of [...tokenizer.push(text), ...tokenizer.end()]) {
    const result = parser.parse(entry, state);
    if (result === undefined) continue;
    if ("record" in result) out.push(result.record);
    else if ("records" in result) out.push(...result.records);
    else {
      const t = result.include.token;
      throw new ZoneFileError("directive", "$INCLUDE is not enabled", t.line ?? 0, t.column ?? 0, options.file);
    }
  }
  return out;
}
