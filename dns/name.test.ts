import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Name, NameError, compareNames } from "./name.ts";
import { wireSortKey } from "./sort-key.ts";

const origin = Name.parse("example.com.");

describe("Name.parse / toString", () => {
  const cases: Array<[input: string, printed: string, labels: number]> = [
    [".", ".", 0],
    ["com", "com.", 1],
    ["www.Example.COM.", "www.Example.COM.", 3],
    ["a\\.b.example.", "a\\.b.example.", 2],
    ["a\\046b.example.", "a\\.b.example.", 2],
    ["sp\\032ace.", "sp\\032ace.", 1],
    ["nul\\000.", "nul\\000.", 1],
    ["back\\\\slash.", "back\\\\slash.", 1],
    ['q\\".', 'q\\".', 1],
    ["\\(paren\\).", "\\(paren\\).", 1],
    ["at\\@.dollar\\$.", "at\\@.dollar\\$.", 2],
    ["semi\\;.", "semi\\;.", 1],
    ["hi\\255.", "hi\\255.", 1],
    ["*.example.", "*.example.", 2],
    ["_sip._tcp.example.", "_sip._tcp.example.", 3],
  ];
  it.each(cases)("%s prints as %s", (input, printed, labels) => {
    const name = Name.parse(input);
    expect(name.toString()).toBe(printed);
    expect(name.labelCount).toBe(labels);
    expect(Name.parse(name.toString()).equals(name)).toBe(true);
  });

  it("appends the origin to relative names and takes @ as the origin", () => {
    expect(Name.parse("www", origin).toString()).toBe("www.example.com.");
    expect(Name.parse("@", origin)).toBe(origin);
    expect(Name.parse("www.other.", origin).toString()).toBe("www.other.");
  });

  const bad: Array<[input: string, code: NameError["code"]]> = [
    ["", "empty-label"],
    ["a..b", "empty-label"],
    [".a", "empty-label"],
    ["a".repeat(64), "label-too-long"],
    [Array.from({ length: 128 }, () => "a").join("."), "name-too-long"],
    ["trailing\\", "bad-escape"],
    ["x\\25", "bad-escape"],
    ["x\\256", "bad-escape"],
    ["x\\2a5", "bad-escape"],
  ];
  it.each(bad)("rejects %j with %s", (input, code) => {
    expect(() => Name.parse(input)).toThrowError(NameError);
    try {
      Name.parse(input);
    } catch (err) {
      expect((err as NameError).code).toBe(code);
    }
  });

  it("accepts exactly 63-octet labels and 255-octet names", () => {
    expect(Name.parse("a".repeat(63)).labels[0]!.length).toBe(63);
    // 3 labels of 63 + one of 61: 4*64 - 2 + 1 = 255 octets.
    const max = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
    expect(Name.parse(max).wireLength).toBe(255);
    expect(() => Name.parse(max + "d")).toThrowError(/exceeds 255/);
  });
});

describe("Name.parseAbsolute", () => {
  it.each([
    ["example.com", "example.com."],
    ["example.com.", "example.com."],
    ["WWW.Example.COM", "WWW.Example.COM."],
    [".", "."],
    ["a\\.b.example", "a\\.b.example."],
    ["a\\..", "a\\.."],
  ])("%j is the absolute name %s", (input, printed) => {
    expect(Name.parseAbsolute(input).toString()).toBe(printed);
  });

  it("gives what the callers' old spellings gave, for names with and without the dot", () => {
    for (const text of ["example.com", "x.example.com", "xn--bcher-kva.example", "_dmarc.example.org"]) {
      const name = Name.parseAbsolute(text);
      expect(name.equals(Name.parse(text + "."))).toBe(true);
      expect(name.equals(Name.parse(text))).toBe(true);
      expect(Name.parseAbsolute(text + ".").equals(name)).toBe(true);
    }
  });

  it.each<[string, NameError["code"]]>([
    ["@", "relative-without-origin"],
    ["", "empty-label"],
    ["a..b", "empty-label"],
    ["example.com..", "empty-label"],
    ["a".repeat(64) + ".example", "label-too-long"],
    ["trailing\\", "bad-escape"],
  ])("rejects %j with %s", (input, code) => {
    expect(() => Name.parseAbsolute(input)).toThrowError(NameError);
    try {
      Name.parseAbsolute(input);
    } catch (err) {
      expect((err as NameError).code).toBe(code);
    }
  });

  it("says why @ is refused", () => {
    expect(() => Name.parseAbsolute("@")).toThrowError(/origin/);
  });
});

describe("case", () => {
  it("keeps case in storage and ignores it in comparison", () => {
    const a = Name.parse("WWW.Example.com");
    const b = Name.parse("www.example.COM");
    expect(a.toString()).toBe("WWW.Example.com.");
    expect(a.equals(b)).toBe(true);
    expect(a.key).toBe(b.key);
    expect(a.compare(b)).toBe(0);
    expect(a.lower().toString()).toBe("www.example.com.");
    expect([...a.toCanonicalWire()]).toEqual([...b.lower().toWire()]);
  });
});

