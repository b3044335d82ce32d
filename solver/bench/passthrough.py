"""Options of ``fuseplan solve`` that ``fuseplan bench`` passes on to every run.

Bench reads the solve command's own parser, so every solve option it does not set itself
(``--evaluations``, ``--prune``, ``--bytes-per-element``, ``--hw``, ...) is a bench option
too, checked by argparse and listed in ``fuseplan bench --help``. The values are passed on as
written and are part of each run's key.
"""

from __future__ import annotations

import argparse
import importlib

PREFIX = "solve_"
# solve options that bench sets per run, or that make no sense inside a bench
BENCH_OWNED = frozenset({
    "-h", "--help", "--debug", "--buffer", "--scheme", "--method", "--seed", "--workers",
    "--time-limit", "--out", "-o", "--json", "--quiet", "-q", "--progress", "--no-progress",
    "--csv", "--plot",
})


def solve_options() -> list[argparse.Action]:
    """The options of ``fuseplan solve`` that bench passes through, in their order."""
    try:
        module = importlib.import_module("fuseplan.solver.commands.solve")
    except ModuleNotFoundError:
        return []
    parser = argparse.ArgumentParser(add_help=False)
    module.add_arguments(parser)
    return [
        a for a in parser._actions
        if a.option_strings and not set(a.option_strings) & BENCH_OWNED
        and a.dest != argparse.SUPPRESS
    ]


def _dest(action: argparse.Action) -> str:
    """One destination per option string (two flags may share a dest in solve's parser)."""
    return PREFIX + max(action.option_strings, key=len).lstrip("-").replace("-", "_")


def add_passthrough_arguments(parser: argparse.ArgumentParser) -> None:
    actions = solve_options()
    if not actions:
        return
    group = parser.add_argument_group(
        "passed to every `fuseplan solve` run (part of each run's key)"
    )
    for action in actions:
        kwargs: dict = {"dest": _dest(action), "default": argparse.SUPPRESS,
                        "help": action.help}
        if action.nargs == 0:
            kwargs.update(action="store_const", const=True)
        elif isinstance(action, argparse._AppendAction):
            kwargs.update(action="append", metavar=action.metavar)
        else:
            kwargs.update(metavar=action.metavar, nargs=action.nargs)
            if action.type in (int, float, str):
                kwargs.update(type=action.type, choices=action.choices)
            elif action.choices is not None and all(isinstance(c, str) for c in action.choices):
                kwargs.update(choices=action.choices)
        group.add_argument(*action.option_strings, **kwargs)


def passthrough_argv(args: argparse.Namespace) -> tuple[str, ...]:
    """The solve arguments the user gave to bench, in the solve parser's order."""
    out: list[str] = []
    for action in solve_options():
        if not hasattr(args, _dest(action)):
            continue
        value = getattr(args, _dest(action))
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            out.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                out += [flag, str(item)]
        elif isinstance(value, list):
            out += [flag, *(str(v) for v in value)]
        else:
            out += [flag, str(value)]
    return tuple(out)
