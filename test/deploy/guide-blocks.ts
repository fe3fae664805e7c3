/**
 * @module Running a guide's configuration snippets (#26 item 3's harness, ready for docs/guides/*.md): a
 * snippet that has never been run is wrong more often than not, so the guides' configuration blocks are
 * fenced with the file they belong in, and a test starts the primary from exactly that text.
 *
 * A block is a fenced code block whose info string names a file:
 *
 *     ```conf file=named.conf
 *     key "backstop." { algorithm hmac-sha256; secret "<TSIG_SECRET>"; };
 *     ```
 *
 * - `extractBlocks(markdown)` returns them in order, with the line each starts on.
 * - `fillBlock(block, values, { replace })` fills the guide's placeholders, written `<UPPER_SNAKE>` (what a
 *   reader replaces), from `values`; a placeholder without a value is an error naming it and its line. The
 *   test may also swap literal text the guide shows as it would be in production (port 53, /etc paths) for
 *   what works in a test dir; each swap must match, so a guide that changes cannot silently skip it.
 * - `extractSteps(markdown)` returns the shell blocks marked `step=N` (```sh step=5): the commands the guide
 *   tells the reader to run, which the guide tests run too (test/guides/guides.test.ts).
 * - `startGuidePrimary(kind, files, opts)` writes the filled files (and zone files) into a fresh peer dir,
 *   runs its setup commands if any (PowerDNS fills its database with `pdnsutil`), starts named, knotd, nsd
 *   or pdns_server in the foreground from the guide's main file, and waits until it answers an
 *   authoritative SOA over UDP and TCP for every zone, as `test/peers/` starts its own configurations.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { lastLines, makePeerDir, startDaemon, type Daemon } from "../peers/daemon.ts";
import { runToolOk } from "../peers/run-tool.ts";
import { waitForSoa } from "../peers/soa-probe.ts";

export interface ConfigBlock {
  /** The fence's language ("conf", "yaml", …). */
  lang: string;
  /** The `file=` attribute: where the block goes, relative to the primary's dir. */
  file: string;
  /** Other `key=value` attributes of the info string. */
  attrs: Record<string, string>;
  /** The block's text, ending with a newline. */
  text: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

/** A fenced block of any kind, with its info string's `key=value` attributes. */
interface Fence {
  lang: string;
  attrs: Record<string, string>;
  text: string;
  line: number;
}

function fences(markdown: string): Fence[] {
  const lines = markdown.split("\n");
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const start = i;
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(lines[i]!);
      if (close && close[2]![0] === fence[0] && close[2]!.length >= fence.length) {
        closed = true;
        break;
      }
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    }
    if (!closed) throw new Error(`line ${start + 1}: the code block opened here is never closed`);
    const words = info.trim().split(/\s+/).filter((w) => w !== "");
    const lang = words[0] && !words[0].includes("=") ? words.shift()! : "";
    const attrs: Record<string, string> = {};
    for (const w of words) {
      const m = /^([a-z][a-z0-9-]*)=(.+)$/.exec(w);
      if (m) attrs[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
    }
    out.push({ lang, attrs, text: `${body.join("\n")}\n`, line: start + 1 });
  }
  return out;
}

/** Every fenced block with a `file=` attribute, in order. Blocks without one (shell lines, output) are left out. */
export function extractBlocks(markdown: string): ConfigBlock[] {
  const blocks: ConfigBlock[] = [];
  for (const { lang, attrs, text, line } of fences(markdown)) {
    if (attrs.file === undefined) continue;
    const { file, ...rest } = attrs;
    if (path.isAbsolute(file) || file.split(/[\\/]/).includes("..")) {
      throw new Error(`line ${line}: file=${file} must be a relative path inside the primary's dir`);
    }
    blocks.push({ lang, file, attrs: rest, text, line });
  }
  return blocks;
}

/** A guide's shell lines for one of its steps: a fenced block marked `step=N` (```sh step=5). */
export interface StepBlock extends ConfigBlock {
  step: number;
}

/**
 * The blocks marked `step=N`, in order: the commands a guide tells the reader to run, which a test runs
 * too. `file` is `step-N` (for messages and `fillBlock`'s errors).
 */
export function extractSteps(markdown: string): StepBlock[] {
  return fences(markdown)
    .filter((f) => f.attrs.step !== undefined)
    .map(({ lang, attrs, text, line }) => {
      const step = Number(attrs.step);
      if (!Number.isInteger(step) || step < 1) throw new Error(`line ${line}: step=${attrs.step} is not a step number`);
      return { lang, file: `step-${step}`, attrs, text, line, step };
    });
}

/** Placeholders as a guide writes them: `<PRIMARY_PORT>`, `<TSIG_SECRET>`. */
const PLACEHOLDER = /<([A-Z][A-Z0-9_]*)>/g;

