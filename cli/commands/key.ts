/**
 * @module `backstop key …`: TSIG keys (`/api/v1/tsig-keys`; secrets are write-only there). `key generate`
 * makes a random secret of the algorithm's output length (as BIND's tsig-keygen does) and prints it in the
 * syntax of BIND (named.conf), Knot (knot.conf) and NSD (nsd.conf), ready for the primary; `--add` also
 * stores it in Backstop.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { TSIG_ALGORITHMS, type TsigAlgorithmName } from "../../contract/vocabulary.ts";
import { seg } from "../api.ts";
import type { ContextFactory } from "../context.ts";
import { usage } from "../errors.ts";
import { printJson, table } from "../output.ts";

/** The HMAC's output length in octets: the secret length tsig-keygen uses. */
const SECRET_OCTETS: Record<TsigAlgorithmName, number> = {
  "hmac-md5": 16,
  "hmac-sha1": 20,
  "hmac-sha224": 28,
  "hmac-sha256": 32,
  "hmac-sha384": 48,
  "hmac-sha512": 64,
};

function algorithm(text: string): TsigAlgorithmName {
  const a = text.toLowerCase();
  if (!(TSIG_ALGORITHMS as readonly string[]).includes(a)) throw usage(`--algorithm must be one of ${TSIG_ALGORITHMS.join(", ")}, not "${text}"`);
  return a as TsigAlgorithmName;
}

const keyName = (name: string) => name.replace(/\.$/, "");

/** The key in BIND's, Knot's and NSD's configuration syntax. */
export function keyConfigs(name: string, alg: TsigAlgorithmName, secret: string): { bind: string; knot: string; nsd: string } {
  const n = keyName(name);
  return {
    bind: `key "${n}" {\n\talgorithm ${alg};\n\tsecret "${secret}";\n};\n`,
    knot: `key:\n  - id: ${n}\n    algorithm: ${alg}\n    secret: ${secret}\n`,
    nsd: `key:\n\tname: "${n}"\n\talgorithm: ${alg}\n\tsecret: "${secret}"\n`,
  };
}

export function addKeyCommands(program: Command, context: ContextFactory): void {
  const key = program.command("key").description("TSIG keys: add, list, rm, generate");

  key
    .command("add")
    .description("store a TSIG key (secret from --secret, --secret-file, or stdin)")
    .argument("<name>")
    .option("--algorithm <alg>", TSIG_ALGORITHMS.join(", "), algorithm, "hmac-sha256" as TsigAlgorithmName)
    .option("--secret <base64>", "the secret (visible in the process list: prefer --secret-file)")
    .option("--secret-file <file>", "a file holding the base64 secret")
    .action(async (name: string, opts: { algorithm: TsigAlgorithmName; secret?: string; secretFile?: string }, cmd: Command) => {
      let secret = opts.secret;
      if (secret === undefined && opts.secretFile !== undefined) {
        try {
          secret = readFileSync(opts.secretFile, "utf8").trim();
        } catch (err) {
          throw usage(`cannot read ${opts.secretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      if (secret === undefined) {
        if (process.stdin.isTTY) throw usage("give the secret with --secret, --secret-file, or on stdin");
        secret = readFileSync(0, "utf8").trim();
      }
      const ctx = context(cmd);
      const r = await ctx.api.json<{ name: string; algorithm: string }>("POST", "/tsig-keys", { json: { name: keyName(name), algorithm: opts.algorithm, secret } });
      if (ctx.out.json) printJson(ctx.out, r);
      else ctx.out.stdout(`added key ${r.name} (${r.algorithm})\n`);
    });

  key
    .command("list")
    .description("stored TSIG keys (never their secrets)")
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const r = await ctx.api.json<{ keys: { name: string; algorithm: string; createdAt: string }[] }>("GET", "/tsig-keys");
      if (ctx.out.json) printJson(ctx.out, r.keys);
      else ctx.out.stdout(table(["NAME", "ALGORITHM", "CREATED"], r.keys.map((k) => [k.name, k.algorithm, k.createdAt])));
    });

  key
    .command("rm")
    .description("delete a TSIG key (refused while a zone uses it)")
    .argument("<name>")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      await ctx.api.request("DELETE", `/tsig-keys/${seg(name)}`);
      if (ctx.out.json) printJson(ctx.out, { deleted: keyName(name) });
      else ctx.out.stdout(`deleted key ${keyName(name)}\n`);
    });

  key
    .command("generate")
    .description("make a random TSIG key and print it for BIND, Knot and NSD (--add also stores it)")
    .argument("<name>")
    .option("--algorithm <alg>", TSIG_ALGORITHMS.join(", "), algorithm, "hmac-sha256" as TsigAlgorithmName)
    .option("--add", "also store it in Backstop")
    .action(async (name: string, opts: { algorithm: TsigAlgorithmName; add?: boolean }, cmd: Command) => {
      const secret = randomBytes(SECRET_OCTETS[opts.algorithm]).toString("base64");
      const configs = keyConfigs(name, opts.algorithm, secret);
      const ctx = context(cmd);
      if (opts.add) await ctx.api.json("POST", "/tsig-keys", { json: { name: keyName(name), algorithm: opts.algorithm, secret } });
      if (ctx.out.json) return printJson(ctx.out, { name: keyName(name), algorithm: opts.algorithm, secret, added: opts.add === true, ...configs });
      ctx.out.stdout(`# BIND (named.conf)\n${configs.bind}\n# Knot (knot.conf)\n${configs.knot}\n# NSD (nsd.conf)\n${configs.nsd}`);
      if (opts.add) ctx.out.stderr(`stored key ${keyName(name)} in Backstop\n`);
    });
}
