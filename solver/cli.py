"""The ``fuseplan`` command line: parses, dispatches to one subcommand, turns user errors
into a one-line message on stderr and exit code 2.

Nothing here computes. Each subcommand lives in ``solver/commands/<name>.py`` (see that
package's docstring) and is found at start-up without importing anything heavy.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from fuseplan import __version__
from fuseplan.models.errors import FusePlanError

from . import commands


def _command_modules() -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found.append(module)
    return found


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (what, where, and where to read more), like
    every other user error; subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="fuseplan",
        description=(
            "Fusion planning for DNN accelerators: split a CNN into fusion groups that fit "
            "the on-chip buffer with the least DRAM traffic."
        ),
    )
    parser.add_argument("--version", action="version", version=f"fuseplan {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        _add_debug(p)
        module.add_arguments(p)
        for nested in _nested_parsers(p):  # hw list, hw show, bench report, ...
            _add_debug(nested)
        p.set_defaults(_run=module.run)
    return parser


def _add_debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show the full traceback of an error",
    )


def _nested_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in dict.fromkeys(action.choices.values()):
                found += [nested, *_nested_parsers(nested)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except FusePlanError as err:
        if args.debug:
            raise
        print(f"fuseplan {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"fuseplan {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fuseplan zoo | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