describe("canonical order (RFC 4034 §6.1)", () => {
  // The example list from RFC 4034 §6.1, in order.
  const ordered = [
    "example.",
    "a.example.",
    "yljkjljk.a.example.",
    "Z.a.example.",
    "zABC.a.EXAMPLE.",
    "z.example.",
    "\\001.z.example.",
    "*.z.example.",
    "\\200.z.example.",
  ].map((t) => Name.parse(t));

  it("sorts the RFC's example list", () => {
    const shuffled = [...ordered].reverse();
    shuffled.sort(compareNames);
    expect(shuffled.map(String)).toEqual(ordered.map(String));
  });

  it("sortKey's byte order equals canonical order", () => {
    const extra = ["\\000.z.example.", "\\000\\000.z.example.", "\\001\\000.z.example.", "a\\000.example.", "a.", "."];
    const names = [...ordered, ...extra.map((t) => Name.parse(t))];
    for (const a of names) {
      for (const b of names) {
        const byCanonical = Math.sign(a.compare(b));
        const byKey = Math.sign(compareBytes(a.sortKey(), b.sortKey()));
        expect(byKey, `${a} vs ${b}`).toBe(byCanonical);
      }
    }
  });

  it("sortKey, built from the labels, is wireSortKey of the name's wire form (random labels of every octet)", () => {
    const label = fc.uint8Array({ minLength: 1, maxLength: 63 });
    fc.assert(
      fc.property(fc.array(label, { maxLength: 8 }), (labels) => {
        let wire = 1;
        const name = Name.fromLabels(labels.filter((l) => (wire += l.length + 1) <= 255));
        expect([...name.sortKey()]).toEqual([...wireSortKey(name.toWire(), 0).key]);
      }),
      { numRuns: 2000 },
    );
    expect([...Name.root.sortKey()]).toEqual([...wireSortKey(new Uint8Array([0]), 0).key]);
    // Each call its own array: a caller may keep or change it.
    const n = Name.parse("a.example.");
    expect(n.sortKey()).not.toBe(n.sortKey());
  });
});

describe("label operations", () => {
  const www = Name.parse("www.example.com.");
  it.each([
    ["isSubdomainOf parent", www.isSubdomainOf(origin), true],
    ["isSubdomainOf self", origin.isSubdomainOf(origin), true],
    ["isSubdomainOf child", origin.isSubdomainOf(www), false],
    ["isSubdomainOf root", www.isSubdomainOf(Name.root), true],
    ["isSubdomainOf sibling-suffix", Name.parse("wwwexample.com.").isSubdomainOf(origin), false],
    ["wildcard", Name.parse("*.example.com.").isWildcard(), true],
    ["not wildcard", Name.parse("a*.example.com.").isWildcard(), false],
  ])("%s", (_label, actual, expected) => expect(actual).toBe(expected));

  it("parent, stripLeft, concat, child, relativeTo", () => {
    expect(www.parent().toString()).toBe("example.com.");
    expect(www.stripLeft(3).isRoot()).toBe(true);
    expect(Name.root.parent().isRoot()).toBe(true);
    expect(Name.parse("a.b", Name.root).concat(origin).toString()).toBe("a.b.example.com.");
    expect(origin.child("x.y").toString()).toBe("x\\.y.example.com.");
    expect(www.relativeTo(origin)?.length).toBe(1);
    expect(Name.parse("other.").relativeTo(origin)).toBeUndefined();
  });

  it("wire form keeps case and lengths", () => {
    expect([...Name.parse("Ab.c.").toWire()]).toEqual([2, 0x41, 0x62, 1, 0x63, 0]);
    expect([...Name.root.toWire()]).toEqual([0]);
  });
});

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

describe("presentation form and key of any octets (render into a scratch, issue 27 session 9; a reused array per length, session 10)", () => {
  /** The rendering before session 9 (a string grown a character at a time), kept as the reference. */
  function reference(name: Name, lower: boolean): string {
    if (name.labels.length === 0) return ".";
    let out = "";
    for (const label of name.labels) {
      for (const octet of label) {
        const b = lower && octet >= 0x41 && octet <= 0x5a ? octet + 0x20 : octet;
        if ([0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24].includes(b)) out += "\\" + String.fromCharCode(b);
        else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
        else out += "\\" + b.toString().padStart(3, "0");
      }
      out += ".";
    }
    return out;
  }

  it("equals the reference for random labels of every octet, the longest names included", () => {
    const label = fc.uint8Array({ minLength: 1, maxLength: 63 });
    fc.assert(
      fc.property(fc.array(label, { maxLength: 8 }), (labels) => {
        let wire = 1;
        const kept = labels.filter((l) => (wire += l.length + 1) <= 255);
        const name = Name.fromLabels(kept);
        expect(name.toString()).toBe(reference(name, false));
        expect(name.key).toBe(reference(name, true));
        expect(Name.parse(name.toString()).equals(name)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // 255 octets of wire form, every one of them escaped as \DDD.
    const longest = Name.fromLabels([0, 1, 2].map(() => new Uint8Array(63).fill(0xff)).concat([new Uint8Array(61).fill(0x00)]));
    expect(longest.toString()).toBe(reference(longest, false));
    expect(longest.key.length).toBe(250 * 4 + 4);
  });

  it("gives names of the same length their own text, one after the other (the per-length array is rewritten whole)", () => {
    const names = ["a.b.", "C.d.", "e.F.", "ab.", "a.b."].map((t) => Name.parse(t));
    expect(names.map((n) => n.toString())).toEqual(["a.b.", "C.d.", "e.F.", "ab.", "a.b."]);
    expect(names.map((n) => Name.fromLabels(n.labels).key)).toEqual(["a.b.", "c.d.", "e.f.", "ab.", "a.b."]);
  });
});
