#!/usr/bin/env node
/**
 * @module pretest: the integration tests start real DNS peers (knotd, named, nsd, pdns_server) and
 * use real clients (kdig, dig, delv, dnssec-signzone), and the panel's tests a real browser (chromium). This looks for every one of them. When some
 * are missing and we run as root, it installs the Debian packages; otherwise it fails with the exact
 * command to run. It never lets a test skip silently.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian package → the programs the tests need from it. */
export const PEERS = {
  knot: ["/usr/sbin/knotd", "/usr/sbin/knotc"],
  bind9: ["/usr/sbin/named"],
  nsd: ["/usr/sbin/nsd"],
  "pdns-server": ["/usr/sbin/pdns_server"],
  "pdns-backend-sqlite3": ["/usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so"],
  "knot-dnsutils": ["/usr/bin/kdig"],
  "bind9-dnsutils": ["/usr/bin/dig", "/usr/bin/delv"],
  "bind9-utils": ["/usr/bin/named-checkzone", "/usr/bin/dnssec-keygen", "/usr/bin/dnssec-signzone"],
  sqlite3: ["/usr/bin/sqlite3"],
  // The panel's browser tests (test/panel/, issue 23): Debian's chromium, driven by playwright-core.
  chromium: ["/usr/bin/chromium"],
  // Issue 24: the CLI's zsh completion script is run by a real zsh (test/cli/cli-args.test.ts).
  zsh: ["/usr/bin/zsh"],
  // promtool checks docs/alerts/backstop.rules.yml (issue 25); the package's server is not started.
  prometheus: ["/usr/bin/promtool"],
};
// Issue 22 (test/primary/): RFC 2136 clients, from the packages that already bring dig and kdig.
PEERS["bind9-dnsutils"].push("/usr/bin/nsupdate");
PEERS["knot-dnsutils"].push("/usr/bin/knsupdate");

function missingPackages() {
  return Object.entries(PEERS)
    .filter(([, files]) => files.some((f) => !existsSync(f)))
    .map(([pkg]) => pkg);
}

let missing = missingPackages();
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y ${missing.join(" ")}`;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (!isRoot) {
  console.error(`The integration tests need real DNS peers that are not installed: ${missing.join(", ")}.`);
  console.error(`Run as root:\n  sudo sh -c '${command}'`);
  process.exit(1);
}

console.error(`Installing DNS peers for the integration tests: ${missing.join(" ")}`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
execFileSync("apt-get", ["update"], { stdio: "inherit", env });
const res = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { stdio: "inherit", env });
if (res.status !== 0) {
  console.error(`apt-get install failed (exit ${res.status}). Run:\n  ${command}`);
  process.exit(1);
}
missing = missingPackages();
if (missing.length > 0) {
  console.error(`Still missing after install: ${missing.join(", ")}`);
  process.exit(1);
}
