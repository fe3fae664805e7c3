/**
 * @module Domain names: presentation format with escapes, wire form, case-insensitive comparison and the
 * canonical order of RFC 4034 §6.1.
 *
 * A `Name` keeps its labels' bytes exactly as received (case preserved, RFC 4343), and ignores ASCII
 * case whenever names are compared. Labels are raw octets: a label may hold a dot, a space or a zero byte,
 * which the presentation form writes as `\.`, `\032` and `\000`.
 */
import { writeKeyLabel } from "./sort-key.ts";

/** RFC 1035 §2.3.4: 63 octets a label, 255 octets a name in wire form (length octets and root included). */
export const MAX_LABEL_LENGTH = 63;
export const MAX_NAME_LENGTH = 255;

export type NameErrorCode = "empty-label" | "label-too-long" | "name-too-long" | "bad-escape" | "relative-without-origin";

/** A name that cannot exist; `column` is the 0-based offset in the text, when parsing text. */
export class NameError extends Error {
  override readonly name = "NameError";
  constructor(
    readonly code: NameErrorCode,
    message: string,
    readonly column?: number,
  ) {
    super(message);
  }
}

/** ASCII lowercase of one octet (RFC 4343 §3: only A–Z fold), for every case-insensitive name compare. */
export function asciiLower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

const DOT = 0x2e;
const BACKSLASH = 0x5c;

/**
 * Octets that the presentation form escapes with a backslash, as BIND and Knot print them:
 * the label separator, the escape itself, and the characters that mean something in a zone file.
 */
function needsBackslash(b: number): boolean {
  return b === DOT || b === BACKSLASH || b === 0x22 /* " */ || b === 0x28 /* ( */ || b === 0x29 /* ) */ ||
    b === 0x3b /* ; */ || b === 0x40 /* @ */ || b === 0x24 /* $ */;
}

const textEncoder = new TextEncoder();

/** `render`'s scratch: at most four characters an octet (`\DDD`), and a dot a label. */
const renderScratch = new Uint8Array(MAX_NAME_LENGTH * 5);
/**
 * `render`'s character codes, copied into a plain array of the string's exact length, one array per length,
 * made once and reused: `String.fromCharCode.apply` takes a plain array's elements about twice as fast as a
 * typed array's (~160 against ~330 ns for a 23-character name on Node 20; issue 27, session 10: the replica
 * renders every query name's key).
 */
const codesByLength: number[][] = [];

export class Name {
  /** The root name, `.`. */
  static readonly root = new Name([]);

  private cachedText: string | undefined;
  private cachedKey: string | undefined;

  private constructor(
    /** Labels from the leftmost (most specific) to the one just below the root. The root label is implied. */
    readonly labels: readonly Uint8Array[],
  ) {}

  /**
   * Builds a name from raw labels, checking RFC 1035's limits. The arrays are used as given (not copied).
   * @throws NameError for an empty label, a label over 63 octets or a name over 255.
   */
  static fromLabels(labels: readonly Uint8Array[]): Name {
    let length = 1;
    for (const label of labels) {
      if (label.length === 0) throw new NameError("empty-label", "empty label inside a name");
      if (label.length > MAX_LABEL_LENGTH) {
        throw new NameError("label-too-long", `label of ${label.length} octets exceeds ${MAX_LABEL_LENGTH}`);
      }
      length += label.length + 1;
    }
    if (length > MAX_NAME_LENGTH) {
      throw new NameError("name-too-long", `name of ${length} octets exceeds ${MAX_NAME_LENGTH}`);
    }
    return labels.length === 0 ? Name.root : new Name(labels);
  }

