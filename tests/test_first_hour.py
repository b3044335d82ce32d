"""Issue 15, a new user's first hour: flags in any case, --debug everywhere, help that
mentions every kind of net, files said to be written, tables that fit, validate's one-line
errors, the Python API's result that saves itself, progress off a terminal."""

from __future__ import annotations

import pytest

from fuseplan.solver.cli import build_parser, main


def test_scheme_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "squeezenet1_1", "--buffer", "128KB", "--scheme", "LBDF"]) == 0
    assert "lbdf at 128 KB" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["hw", "list", "--debug"], ["hw", "show", "--debug", "edge-256k"]])
def test_nested_commands_take_debug(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from fuseplan.models.hardware import PRESETS

    if argv[1] == "show":
        argv = [*argv[:-1], next(iter(PRESETS))]
    assert main(argv) == 0


def test_bench_report_debug_shows_the_traceback(tmp_path) -> None:
    from fuseplan.models.errors import FusePlanError

    assert main(["bench", "report", str(tmp_path)]) == 2
    with pytest.raises(FusePlanError, match="rows.jsonl"):
        main(["bench", "report", str(tmp_path), "--debug"])


def test_help_names_generated_nets() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name in ("solve", "graph", "cost", "bench"):
        assert "cells:" in sub[name].format_help().replace("\n", " "), name
    bench = sub["bench"].format_help()
    assert "another name for" in bench and "M:REPAIR" in bench
    assert bench.startswith("usage: fuseplan bench --nets NETS --buffers SIZES --out DIR")


def test_validate_a_directory_is_one_line_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a directory" in err and "Traceback" not in err


def test_validate_a_graph_json_says_so(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.json"
    assert main(["graph", "squeezenet1_1", "--json", str(path)]) == 0
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{str(path)!r} is a graph JSON, not a plan" in err and "fuseplan solve" in err
