#!/usr/bin/env node
// `backstop`, the command-line client of Backstop's /api/v1 (package.json `bin`). The program is TypeScript
// (cli/main.ts) run through tsx's loader, registered here: no build step, so a fresh clone runs it after
// `npm install` (tsx is one of its devDependencies, which a clone's `npm install` installs), and the file
// that runs is always the source, never a stale bundle. The price is start-up: `--help` took 1.1 s here
// against 0.5 s for an esbuild bundle of the same code (a busy 2-core machine).
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// Our own tsconfig, never the one of the directory the operator runs it from.
register({ tsconfig: fileURLToPath(new URL("./tsconfig.json", import.meta.url)) });
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