  /**
   * Parses presentation format (RFC 1035 §5.1): labels separated by dots, `\X` for a literal character X,
   * `\DDD` for the octet with decimal value DDD. A name without a trailing dot is relative and is appended to
   * `origin` (the root when no origin is given, so `example.com` means `example.com.`). `@` alone is the origin.
   * Characters outside ASCII are taken as their UTF-8 octets. This is the parser for presentation text that
   * has an origin (zone files, rdata); a name that stands alone goes through `parseAbsolute`.
   * @throws NameError naming the column of the fault.
   */
  static parse(text: string, origin: Name = Name.root): Name {
    if (text === "@") return origin;
    if (text === ".") return Name.root;
    if (text.length === 0) throw new NameError("empty-label", "empty name", 0);
    const bytes = textEncoder.encode(text);
    const labels: Uint8Array[] = [];
    let current: number[] = [];
    let absolute = false;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === BACKSLASH) {
        if (i + 1 >= bytes.length) throw new NameError("bad-escape", "name ends with a lone backslash", i);
        const next = bytes[i + 1]!;
        if (next >= 0x30 && next <= 0x39) {
          const d1 = bytes[i + 1]!, d2 = bytes[i + 2], d3 = bytes[i + 3];
          if (d2 === undefined || d3 === undefined || d2 < 0x30 || d2 > 0x39 || d3 < 0x30 || d3 > 0x39) {
            throw new NameError("bad-escape", "\\DDD escape needs three digits", i);
          }
          const value = (d1 - 0x30) * 100 + (d2 - 0x30) * 10 + (d3 - 0x30);
          if (value > 255) throw new NameError("bad-escape", `\\${value} is not an octet`, i);
          current.push(value);
          i += 3;
        } else {
          current.push(next);
          i += 1;
        }
        if (current.length > MAX_LABEL_LENGTH) {
          throw new NameError("label-too-long", `label exceeds ${MAX_LABEL_LENGTH} octets`, i);
        }
      } else if (b === DOT) {
        if (current.length === 0) throw new NameError("empty-label", "empty label (two dots, or a leading dot)", i);
        labels.push(Uint8Array.from(current));
        current = [];
        if (i === bytes.length - 1) absolute = true;
      } else {
        current.push(b);
        if (current.length > MAX_LABEL_LENGTH) {
          throw new NameError("label-too-long", `label exceeds ${MAX_LABEL_LENGTH} octets`, i);
        }
      }
    }
    if (current.length > 0) labels.push(Uint8Array.from(current));
    if (!absolute) labels.push(...origin.labels);
    try {
      return Name.fromLabels(labels);
    } catch (err) {
      if (err instanceof NameError) throw new NameError(err.code, err.message, 0);
      throw err;
    }
  }

  /**
   * Parses a name that stands alone, with no origin to complete it: a zone, key or query name from the
   * configuration, the store (which keeps zone names without the dot), an API or a URL. The trailing dot
   * is optional and the name is absolute either way: `example.com` and `example.com.` are the same name,
   * `.` is the root. `@` is refused, since there is no origin for it to stand for; so is the empty string.
   * Escapes are read as `parse` reads them.
   * @throws NameError: "relative-without-origin" for `@`, otherwise as `parse` (empty name, empty or
   * overlong label, overlong name, bad escape), naming the column of the fault.
   */
  static parseAbsolute(text: string): Name {
    if (text === "@") throw new NameError("relative-without-origin", `"@" stands for an origin, and a name standing alone has none`, 0);
    return Name.parse(text, Name.root);
  }

  /** Number of labels, the root not counted (`www.example.com.` has 3). */
  get labelCount(): number {
    return this.labels.length;
  }

  /** Length of the uncompressed wire form, root octet included. */
  get wireLength(): number {
    let n = 1;
    for (const label of this.labels) n += label.length + 1;
    return n;
  }

  isRoot(): boolean {
    return this.labels.length === 0;
  }

  /** True for a name whose leftmost label is `*` (RFC 4592 §2.1.1). */
  isWildcard(): boolean {
    const first = this.labels[0];
    return first !== undefined && first.length === 1 && first[0] === 0x2a;
  }

  /** Absolute presentation form with trailing dot and BIND-style escapes; case preserved. */
  toString(): string {
    if (this.cachedText === undefined) this.cachedText = this.render(false);
    return this.cachedText;
  }

  /**
   * Lowercase presentation form: a string that is equal for two names exactly when `equals` is true,
   * for use as a Map key.
   */
  get key(): string {
    if (this.cachedKey === undefined) this.cachedKey = this.render(true);
    return this.cachedKey;
  }

  /**
   * The presentation form's character codes written into a shared scratch, then one string made of them: every
   * query name's key is rendered on the port-53 front's hot path (the replica's zone lookup), and a string
   * grown a character at a time made ~40 short-lived strings a name (issue 27, session 9: ~0.8 KB a query).
   */
  private render(lower: boolean): string {
    if (this.labels.length === 0) return ".";
    const out = renderScratch;
    let n = 0;
    for (const label of this.labels) {
      for (let i = 0; i < label.length; i++) {
        const b = lower ? asciiLower(label[i]!) : label[i]!;
        if (needsBackslash(b)) {
          out[n++] = BACKSLASH;
          out[n++] = b;
        } else if (b > 0x20 && b < 0x7f) {
          out[n++] = b;
        } else {
          // \DDD, three decimal digits (RFC 1035 §5.1).
          out[n++] = BACKSLASH;
          out[n++] = 0x30 + Math.floor(b / 100);
          out[n++] = 0x30 + (Math.floor(b / 10) % 10);
          out[n++] = 0x30 + (b % 10);
        }
      }
      out[n++] = DOT;
    }
    let codes = codesByLength[n];
    if (codes === undefined) {
      codes = new Array<number>(n).fill(0);
      codesByLength[n] = codes;
    }
    for (let i = 0; i < n; i++) codes[i] = out[i]!;
    return String.fromCharCode.apply(null, codes);
  }

  /** Uncompressed wire form, case preserved. */
  toWire(): Uint8Array {
    return this.writeWire(false);
  }

  /** Canonical wire form (RFC 4034 §6.2): uncompressed, ASCII letters lowercased. */
  toCanonicalWire(): Uint8Array {
    return this.writeWire(true);
  }

  private writeWire(lower: boolean): Uint8Array {
    const out = new Uint8Array(this.wireLength);
    let pos = 0;
    for (const label of this.labels) {
      out[pos++] = label.length;
      if (lower) for (let i = 0; i < label.length; i++) out[pos++] = asciiLower(label[i]!);
      else {
        out.set(label, pos);
        pos += label.length;
      }
    }
    out[pos] = 0;
    return out;
  }

  /** The same name with ASCII letters lowercased. */
  lower(): Name {
    return new Name(this.labels.map((label) => label.map(asciiLower)));
  }

  /** Case-insensitive equality (RFC 4343). */
  equals(other: Name): boolean {
    if (this === other) return true;
    if (this.labels.length !== other.labels.length) return false;
    for (let i = 0; i < this.labels.length; i++) {
      if (compareLabels(this.labels[i]!, other.labels[i]!) !== 0) return false;
    }
    return true;
  }

  /**
   * Canonical order (RFC 4034 §6.1): compare labels from the rightmost, each as a lowercased octet string
   * where a shorter string that is a prefix of a longer one sorts first; a name sorts before its descendants.
   * Returns a negative number, 0 or a positive number.
   */
  compare(other: Name): number {
    const a = this.labels, b = other.labels;
    let i = a.length - 1, j = b.length - 1;
    for (; i >= 0 && j >= 0; i--, j--) {
      const c = compareLabels(a[i]!, b[j]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }

  /** True when this name is `ancestor` or below it. */
  isSubdomainOf(ancestor: Name): boolean {
    const offset = this.labels.length - ancestor.labels.length;
    if (offset < 0) return false;
    for (let i = 0; i < ancestor.labels.length; i++) {
      if (compareLabels(this.labels[offset + i]!, ancestor.labels[i]!) !== 0) return false;
    }
    return true;
  }

  /** The name with its leftmost `n` labels removed (`parent()` is `stripLeft(1)`). */
  stripLeft(n: number): Name {
    if (n <= 0) return this;
    if (n >= this.labels.length) return Name.root;
    return new Name(this.labels.slice(n));
  }

  /** The immediate parent; the root's parent is the root. */
  parent(): Name {
    return this.stripLeft(1);
  }

  /** The name formed by this name's labels followed by `suffix`'s (`www` + `example.com.`). */
  concat(suffix: Name): Name {
    return Name.fromLabels([...this.labels, ...suffix.labels]);
  }

  /** A child of this name: `label` prepended (a string is taken as one literal label, no escapes). */
  child(label: Uint8Array | string): Name {
    const bytes = typeof label === "string" ? textEncoder.encode(label) : label;
    return Name.fromLabels([bytes, ...this.labels]);
  }

  /** The leftmost labels of this name below `origin`, or undefined when it is not under `origin`. */
  relativeTo(origin: Name): Uint8Array[] | undefined {
    if (!this.isSubdomainOf(origin)) return undefined;
    return this.labels.slice(0, this.labels.length - origin.labels.length);
  }

  /**
   * Bytes whose plain byte order (memcmp, and so SQLite's BLOB order) is the canonical order, for
   * indexes (see sort-key.ts). An ancestor's key is a prefix of its descendants' keys.
   */
  sortKey(): Uint8Array {
    // Built from the labels straight into the key (sort-key.ts's format: labels root-first, lowercased, each
    // followed by 0x00, octets 0x00 and 0x01 escaped as 0x01 0x01 and 0x01 0x02), with no wire form written
    // first and no result object: the answer engine makes two or three keys a query (issue 27, session 10).
    // `dns/name.test.ts` holds it to `wireSortKey` of the name's wire form for random labels of every octet.
    const labels = this.labels;
    let size = 0;
    for (let l = 0; l < labels.length; l++) {
      const label = labels[l]!;
      size += label.length + 1;
      for (let i = 0; i < label.length; i++) if (label[i]! <= 1) size++;
    }
    const key = new Uint8Array(size);
    let k = 0;
    for (let l = labels.length - 1; l >= 0; l--) {
      const label = labels[l]!;
      k = writeKeyLabel(label, 0, label.length, key, k);
    }
    return key;
  }
}

/** Compares two labels as lowercased octet strings, shorter-prefix first. */
export function compareLabels(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = asciiLower(a[i]!), y = asciiLower(b[i]!);
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/** Canonical-order comparator for `Array.prototype.sort`. */
export function compareNames(a: Name, b: Name): number {
  return a.compare(b);
}
