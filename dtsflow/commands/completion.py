"""`dtsflow completion bash|zsh`: a shell completion script generated from the real argparse parser.

Generated, not hand-written, so that a new command or flag completes the day it is added. It completes command
names, each command's flags, the values of flags with choices (`--format`), files for file flags (`--var-file`,
`-o`, `--report`), and for the positional paths directories plus manifest files (`*.yaml`, `*.yml`; `apply` also
takes a saved `*.json` plan, `show` only that). Install: `eval "$(dtsflow completion bash)"` in `~/.bashrc`, or for zsh
`dtsflow completion zsh > "${fpath[1]}/_dtsflow"` (any directory on `$fpath`), then restart the shell.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from dtsflow.commands.args import CompletionArgs

SHELLS = ("bash", "zsh")
MANIFEST_SUFFIXES = (".yaml", ".yml")
# What the positional paths of a command complete to besides directories (default: manifests).
PATH_SUFFIXES = {"apply": (*MANIFEST_SUFFIXES, ".json"), "show": (".json",)}
# Flags whose value is a file (completed as paths); other valued flags without choices complete nothing.
FILE_FLAGS = {"--var-file", "--out", "-o", "--report", "--state", "--secret-dir"}


@dataclass(frozen=True, slots=True)
class Flag:
    names: tuple[str, ...]
    takes_value: bool
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def is_file(self) -> bool:
        return any(n in FILE_FLAGS for n in self.names)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    flags: tuple[Flag, ...]
    takes_paths: bool
    suffixes: tuple[str, ...] = field(default=MANIFEST_SUFFIXES)


def _flags(parser: argparse.ArgumentParser) -> tuple[Flag, ...]:
    flags = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        takes_value = action.nargs != 0
        choices = tuple(str(c) for c in action.choices) if action.choices else ()
        flags.append(Flag(tuple(action.option_strings), takes_value, choices, str(action.help or "")))
    return tuple(flags)


def describe(parser: argparse.ArgumentParser) -> tuple[tuple[Flag, ...], tuple[Command, ...]]:
    """The top-level flags and every command, read from the parser."""
    commands: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: str(choice.help or "") for choice in action._choices_actions}
        for name, sub in action.choices.items():
            positional = [a for a in sub._actions if not a.option_strings]
            takes_paths = any(a.dest in ("paths", "plan") for a in positional)
            suffixes = PATH_SUFFIXES.get(name, MANIFEST_SUFFIXES)
            choices = tuple(str(c) for a in positional if a.choices for c in a.choices)
            flags = _flags(sub)
            if choices:  # a positional with choices (`completion bash|zsh`) completes like a flag's value
                flags = (*flags, Flag(("",), True, choices))
            commands.append(Command(name, helps.get(name, ""), flags, takes_paths, suffixes))
    return _flags(parser), tuple(commands)


def _words(items: list[str]) -> str:
    return " ".join(items)


def bash_script(parser: argparse.ArgumentParser) -> str:
    top, commands = describe(parser)
    prog = parser.prog
    fn = f"_{prog}"
    cases: list[str] = []
    for cmd in commands:
        names = [n for f in cmd.flags for n in f.names if n]
        positional_choices = next((f.choices for f in cmd.flags if f.names == ("",)), ())
        cases.append(
            f"    {cmd.name}) opts='{_words(names)}'; "
            f"suffixes='{_words(list(cmd.suffixes)) if cmd.takes_paths else ''}'; "
            f"positional='{_words(list(positional_choices))}' ;;"
        )
    values: list[str] = []
    for cmd in commands:
        for flag in cmd.flags:
            for name in flag.names:
                if not name or not flag.takes_value:
                    continue
                if flag.choices:
                    values.append(
                        f"    {cmd.name}:{name}) COMPREPLY=($(compgen -W '{_words(list(flag.choices))}' -- \"$cur\")); return ;;"
                    )
                elif flag.is_file:
                    values.append(f"    {cmd.name}:{name}) {fn}_files ''; return ;;")
                else:
                    values.append(f"    {cmd.name}:{name}) return ;;  # a free value: nothing to offer")
    top_names = [n for f in top for n in f.names]
    return "\n".join(
        [
            f"# bash completion for {prog}, generated from its parser by `{prog} completion bash`.",
            f'# Install: eval "$({prog} completion bash)" in ~/.bashrc',
            f'{fn}_files() {{  # directories, and files ending in one of "$1" (every file when empty)',
            "    local f s",
            "    compopt -o filenames 2>/dev/null",
            "    while IFS= read -r f; do",
            '        if [[ -d $f || -z $1 ]]; then COMPREPLY+=("$f"); continue; fi',
            '        for s in $1; do if [[ $f == *"$s" ]]; then COMPREPLY+=("$f"); break; fi; done',
            '    done < <(compgen -f -- "$cur")',
            "}",
            f"{fn}() {{",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i opts suffixes positional',
            '    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"',
            "    COMPREPLY=()",
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac',
            "    done",
            "    if [[ -z $cmd ]]; then",
            f"        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '{_words(top_names)}' -- \"$cur\"));",
            f"        else COMPREPLY=($(compgen -W '{_words([c.name for c in commands])}' -- \"$cur\")); fi",
            "        return",
            "    fi",
            '    case "$cmd" in',
            *cases,
            "    *) return ;;",
            "    esac",
            '    case "$cmd:$prev" in',
            *values,
            "    esac",
            '    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi',
            '    if [[ -n $positional ]]; then COMPREPLY=($(compgen -W "$positional" -- "$cur")); return; fi',
            f'    if [[ -n $suffixes ]]; then {fn}_files "$suffixes"; fi',
            "}",
            f"complete -F {fn} {prog}",
            "",
        ]
    )


def _zsh_quote(text: str) -> str:
    return text.replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_spec(flag: Flag) -> list[str]:
    help_text = _zsh_quote(flag.help.split(" (")[0][:70])
    if flag.choices:
        action = f":value:({' '.join(flag.choices)})"
    elif flag.is_file:
        action = ":file:_files"
    elif flag.takes_value:
        action = ":value: "
    else:
        action = ""
    names = [n for n in flag.names if n]
    if len(names) > 1:
        group = " ".join(names)
        return [f"'({group})'{{{','.join(names)}}}'[{help_text}]{action}'"]
    return [f"'{names[0]}[{help_text}]{action}'"]


def zsh_script(parser: argparse.ArgumentParser) -> str:
    top, commands = describe(parser)
    prog = parser.prog
    described = " ".join(f"'{c.name}:{_zsh_quote(c.help)}'" for c in commands)
    lines = [
        f"#compdef {prog}",
        f"# zsh completion for {prog}, generated from its parser by `{prog} completion zsh`.",
        f'# Install: {prog} completion zsh > "${{fpath[1]}}/_{prog}", then start a new shell.',
        f"_{prog}() {{",
        "  local curcontext=$curcontext state line",
        "  local -a commands",
        f"  commands=({described})",
        "  _arguments -C \\",
        *[f"    {spec} \\" for f in top for spec in _zsh_spec(f)],
        "    '1:command:->command' \\",
        "    '*::arg:->args'",
        "  case $state in",
        "    command) _describe command commands ;;",
        "    args)",
        "      case $words[1] in",
    ]
    for cmd in commands:
        specs = [spec for f in cmd.flags if f.names != ("",) for spec in _zsh_spec(f)]
        positional = next((f.choices for f in cmd.flags if f.names == ("",)), ())
        if positional:
            specs.append(f"'1:value:({' '.join(positional)})'")
        if cmd.takes_paths:
            pattern = "|".join(f"*{s}" for s in cmd.suffixes)
            specs.append(f"'*:manifest:_files -g \"({pattern})\"'")
        lines.append(f"        {cmd.name}) _arguments {' '.join(specs)} ;;")
    lines += ["      esac ;;", "  esac", "}", f'_{prog} "$@"', ""]
    return "\n".join(lines)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    if shell == "bash":
        return bash_script(parser)
    if shell == "zsh":
        return zsh_script(parser)
    raise ValueError(f"unknown shell {shell!r}")


def run(args: CompletionArgs) -> int:
    from dtsflow.cli import build_parser

    sys.stdout.write(script(args.shell, build_parser()))
    return 0
