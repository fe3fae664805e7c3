/**
 * @module `backstop`, the command-line client of Backstop's `/api/v1` (issue 24), on commander 14.
 *
 *   backstop [--url URL] [--token TOKEN] [--json] <command> …
 *
 * The target is `--url`/`--token`, else `BACKSTOP_URL`/`BACKSTOP_TOKEN`, else the local `npm start`
 * (`target.ts`). Exit codes (`errors.ts`): 0 ok, 1 a check failed or the API refused, 2 a usage error, 3 the
 * server could not be reached. Errors are printed as one line (the API's own message), never a stack trace.
 * This folder runs on Node and imports only `contract/` and `dns/` (ESLint fences it like the others).
 */
import { Command, CommanderError } from "commander";
import { addCompletionCommand } from "./commands/completion.ts";
import { addKeyCommands } from "./commands/key.ts";
import { addStatusCommand } from "./commands/status.ts";
import { addTokenCommands } from "./commands/token.ts";
import { addVerify } from "./commands/verify.ts";
import { addZoneCommands } from "./commands/zone.ts";
import { type ContextFactory, defaultContext, outcome } from "./context.ts";
import { CliError, EXIT, type ExitCode } from "./errors.ts";

export function buildProgram(context: ContextFactory = defaultContext): Command {
  const program = new Command("backstop")
    .description("manage a Backstop secondary DNS service through its /api/v1")
    .option("--url <url>", "Backstop's URL (default: BACKSTOP_URL, else http://127.0.0.1:8787)")
    .option("--token <token>", "API token (default: BACKSTOP_TOKEN, else ADMIN_TOKEN from .dev.vars)")
    .option("--json", "JSON output for scripts")
    .option("-q, --quiet", "no progress bars")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  addZoneCommands(program, context);
  addKeyCommands(program, context);
  addTokenCommands(program, context);
  addStatusCommand(program, context);
  addVerify(program, context);
  addCompletionCommand(program);
  // Subcommands exit through main() too, not process.exit.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.showHelpAfterError("(add --help for usage)");
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Runs the CLI on `args` (without node and the script) and returns the exit code. */
export async function main(args: string[], context: ContextFactory = defaultContext, stderr: (t: string) => void = (t) => process.stderr.write(t)): Promise<ExitCode> {
  outcome.exit = EXIT.ok;
  const program = buildProgram(context);
  try {
    if (args.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync(args, { from: "user" });
    return outcome.exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; every other commander error is a usage error it has printed.
      return err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      stderr(`backstop: ${err.message}\n`);
      return err.exitCode;
    }
    stderr(`backstop: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.failed;
  }
}
