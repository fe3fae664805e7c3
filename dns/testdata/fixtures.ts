/**
 * @module Loads the captured wire fixtures listed in `index.json` (made by `capture.ts`), for tests.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { rdataNameLayout } from "../wire/rdata-names.ts";

const HERE = path.dirname(new URL(import.meta.url).pathname);

export interface Fixture {
  file: string;
  role: "query" | "answer";
  case: string;
  source: string;
  transport: "udp" | "tcp";
  command: string;
  note: string;
  wire: Uint8Array;
}

export function loadFixtures(): Fixture[] {
  const index = JSON.parse(readFileSync(path.join(HERE, "index.json"), "utf8")) as Array<Omit<Fixture, "wire">>;
  return index.map((entry) => ({ ...entry, wire: new Uint8Array(readFileSync(path.join(HERE, entry.file))) }));
}

/**
 * How many compression pointers a well-formed message holds, found by walking it independently of
 * message.ts: question names, owner names, and names inside RDATA at the places rdata-names.ts lists.
 */
export function countCompressionPointers(wire: Uint8Array): number {
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
  let pos = 12;
  let pointers = 0;
  const skipName = () => {
    for (;;) {
      const len = wire[pos]!;
      if (len === 0) {
        pos += 1;
        return;
      }
      if ((len & 0xc0) === 0xc0) {
        pointers++;
        pos += 2;
        return;
      }
      pos += 1 + len;
    }
  };
  const qd = view.getUint16(4);
  const rr = view.getUint16(6) + view.getUint16(8) + view.getUint16(10);
  for (let i = 0; i < qd; i++) {
    skipName();
    pos += 4;
  }
  for (let i = 0; i < rr; i++) {
    skipName();
    const type = view.getUint16(pos);
    const rdlength = view.getUint16(pos + 8);
    pos += 10;
    const end = pos + rdlength;
    const layout = rdataNameLayout(type);
    if (layout !== undefined) {
      for (const field of layout.fields) {
        if (field.kind === "name") skipName();
        else if (field.kind === "fixed") pos += field.length;
        else if (field.kind === "character-string") pos += 1 + wire[pos]!;
        else pos = end;
      }
    }
    pos = end;
  }
  return pointers;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
