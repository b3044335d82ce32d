"""A hardware description: buffer size, bytes per element, fusion scheme, DRAM bandwidth.

Read from a small YAML file or a named preset (models/presets/*.yaml; ``fuseplan hw list``).
A file has these fields (only ``buffer`` is required; unknown fields are rejected)::

    name: my-npu                  # defaults to the file's stem
    description: "what it is"     # optional, free text
    buffer: 256KB                 # a size (see models/units.py) or a number of bytes
    bytes_per_element: 1          # 1 (int8), 2 (fp16) or 4 (fp32); default 1
    scheme: lbdf                  # a cost model (lbdf or brr); default lbdf
    dram_bandwidth_gb_s: 4.0      # optional, GB/s with GB = 10^9 bytes, for time estimates

The presets' figures are illustrative, not any vendor's datasheet.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import FusePlanError
from .units import parse_bytes

PRESET_DIR = Path(__file__).resolve().parent / "presets"
BYTES_PER_ELEMENT = (1, 2, 4)
DEFAULT_SCHEME = "lbdf"
MAX_HARDWARE_FILE_BYTES = 64 * 1024
FIELDS = ("name", "description", "buffer", "bytes_per_element", "scheme", "dram_bandwidth_gb_s")


@dataclass(frozen=True)
class HardwareConfig:
    """What a plan is priced for. ``buffer_bytes`` is None only for a command that takes its
    buffers elsewhere (a sweep); ``dram_bandwidth_gb_s`` (10^9 bytes/s) may be unknown."""

    name: str
    buffer_bytes: int | None
    bytes_per_element: int
    scheme: str
    dram_bandwidth_gb_s: float | None = None
    description: str = ""


def known_schemes() -> tuple[str, ...]:
    """The cost models' names (models.cost.SCHEMES once it exists)."""
    from . import cost

    return tuple(getattr(cost, "SCHEMES", ("lbdf", "brr")))


def scheme_name(text: str) -> str:
    """The known scheme ``text`` names, in any case (``LBDF`` -> ``lbdf``); ``text`` itself
    when none does (the caller's check then names the known ones)."""
    known = known_schemes()
    if text in known:
        return text
    folded = [s for s in known if s.lower() == text.strip().lower()]
    return folded[0] if len(folded) == 1 else text


def estimate_time_s(dram_bytes: int, config: HardwareConfig) -> float | None:
    """Seconds to move ``dram_bytes`` at the config's bandwidth (GB = 10^9 B), or None when
    the bandwidth is unknown. Transfer time only: compute and latency are not modelled."""
    if config.dram_bandwidth_gb_s is None:
        return None
    return dram_bytes / (config.dram_bandwidth_gb_s * 1e9)


def load_hardware(file_or_preset: str | Path) -> HardwareConfig:
    """A preset by name, or a YAML file by path; a clear error for anything else."""
    spec = str(file_or_preset)
    presets = load_presets()
    if spec in presets:
        return presets[spec]
    path = Path(spec)
    if path.is_file():
        return read_hardware_file(path)
    if path.suffix.lower() in (".yaml", ".yml") or "/" in spec:
        problem = "is not a file" if path.exists() else "does not exist"
        raise FusePlanError(
            f"hardware file {spec!r} {problem}: pass the path of a hardware YAML file or a "
            f"preset ({', '.join(sorted(presets))})"
        )
    raise FusePlanError(
        f"hardware {spec!r} is neither a preset ({', '.join(sorted(presets))}) nor a YAML file: "
        "pass a preset name (see `fuseplan hw list`) or the path of a hardware YAML file"
    )


