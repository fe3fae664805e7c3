/**
 * @module `backstop completion bash|zsh`: a completion script generated from the program's own command tree,
 * so it never lags behind the commands. Each level completes its subcommands and options; the words typed so
 * far (options left out) pick the level, longest path first.
 *
 *   bash: `source <(backstop completion bash)`, or save it under /etc/bash_completion.d/
 *   zsh:  `source <(backstop completion zsh)` after compinit, or save it as `_backstop` in a directory of $fpath
 */
import type { Command } from "commander";
import { usage } from "../errors.ts";

/** Command path ("zone add") → the words completed there: subcommands, then long options. */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (cmd: Command, path: string[]): void => {
    const options = cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined);
    table.set(path.join(" "), [...cmd.commands.map((c) => c.name()), ...options, "--help"]);
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return table;
}

const quote = (words: string[]) => words.join(" ").replace(/'/g, "");

/** Paths longest first, so "zone add" is tried before "zone", and the program's own level (the `*)` case) last. */
function ordered(table: Map<string, string[]>): [string, string[]][] {
  const depth = (p: string) => (p === "" ? 0 : p.split(" ").length);
  return [...table.entries()].sort((a, b) => depth(b[0]) - depth(a[0]) || a[0].localeCompare(b[0]));
}

export function bashCompletion(program: Command): string {
  const cases = ordered(completionTable(program))
    .map(([path, words]) => (path === "" ? `    *) words='${quote(words)}' ;;` : `    "${path}"|"${path} "*) words='${quote(words)}' ;;`))
    .join("\n");
  return `# bash completion for backstop (backstop completion bash)
_backstop() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" words i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) path="\${path:+$path }\${COMP_WORDS[i]}" ;; esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _backstop backstop
`;
}

export function zshCompletion(program: Command): string {
  const cases = ordered(completionTable(program))
    .map(([path, words]) => (path === "" ? `    *) candidates=(${quote(words)}) ;;` : `    "${path}"|"${path} "*) candidates=(${quote(words)}) ;;`))
    .join("\n");
  return `#compdef backstop
# zsh completion for backstop (backstop completion zsh)
_backstop() {
  local path_="" w
  local -a candidates
  for w in "\${(@)words[2,CURRENT-1]}"; do
    [[ $w == -* ]] || path_="\${path_:+$path_ }$w"
  done
  case "$path_" in
${cases}
  esac
  compadd -- "\${candidates[@]}"
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _backstop "$@"
else
  compdef _backstop backstop
fi
`;
}

export function addCompletionCommand(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: bash or zsh")
    .argument("<shell>", "bash or zsh")
    .action((shell: string) => {
      if (shell === "bash") process.stdout.write(bashCompletion(program));
      else if (shell === "zsh") process.stdout.write(zshCompletion(program));
      else throw usage(`completion: shell must be bash or zsh, not "${shell}"`);
    });
}
