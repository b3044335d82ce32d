"""Hardware YAML files, presets, time estimates and the shared --hw/--buffer flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fuseplan.models.errors import FusePlanError
from fuseplan.models.hardware import (
    PRESETS,
    HardwareConfig,
    estimate_time_s,
    load_hardware,
)
from fuseplan.solver.commands._hw import add_hw_arguments, resolve_hw


def _write(tmp_path: Path, text: str, name: str = "npu.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: my-npu\ndescription: test part\nbuffer: 512KB\nbytes_per_element: 2\n"
        "scheme: brr\ndram_bandwidth_gb_s: 8\n",
    )
    assert load_hardware(str(path)) == HardwareConfig(
        name="my-npu",
        buffer_bytes=524_288,
        bytes_per_element=2,
        scheme="brr",
        dram_bandwidth_gb_s=8.0,
        description="test part",
    )


def test_minimal_file_takes_defaults_and_its_stem_as_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "buffer: 131072\n", name="tiny.yaml")
    assert load_hardware(path) == HardwareConfig("tiny", 131_072, 1, "lbdf", None, "")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("buffer: 0\n", ["'buffer'", "positive"]),
        ("buffer: 1.5B\n", ["'buffer'", "whole number"]),
        ("buffer: lots\n", ["'buffer'", "'lots'"]),
        ("buffer: [1, 2]\n", ["'buffer'", "[1, 2]", "256KB"]),
        ("buffer: true\n", ["'buffer'", "True"]),
        ("scheme: lbdf\n", ["'buffer' is missing", "256KB"]),
        ("buffer: 1MB\nbytes_per_element: 3\n", ["'bytes_per_element'", "3", "1 (int8)"]),
        ("buffer: 1MB\nbytes_per_element: '1'\n", ["'bytes_per_element'", "'1'"]),
        ("buffer: 1MB\nbytes_per_element: true\n", ["'bytes_per_element'", "True"]),
        ("buffer: 1MB\nscheme: optimus\n", ["'scheme'", "'optimus'", "lbdf", "brr"]),
        ("buffer: 1MB\nscheme: LBDF\n", ["'scheme'", "'LBDF'"]),
        ("buffer: 1MB\ndram_bandwidth_gb_s: -1\n", ["'dram_bandwidth_gb_s'", "-1", "positive"]),
        ("buffer: 1MB\ndram_bandwidth_gb_s: 0\n", ["'dram_bandwidth_gb_s'", "0"]),
        ("buffer: 1MB\ndram_bandwidth_gb_s: fast\n", ["'dram_bandwidth_gb_s'", "'fast'"]),
        ("buffer: 1MB\ndram_bandwidth_gb_s: .nan\n", ["'dram_bandwidth_gb_s'", "nan"]),
        ("buffer: 1MB\nname: ''\n", ["'name'", "non-empty"]),
        ("buffer: 1MB\nname: 7\n", ["'name'", "7"]),
        ("buffer: 1MB\ndescription: [x]\n", ["'description'"]),
        ("buffer: 1MB\nbufer: 2MB\n", ["unknown field", "'bufer'", "allowed"]),
        ("- buffer: 1MB\n", ["must be a mapping", "list"]),
        ("", ["must be a mapping", "it is empty"]),
        ("buffer: [1MB\n", ["not valid YAML", "line"]),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FusePlanError) as err:
        load_hardware(path)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


def test_unknown_name_lists_presets() -> None:
    with pytest.raises(FusePlanError) as err:
        load_hardware("no-such-npu")
    assert "'no-such-npu'" in str(err.value)
    for name in PRESETS:
        assert name in str(err.value)


def test_presets() -> None:
    assert PRESETS["edge-npu-256kb"] == HardwareConfig(
        "edge-npu-256kb", 262_144, 1, "lbdf", 4.0, PRESETS["edge-npu-256kb"].description
    )
    assert PRESETS["npu-1mb-brr"].buffer_bytes == 1_048_576
    assert PRESETS["npu-1mb-brr"].scheme == "brr"
    assert PRESETS["fp16-2mb"].bytes_per_element == 2
    assert PRESETS["fp16-2mb"].buffer_bytes == 2 * 1_048_576
    for config in PRESETS.values():
        assert "illustrative" in config.description
        assert load_hardware(config.name) is config


def test_estimate_time() -> None:
    config = HardwareConfig("x", 1024, 1, "lbdf", 12.5)
    assert estimate_time_s(25_000_000, config) == pytest.approx(0.002)
    assert estimate_time_s(0, config) == 0.0
    assert estimate_time_s(1000, HardwareConfig("x", 1024, 1, "lbdf", None)) is None


def _parse(argv: list[str], buffer_required: bool = True) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_hw_arguments(parser, buffer_required=buffer_required)
    return parser.parse_args(argv)


def test_flags_alone() -> None:
    config = resolve_hw(_parse(["--buffer", "128KB"]))
    assert (config.buffer_bytes, config.bytes_per_element, config.scheme) == (131_072, 1, "lbdf")
    config = resolve_hw(_parse(["--buffer", "1MB", "--scheme", "brr", "--bytes-per-element", "4"]))
    assert (config.buffer_bytes, config.bytes_per_element, config.scheme) == (1_048_576, 4, "brr")


def test_flags_override_the_preset() -> None:
    config = resolve_hw(_parse(["--hw", "npu-1mb-brr"]))
    assert config.buffer_bytes == 1_048_576 and config.scheme == "brr"
    config = resolve_hw(
        _parse(["--hw", "npu-1mb-brr", "--buffer", "64KB", "--scheme", "lbdf", "--bytes-per-element", "2"])
    )
    assert (config.buffer_bytes, config.scheme, config.bytes_per_element) == (65_536, "lbdf", 2)
    assert config.name == "npu-1mb-brr" and config.dram_bandwidth_gb_s == 12.8


def test_missing_buffer() -> None:
    with pytest.raises(FusePlanError, match="no buffer size: pass --buffer"):
        resolve_hw(_parse(["--scheme", "brr"]))
    assert resolve_hw(_parse([], buffer_required=False)).buffer_bytes is None


def test_bad_buffer_flag_names_the_flag() -> None:
    with pytest.raises(FusePlanError, match=r"--buffer: size '12QB'"):
        resolve_hw(_parse(["--buffer", "12QB"]))


def test_bad_choices_are_argparse_errors() -> None:
    with pytest.raises(SystemExit):
        _parse(["--buffer", "1MB", "--bytes-per-element", "3"])
    with pytest.raises(SystemExit):
        _parse(["--buffer", "1MB", "--scheme", "xyz"])