def read_hardware_file(path: Path) -> HardwareConfig:
    import yaml

    where = f"hardware file {str(path)!r}"
    try:
        if path.stat().st_size > MAX_HARDWARE_FILE_BYTES:
            raise FusePlanError(
                f"{where} is larger than {MAX_HARDWARE_FILE_BYTES // 1024} KB: a hardware file "
                "holds a few fields; check the path"
            )
        text = path.read_text(encoding="utf-8")
        # safe_load builds no Python objects but plain data; aliases are refused because a
        # few lines of nested aliases ("billion laughs") expand to billions of items
        if any(isinstance(t, (yaml.AliasToken, yaml.AnchorToken)) for t in yaml.scan(text)):
            raise FusePlanError(
                f"{where} uses YAML anchors or aliases (& or *): write each field's value out"
            )
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as err:
        raise FusePlanError(f"cannot read {where}: {err}") from None
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        at = f" (line {line + 1})" if line is not None else ""
        raise FusePlanError(f"{where} is not valid YAML{at}: fix its syntax") from None
    return hardware_from_dict(data, where=where, default_name=path.stem)


_YAML_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}


def hardware_from_dict(data: Any, *, where: str, default_name: str) -> HardwareConfig:
    """Checks every field; each error names ``where``, the field, the value and what is allowed."""
    if not isinstance(data, dict):
        got = "it is empty" if data is None else f"got {_YAML_KINDS.get(type(data), type(data).__name__)}"
        raise FusePlanError(
            f"{where} must be a mapping of fields ({', '.join(FIELDS)}), {got}: write e.g. "
            "`buffer: 256KB` on a line"
        )
    unknown = [str(k) for k in data if k not in FIELDS]
    if unknown:
        raise FusePlanError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(FIELDS)}"
        )
    if "buffer" not in data:
        raise FusePlanError(f"{where}: field 'buffer' is missing: add e.g. `buffer: 256KB`")
    return HardwareConfig(
        name=_text(data, "name", default_name, where),
        description=_text(data, "description", "", where),
        buffer_bytes=_buffer(data["buffer"], where),
        bytes_per_element=_bytes_per_element(data.get("bytes_per_element", 1), where),
        scheme=_scheme(data.get("scheme", DEFAULT_SCHEME), where),
        dram_bandwidth_gb_s=_bandwidth(data.get("dram_bandwidth_gb_s"), where),
    )


def _text(data: dict[str, Any], key: str, default: str, where: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (key == "name" and not value.strip()):
        raise FusePlanError(f"{where}: field {key!r} = {value!r} must be a non-empty string")
    return value


def _buffer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FusePlanError(
            f"{where}: field 'buffer' = {value!r} must be a size such as 256KB or a number of bytes"
        )
    try:
        return parse_bytes(value)
    except FusePlanError as err:
        raise FusePlanError(f"{where}: field 'buffer': {err}") from None


def _bytes_per_element(value: Any, where: str) -> int:
    if isinstance(value, bool) or value not in BYTES_PER_ELEMENT:
        raise FusePlanError(
            f"{where}: field 'bytes_per_element' = {value!r} must be 1 (int8), 2 (fp16) or 4 (fp32)"
        )
    return int(value)


def _scheme(value: Any, where: str) -> str:
    schemes = known_schemes()
    if value not in schemes:
        raise FusePlanError(
            f"{where}: field 'scheme' = {value!r} must be one of {', '.join(schemes)}"
        )
    return str(value)


def _bandwidth(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise FusePlanError(
            f"{where}: field 'dram_bandwidth_gb_s' = {value!r} must be a positive number of GB/s "
            "(e.g. 12.8), or left out"
        )
    return float(value)


@functools.cache
def load_presets() -> Mapping[str, HardwareConfig]:
    """Every preset, by name (= its file's stem, which must equal its ``name`` field); read
    once, on first use (``PRESETS`` is this mapping).

    Every caller gets the same object, so it is read-only (a ``MappingProxyType`` of frozen
    configs): one caller cannot change another's presets. ``dict(load_presets())`` is a copy
    of your own."""
    presets: dict[str, HardwareConfig] = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        config = read_hardware_file(path)
        if config.name != path.stem:
            raise FusePlanError(f"preset {str(path)!r}: name {config.name!r} differs from its file name")
        presets[config.name] = config
    return MappingProxyType(presets)


def __getattr__(name: str) -> Any:
    # PRESETS is read on first use, so that importing this module (every command's
    # --hw option does) does not parse YAML.
    if name == "PRESETS":
        return load_presets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
