/**
 * @module A streaming tokenizer for RFC 1035 §5.1 master files. Text arrives in chunks of any size (a
 * chunk may end mid-token); complete entries (one logical line: parentheses join physical lines) come
 * out as soon as they end, so memory holds one entry, never the file.
 *
 * Rules: whitespace separates tokens; `;` starts a comment to end of line; `(` and `)` continue an entry
 * over newlines; `"…"` is one token with spaces kept; `\X` and `\DDD` escapes are kept verbatim for the
 * field that reads them (so `\;`, `\(` and `\"` are never syntax). An entry whose first line starts with
 * a blank has no owner field (it reuses the previous owner, §5.1).
 */
import type { Token } from "../rdata/token.ts";
import { ZoneFileError } from "./zone-file-error.ts";

export interface Entry {
  readonly tokens: Token[];
  /** True when the entry's line starts with a space or tab: the owner is the previous one. */
  readonly blankOwner: boolean;
  /** Where the entry starts. */
  readonly line: number;
}

export class ZoneTokenizer {
  private line = 1;
  private column = 0;
  private depth = 0;
  private depthLine = 0;
  private depthColumn = 0;
  private inComment = false;
  /** The token being read, if any. */
  private text: string | undefined;
  private quoted = false;
  /** A quote opened inside an unquoted word (`alpn="h2,h3"`). */
  private innerQuote = false;
  private escape = false;
  private tokenLine = 0;
  private tokenColumn = 0;
  private tokens: Token[] = [];
  private blankOwner = false;
  private entryLine = 1;
  private atLineStart = true;

  constructor(private readonly file?: string) {}

  /** Feeds a chunk; returns the entries it completed. */
  push(chunk: string): Entry[] {
    const out: Entry[] = [];
    for (let i = 0; i < chunk.length; i++) {
      this.char(chunk[i]!, out);
      if (chunk[i] === "\n") {
        this.line++;
        this.column = 0;
      } else this.column++;
    }
    return out;
  }

  /** Ends the input; returns the last entry if the text did not end with a newline. */
  end(): Entry[] {
    const out: Entry[] = [];
    if (this.text !== undefined && (this.quoted || this.innerQuote)) {
      throw new ZoneFileError("syntax", "unterminated quoted string", this.tokenLine, this.tokenColumn, this.file);
    }
    if (this.escape) throw new ZoneFileError("syntax", "file ends with a lone backslash", this.line, this.column, this.file);
    this.finishToken();
    if (this.depth > 0) {
      throw new ZoneFileError("syntax", "unbalanced parenthesis: no closing )", this.depthLine, this.depthColumn, this.file);
    }
    this.finishEntry(out);
    return out;
  }

  private char(c: string, out: Entry[]): void {
    if (this.inComment) {
      if (c !== "\n") return;
      this.inComment = false;
    }
    if (this.text !== undefined) {
      if (this.escape) {
        this.text += c;
        this.escape = false;
        return;
      }
      if (c === "\\") {
        this.text += c;
        this.escape = true;
        return;
      }
      if (this.quoted) {
        if (c === '"') {
          this.finishToken();
          return;
        }
        if (c === "\n") {
          throw new ZoneFileError("syntax", "unterminated quoted string", this.tokenLine, this.tokenColumn, this.file);
        }
        this.text += c;
        return;
      }
      if (this.innerQuote) {
        if (c === "\n") throw new ZoneFileError("syntax", "unterminated quoted string", this.tokenLine, this.tokenColumn, this.file);
        if (c === '"') this.innerQuote = false;
        this.text += c;
        return;
      }
      if (c === '"') {
        this.innerQuote = true;
        this.text += c;
        return;
      }
      if (c !== " " && c !== "\t" && c !== "\r" && c !== "\n" && c !== "(" && c !== ")" && c !== ";") {
        this.text += c;
        return;
      }
      this.finishToken();
    }
    const lineStart = this.atLineStart;
    this.atLineStart = false;
    switch (c) {
      case " ":
      case "\t":
      case "\r":
        if (lineStart && this.depth === 0 && this.tokens.length === 0) this.blankOwner = true;
        return;
      case "\n":
        this.atLineStart = true;
        if (this.depth === 0) this.finishEntry(out);
        return;
      case ";":
        this.inComment = true;
        return;
      case "(":
        if (this.depth > 0) throw new ZoneFileError("syntax", "nested parenthesis", this.line, this.column, this.file);
        this.depth = 1;
        this.depthLine = this.line;
        this.depthColumn = this.column;
        this.startEntryIfNone();
        return;
      case ")":
        if (this.depth === 0) throw new ZoneFileError("syntax", "unbalanced parenthesis: ) without (", this.line, this.column, this.file);
        this.depth = 0;
        return;
      default:
        this.startEntryIfNone();
        this.text = c === '"' ? "" : c;
        this.quoted = c === '"';
        this.escape = c === "\\";
        this.tokenLine = this.line;
        this.tokenColumn = this.column;
    }
  }

  private startEntryIfNone(): void {
    if (this.tokens.length === 0 && this.text === undefined) this.entryLine = this.line;
  }

  private finishToken(): void {
    if (this.text === undefined) return;
    this.tokens.push({ text: this.text, quoted: this.quoted, line: this.tokenLine, column: this.tokenColumn });
    this.text = undefined;
    this.quoted = false;
    this.innerQuote = false;
  }

  private finishEntry(out: Entry[]): void {
    if (this.tokens.length > 0) out.push({ tokens: this.tokens, blankOwner: this.blankOwner, line: this.entryLine });
    this.tokens = [];
    this.blankOwner = false;
  }
}
