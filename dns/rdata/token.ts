/**
 * @module Presentation-format tokens and a cursor over them, shared by the zone-file parser and the rdata
 * codecs' `fromText`.
 *
 * A token keeps its text exactly as written, backslash escapes included (`\.` `\"` `\DDD`): what an
 * escape means depends on the field (a name label, a character-string), so each field decodes its own.
 */
import { RdataError } from "./rdata-error.ts";

export interface Token {
  /** The token's text, escapes kept; for a quoted string, what lies between the quotes. */
  readonly text: string;
  /** True when the token was written as a "quoted string". */
  readonly quoted: boolean;
  /** 1-based line and 0-based column where the token starts, when it came from a file. */
  readonly line?: number;
  readonly column?: number;
}

/** Splits one line of rdata text into tokens (for tests and APIs that take a string). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      i++;
      let body = "";
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) body += text[i++];
        body += text[i++];
      }
      if (i >= text.length) throw new RdataError("bad-text", "unterminated quoted string", start);
      i++;
      out.push({ text: body, quoted: true, column: start });
      continue;
    }
    let word = "";
    let inQuotes = false;
    // A quote inside a word (SVCB's `alpn="h2,h3"`) runs to its closing quote, spaces included.
    while (i < text.length && (inQuotes || (text[i] !== " " && text[i] !== "\t"))) {
      if (text[i] === "\\" && i + 1 < text.length) word += text[i++];
      else if (text[i] === '"') inQuotes = !inQuotes;
      word += text[i++];
    }
    if (inQuotes) throw new RdataError("bad-text", "unterminated quoted string", start);
    out.push({ text: word, quoted: false, column: start });
  }
  return out;
}

/** Reads tokens one field at a time; every failure is an `RdataError` naming the token's position. */
export class TokenCursor {
  private index = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  get done(): boolean {
    return this.index >= this.tokens.length;
  }

  get remaining(): number {
    return this.tokens.length - this.index;
  }

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  /** The next token; `what` names the field in the error when there is none. */
  next(what: string): Token {
    const token = this.tokens[this.index];
    if (token === undefined) {
      const last = this.tokens[this.tokens.length - 1];
      throw new RdataError("missing-field", `missing ${what}`, last?.column, last?.line);
    }
    this.index++;
    return token;
  }

  /** All tokens left (possibly none). */
  rest(): Token[] {
    const out = this.tokens.slice(this.index);
    this.index = this.tokens.length;
    return out;
  }

  expectEnd(): void {
    const token = this.tokens[this.index];
    if (token !== undefined) throw fieldError("extra-field", token, `unexpected "${token.text}" after the last field`);
  }
}

/** An error located at `token`. */
export function fieldError(code: "bad-text" | "extra-field" | "too-long", token: Token, message: string): RdataError {
  return new RdataError(code, message, token.column, token.line);
}