/** The placeholders a block uses, each once, in order. */
export function placeholdersOf(block: ConfigBlock): string[] {
  return [...new Set([...block.text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

export interface FillOptions {
  /** Literal swaps, applied before the placeholders; each `from` must occur in the block. */
  replace?: ReadonlyArray<readonly [from: string | RegExp, to: string]>;
}

/** The block's text with its placeholders filled and its swaps made. */
export function fillBlock(block: ConfigBlock, values: Readonly<Record<string, string>>, opts: FillOptions = {}): string {
  let text = block.text;
  for (const [from, to] of opts.replace ?? []) {
    const found = typeof from === "string" ? text.includes(from) : new RegExp(from.source, from.flags.replace("g", "")).test(text);
    if (!found) throw new Error(`${block.file} (line ${block.line}): the guide no longer contains ${String(from)}; update the test`);
    text = typeof from === "string" ? text.split(from).join(to) : text.replace(from.global ? from : new RegExp(from.source, `${from.flags}g`), to);
  }
  const missing = placeholdersOf({ ...block, text }).filter((p) => values[p] === undefined);
  if (missing.length) {
    throw new Error(`${block.file} (line ${block.line}): no value for ${missing.map((p) => `<${p}>`).join(", ")}`);
  }
  return text.replace(PLACEHOLDER, (_, name: string) => values[name]!);
}

export type GuidePrimaryKind = "named" | "knotd" | "nsd" | "pdns";

/** How each primary is started in the foreground from its main configuration file. */
const COMMANDS: Record<GuidePrimaryKind, { main: string; args: (conf: string) => string[]; command: string }> = {
  named: { main: "named.conf", command: "named", args: (conf) => ["-g", "-c", conf] },
  knotd: { main: "knot.conf", command: "knotd", args: (conf) => ["-c", conf] },
  nsd: { main: "nsd.conf", command: "nsd", args: (conf) => ["-d", "-c", conf] },
  // pdns reads pdns.conf from its config dir; its zones are in a database the guide's setup commands fill.
  pdns: { main: "pdns.conf", command: "pdns_server", args: (conf) => [`--config-dir=${path.dirname(conf)}`] },
};

export interface GuidePrimary {
  kind: GuidePrimaryKind;
  dir: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `kind` from `files` (name → text, the filled blocks and any zone files) in a fresh peer dir
 * (`dir` is handed to `files` first, since configurations name it). The main file is the primary's
 * usual one (named.conf, knot.conf, nsd.conf, pdns.conf). Resolves once every zone in `zones` is served
 * authoritatively on `port` over UDP and TCP; otherwise stops the daemon and throws with its output.
 */
export async function startGuidePrimary(
  kind: GuidePrimaryKind,
  files: (dir: string) => Record<string, string> | Promise<Record<string, string>>,
  opts: {
    port: number;
    zones: string[];
    timeoutMs?: number;
    /**
     * Written files to run with `sh -e` in the dir before the daemon starts, in order: a guide's setup
     * commands (PowerDNS: the database, `pdnsutil` for the key, zone and metadata). A failing command
     * fails the start with its output.
     */
    setup?: string[];
  },
): Promise<GuidePrimary> {
  const { main, command, args } = COMMANDS[kind];
  const dir = await makePeerDir(`guide-${kind}`);
  let daemon: Daemon | undefined;
  try {
    const written = await files(dir);
    if (written[main] === undefined) throw new Error(`${kind} needs ${main}; the blocks given were ${Object.keys(written).join(", ") || "none"}`);
    for (const [name, text] of Object.entries(written)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), text);
    }
    for (const script of opts.setup ?? []) {
      if (written[script] === undefined) throw new Error(`setup script ${script} is not among the files given`);
      await runToolOk("sh", ["-e", path.join(dir, script)], { cwd: dir, timeoutMs: 60_000 });
    }
    const d = startDaemon({ name: kind, command, args: args(path.join(dir, main)), cwd: dir });
    daemon = d;
    const check = () => {
      if (!d.running) throw new Error(`${kind} exited; output:\n${lastLines(d.output())}`);
    };
    for (const zone of opts.zones) {
      const absolute = zone.endsWith(".") ? zone : `${zone}.`;
      for (const transport of ["udp", "tcp"] as const) {
        await waitForSoa({ address: "127.0.0.1", port: opts.port, zone: absolute, transport, timeoutMs: opts.timeoutMs ?? 20_000, check });
      }
    }
  } catch (err) {
    const out = daemon?.output() ?? "";
    await daemon?.stop(1000);
    await rm(dir, { recursive: true, force: true });
    const message = (err as Error).message;
    throw new Error(message.includes("output:") ? message : `${kind} from the guide's blocks did not start: ${message}; output:\n${lastLines(out)}`, { cause: err });
  }
  const d = daemon!;
  return {
    kind,
    dir,
    port: opts.port,
    output: () => d.output(),
    async stop() {
      await d.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
