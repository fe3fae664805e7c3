/**
 * @module A strict reading of one JSON text that also rejects an object carrying a key twice. `JSON.parse`
 * keeps the last of two equal keys without a word (RFC 8259 §4 only says names "SHOULD be unique"), and log
 * pipelines differ: some reject such a line, some silently keep one value. The log tests read every line the
 * service wrote through this, so a key bound by a child logger and passed again in a call shows up.
 */

/** The first key found twice in one object, as `path.key`, or undefined when there is none. */
export function duplicateKey(text: string): string | undefined {
  // JSON.parse first: what it rejects is not JSON at all, and what it accepts is well-formed, so the scan
  // below only has to tell strings, objects and arrays apart.
  JSON.parse(text);
  const stack: Array<{ keys: Set<string> | undefined; path: string; expectKey: boolean; lastKey: string }> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return `${top.path}${key}`;
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    const top = stack[stack.length - 1];
    const path = top ? `${top.path}${top.keys ? top.lastKey : "[]"}.` : "";
    if (c === "{") stack.push({ keys: new Set(), path, expectKey: true, lastKey: "" });
    else if (c === "[") stack.push({ keys: undefined, path, expectKey: false, lastKey: "" });
    else if (c === "}" || c === "]") stack.pop();
    else if (c === "," && top?.keys) top.expectKey = true;
    i++;
  }
  return undefined;
}
