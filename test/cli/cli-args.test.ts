/**
 * @module The `backstop` CLI without a Backstop (issue 24, item 1): argument parsing and exit codes in-process
 * through `main()`, the target's precedence (flags, environment, `.dev.vars`), `key generate`'s three syntaxes
 * read by the real `named-checkconf`, `knotc conf-check` and `nsd-checkconf`, the bash completion run by a
 * real bash, and what `token` and `zone import` send (their APIs arrive with items 3-5 and issue 22), caught by
 * a loopback HTTP server that records the requests and answers as the issue specifies.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bashCompletion, zshCompletion } from "../../cli/commands/completion.ts";
import { keyConfigs } from "../../cli/commands/key.ts";
import { mapBounded } from "../../cli/commands/verify.ts";
import { parseHostPort, zoneBody } from "../../cli/commands/zone.ts";
import { tokenBody } from "../../cli/commands/token.ts";
import { defaultContext, type ContextFactory } from "../../cli/context.ts";
import { EXIT } from "../../cli/errors.ts";
import { buildProgram, main } from "../../cli/main.ts";
import { DEFAULT_URL, parseDevVars, resolveTarget } from "../../cli/target.ts";
import { freePorts } from "../peers/index.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "backstop-cli-args-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** main() in-process, with stdout and stderr captured. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const context: ContextFactory = (cmd) => {
    const ctx = defaultContext(cmd);
    return { ...ctx, progress: false, out: { json: ctx.out.json, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) } };
  };
  // commander writes its own usage errors and help to the process streams; they are not asserted on here.
  const code = await main(args, context, (t) => (stderr += t));
  return { code, stdout, stderr };
}

describe("exit codes without a server", () => {
  it.each([
    [["zone", "bogus"], "an unknown command"],
    [["zone", "add"], "a missing argument"],
    [["zone", "list", "--frobnicate"], "an unknown option"],
    [["verify"], "verify with neither zones nor --all"],
    [["verify", "a.test", "--all"], "verify with both"],
    [["verify", "--all", "--concurrency", "0"], "a concurrency of 0"],
    [["zone", "edit", "a.test"], "an edit that changes nothing"],
    [["zone", "refresh", "a.test", "--accept-lower-serial"], "--accept-lower-serial without --axfr"],
    [["zone", "add", "a.test", "--primary", "192.0.2.1:0"], "port 0"],
    [["token", "add", "t", "--scope", "admin"], "an unknown scope"],
    [["token", "add", "t", "--expires", "someday"], "an unreadable date"],
    [["key", "generate", "k", "--algorithm", "hmac-sha3"], "an unknown algorithm"],
    [["completion", "fish"], "an unknown shell"],
    [["--url", "ftp://192.0.2.1", "zone", "list"], "a URL that is not http"],
    [["zone", "import", "a.test", "/nonexistent/file.zone"], "a file that cannot be read"],
  ])("%j is a usage error (2): %s", async (args) => {
    expect((await run(args)).code).toBe(EXIT.usage);
  });

  it("no arguments prints the help and exits 2; --help exits 0", async () => {
    expect((await run([])).code).toBe(EXIT.usage);
    expect((await run(["--help"])).code).toBe(EXIT.ok);
    expect((await run(["zone", "add", "--help"])).code).toBe(EXIT.ok);
  });

  it("a server that does not listen is exit 3, in one line without a stack trace", async () => {
    const [port] = await freePorts(1);
    const r = await run(["--url", `http://127.0.0.1:${port}`, "--token", "t", "zone", "list"]);
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stderr).toBe(`backstop: cannot reach Backstop at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });
});

describe("arguments", () => {
  it("reads primaries as address[:port][@key], IPv6 in brackets", () => {
    expect(parseHostPort("192.0.2.1", "--primary")).toEqual({ address: "192.0.2.1" });
    expect(parseHostPort("192.0.2.1:5300@xfr.key", "--primary")).toEqual({ address: "192.0.2.1", port: 5300, tsigKey: "xfr.key" });
    expect(parseHostPort("2001:db8::1", "--primary")).toEqual({ address: "2001:db8::1" });
    expect(parseHostPort("[2001:db8::1]:53", "--primary")).toEqual({ address: "2001:db8::1", port: 53 });
    expect(() => parseHostPort("192.0.2.1:70000", "--primary")).toThrow(/port must be 1 to 65535/);
    expect(() => parseHostPort("192.0.2.1@", "--primary")).toThrow(/a key name must follow @/);
  });

  it("sends only the zone fields given, and --no-key as null", () => {
    expect(zoneBody({})).toEqual({});
    expect(zoneBody({ key: false, primary: ["192.0.2.1:53"], transferAllow: ["198.51.100.0/24@k"] })).toEqual({
      tsigKey: null,
      primaries: [{ address: "192.0.2.1", port: 53 }],
      transferAllow: [{ address: "198.51.100.0/24", tsigKey: "k" }],
    });
  });

  it("maps token scopes as the tokens API takes them", () => {
    expect(tokenBody("ci", { scope: "read" })).toEqual({ name: "ci", scopes: ["read"] });
    expect(tokenBody("ops", { scope: "write", zone: ["a.test", "b.test"], expires: "2027-01-31" })).toEqual({
      name: "ops",
      scopes: ["read", "write"],
      zones: ["a.test", "b.test"],
      expiresAt: "2027-01-31T00:00:00.000Z",
    });
  });

  it("takes the target from flags, then the environment, then the nearest .dev.vars, then the local default", async () => {
    const nested = path.join(dir, "a", "b");
    await writeFile(path.join(dir, ".dev.vars"), `# npm start\nINTERNAL_TOKEN=internal\nADMIN_TOKEN="from-file"\n`);
    await import("node:fs/promises").then((fs) => fs.mkdir(nested, { recursive: true }));
    expect(resolveTarget({}, {}, nested)).toEqual({ url: DEFAULT_URL, token: "from-file", tokenFrom: path.join(dir, ".dev.vars") });
    expect(resolveTarget({}, { BACKSTOP_URL: "https://b.example/", BACKSTOP_TOKEN: "from-env" }, nested)).toEqual({ url: "https://b.example", token: "from-env", tokenFrom: "BACKSTOP_TOKEN" });
    expect(resolveTarget({ url: "http://x:1", token: "flag" }, { BACKSTOP_TOKEN: "from-env" }, nested)).toMatchObject({ url: "http://x:1", token: "flag" });
    expect(parseDevVars("A='x y'\nexport B=2\n# C=3")).toEqual({ A: "x y", B: "2" });
  });

  it("bounds verify --all's concurrency", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return n * 2;
    });
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).toBe(3);
  });
});

describe("key generate", () => {
  it("prints keys that named-checkconf, knotc and nsd-checkconf accept", async () => {
    const r = await run(["--json", "key", "generate", "xfr.example.", "--algorithm", "hmac-sha512"]);
    expect(r.code).toBe(EXIT.ok);
    const key = JSON.parse(r.stdout);
    expect(Buffer.from(key.secret, "base64")).toHaveLength(64);
    const configs = keyConfigs("xfr.example.", "hmac-sha512", key.secret);
    expect(configs).toEqual({ bind: key.bind, knot: key.knot, nsd: key.nsd });
    await writeFile(path.join(dir, "named.conf"), configs.bind);
    execFileSync("named-checkconf", [path.join(dir, "named.conf")]);
    await writeFile(path.join(dir, "knot.conf"), configs.knot);
    execFileSync("knotc", ["-c", path.join(dir, "knot.conf"), "conf-check"]);
    await writeFile(path.join(dir, "nsd.conf"), configs.nsd);
    execFileSync("nsd-checkconf", [path.join(dir, "nsd.conf")]);
    // A wrong secret is refused by the same tools, so the checks above are real.
    await writeFile(path.join(dir, "bad.conf"), configs.bind.replace(key.secret, "not base64!"));
    expect(() => execFileSync("named-checkconf", [path.join(dir, "bad.conf")], { stdio: "pipe" })).toThrow();
  });
});

describe("completion", () => {
  const complete = (script: string, words: string[]): string[] => {
    const line = words.map((w) => `'${w}'`).join(" ");
    const out = execFileSync("bash", ["-c", `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _backstop; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" });
    return out.split("\n").filter((w) => w !== "");
  };

  it("bash completes commands, subcommands and options at each level", () => {
    const script = bashCompletion(buildProgram());
    expect(complete(script, ["backstop", ""])).toEqual(expect.arrayContaining(["zone", "key", "token", "status", "verify", "completion", "--url", "--json"]));
    expect(complete(script, ["backstop", "zone", "e"])).toEqual(["edit", "export"]);
    expect(complete(script, ["backstop", "zone", "add", "a.test", "--w"])).toEqual(["--wait"]);
    expect(complete(script, ["backstop", "key", "generate", "k", "--a"])).toEqual(["--algorithm", "--add"]);
  });

  it("zsh offers the same words (its compadd replaced by one that prints them)", () => {
    const script = zshCompletion(buildProgram());
    const offered = (words: string[]): string[] => {
      const out = execFileSync(
        "zsh",
        ["-f", "-c", `compdef() { :; }\ncompadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }\n${script}\nwords=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _backstop`],
        { encoding: "utf8" },
      );
      return out.split("\n").filter((w) => w !== "");
    };
    expect(offered(["backstop", ""])).toEqual(expect.arrayContaining(["zone", "key", "token", "status", "verify", "completion"]));
    expect(offered(["backstop", "zone", ""])).toEqual(expect.arrayContaining(["list", "show", "add", "edit", "rm", "refresh", "notify", "export", "import", "verify", "transfers"]));
    expect(offered(["backstop", "zone", "add", "a.test", "--primary", "192.0.2.1", ""])).toContain("--wait");
  });
});

describe("token and zone import requests (their APIs are built elsewhere: a loopback server records them)", () => {
  let server: Server;
  let base: string;
  const seen: { method: string; url: string; type: string | undefined; auth: string | undefined; body: string }[] = [];
  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      let body = "";
      for await (const chunk of req) body += String(chunk);
      seen.push({ method: req.method!, url: req.url!, type: req.headers["content-type"], auth: req.headers.authorization, body });
      res.setHeader("content-type", "application/json");
      if (req.method === "POST" && req.url === "/api/v1/tokens") return res.writeHead(201).end(JSON.stringify({ name: JSON.parse(body).name, token: "bst_secret" }));
      if (req.method === "GET" && req.url === "/api/v1/tokens") return res.end(JSON.stringify({ tokens: [{ name: "ci", scopes: ["read"], zones: null, expiresAt: null, createdAt: "2026-12-07T00:00:00.000Z" }] }));
      if (req.method === "DELETE") return res.writeHead(204).end();
      if (req.url?.startsWith("/api/v1/zones/p.test/import")) return res.end(JSON.stringify({ added: 2, removed: 0 }));
      return res.writeHead(404).end(JSON.stringify({ error: { code: "not-found", message: "no route" } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("token add, list and rm call /api/v1/tokens as the issue specifies", async () => {
    const added = await run(["--url", base, "--token", "adm", "token", "add", "ci", "--scope", "write", "--zone", "a.test"]);
    expect(added).toMatchObject({ code: 0, stdout: "token ci (shown once): bst_secret\n" });
    expect(seen.at(-1)).toEqual({ method: "POST", url: "/api/v1/tokens", type: "application/json", auth: "Bearer adm", body: JSON.stringify({ name: "ci", scopes: ["read", "write"], zones: ["a.test"] }) });
    const listed = await run(["--url", base, "--token", "adm", "token", "list"]);
    expect(listed.stdout).toMatch(/^NAME\s+SCOPES\s+ZONES\s+EXPIRES\s+CREATED\nci\s+read\s+all\s+-\s+2026-12-07/);
    expect((await run(["--url", base, "--token", "adm", "token", "rm", "ci"])).code).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", url: "/api/v1/tokens/ci" });
  });

  it("zone import sends the file as text/dns, with ?dryRun=true on --dry-run", async () => {
    const file = path.join(dir, "p.zone");
    const text = "$ORIGIN p.test.\n@ 300 IN SOA ns1 h 1 3600 600 86400 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n";
    await writeFile(file, text);
    const r = await run(["--url", base, "--token", "adm", "zone", "import", "p.test", file, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(seen.at(-1)).toEqual({ method: "POST", url: "/api/v1/zones/p.test/import?dryRun=true", type: "text/dns", auth: "Bearer adm", body: text });
    expect(r.stdout).toMatch(/added:\s+2\nremoved: 0\n/);
  });
});
