/**
 * @module A streaming tokenizer for RFC 1035 §5.1 master files. Text arrives in chunks of any size (a
 * chunk may end mid-token); complete entries (one logical line: parentheses join physical lines) come
 * out as soon as they end, so memory holds one entry, never the file.
 *
 * Rules: whitespace separates tokens; `;` starts a comment to end of line; `(` and `)` continue an entry
 * over newlines; `"…"` is one token with spaces kept; `\X` and `\DDD` escapes are kept verbatim for the
 * field that reads them (so `\;`, `\(` and `\"` are never syntax). An entry whose first line starts with
 * a blank has no owner field (it reuses the previous owner, §5.1).
 *
 * Hand-written and index-based (runs of plain characters are sliced, not appended one by one): this loop
 * sees every character of a 1M-record zone.
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

const SPACE = 0x20, TAB = 0x09, CR = 0x0d, LF = 0x0a, SEMI = 0x3b, LPAREN = 0x28, RPAREN = 0x29, QUOTE = 0x22, BACKSLASH = 0x5c;

/** Characters that end an unquoted word. */
function endsWord(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF || c === SEMI || c === LPAREN || c === RPAREN;
}

export class ZoneTokenizer {
  private line = 1;
  /** Column of the next character. */
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

  private error(message: string, line: number, column: number): ZoneFileError {
    return new ZoneFileError("syntax", message, line, column, this.file);
  }

  /** Feeds a chunk; returns the entries it completed. */
  push(chunk: string): Entry[] {
    const out: Entry[] = [];
    const n = chunk.length;
    let i = 0;
    // Column of chunk[i] is this.column + (i - base) until a newline resets it.
    let base = 0;
    const col = (at: number) => this.column + (at - base);
    while (i < n) {
      const c = chunk.charCodeAt(i);
      if (this.inComment) {
        const nl = chunk.indexOf("\n", i);
        if (nl < 0) break; // the comment runs past this chunk
        this.inComment = false;
        i = nl;
        continue;
      }
      if (this.text !== undefined) {
        // Inside a token: take the longest run of ordinary characters at once.
        if (this.escape) {
          this.text += chunk[i];
          this.escape = false;
          i++;
          continue;
        }
        if (c === BACKSLASH) {
          this.text += "\\";
          this.escape = true;
          i++;
          continue;
        }
        if (this.quoted || this.innerQuote) {
          if (c === LF) throw this.error("unterminated quoted string", this.tokenLine, this.tokenColumn);
          if (c === QUOTE) {
            i++;
            if (this.quoted) this.finishToken();
            else {
              this.text += '"';
              this.innerQuote = false;
            }
            continue;
          }
          let j = i + 1;
          while (j < n) {
            const d = chunk.charCodeAt(j);
            if (d === QUOTE || d === BACKSLASH || d === LF) break;
            j++;
          }
          this.text += chunk.slice(i, j);
          i = j;
          continue;
        }
        if (c === QUOTE) {
          this.innerQuote = true;
          this.text += '"';
          i++;
          continue;
        }
        if (!endsWord(c)) {
          let j = i + 1;
          while (j < n) {
            const d = chunk.charCodeAt(j);
            if (endsWord(d) || d === QUOTE || d === BACKSLASH) break;
            j++;
          }
          this.text += chunk.slice(i, j);
          i = j;
          continue;
        }
        this.finishToken();
      }
      const lineStart = this.atLineStart;
      this.atLineStart = false;
      switch (c) {
        case SPACE:
        case TAB:
        case CR:
          if (lineStart && this.depth === 0 && this.tokens.length === 0) this.blankOwner = true;
          break;
        case LF:
          if (this.depth === 0) this.finishEntry(out);
          this.atLineStart = true;
          this.line++;
          this.column = 0;
          base = i + 1;
          break;
        case SEMI:
          this.inComment = true;
          break;
        case LPAREN:
          if (this.depth > 0) throw this.error("nested parenthesis", this.line, col(i));
          this.depth = 1;
          this.depthLine = this.line;
          this.depthColumn = col(i);
          this.startEntryIfNone();
          break;
        case RPAREN:
          if (this.depth === 0) throw this.error("unbalanced parenthesis: ) without (", this.line, col(i));
          this.depth = 0;
          break;
        default:
          this.startEntryIfNone();
          this.tokenLine = this.line;
          this.tokenColumn = col(i);
          this.quoted = c === QUOTE;
          this.escape = c === BACKSLASH;
          this.text = this.quoted ? "" : chunk[i];
      }
      i++;
    }
    this.column = col(n);
    return out;
  }

  /** Ends the input; returns the last entry if the text did not end with a newline. */
  end(): Entry[] {
    const out: Entry[] = [];
    if (this.text !== undefined && (this.quoted || this.innerQuote)) {
      throw this.error("unterminated quoted string", this.tokenLine, this.tokenColumn);
    }
    if (this.escape) throw this.error("file ends with a lone backslash", this.line, this.column);
    this.finishToken();
    if (this.depth > 0) throw this.error("unbalanced parenthesis: no closing )", this.depthLine, this.depthColumn);
    this.finishEntry(out);
    return out;
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
