"""What a benchmark runs: parsing ``--nets``/``--buffers``/``--schemes``/``--methods`` and
the :class:`RunSpec` of one run, with its stable key.

A run is one ``fuseplan solve`` call. Its key hashes everything that can change its result
(net, scheme, buffer, method, seed, time limit, workers, passed-through options, tool
version), so a bench directory knows which runs it already holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from fuseplan.models.errors import FusePlanError

FAMILIES: dict[str, tuple[str, ...]] = {
    "mobilenets": ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"),
    "resnets": ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"),
    "efficientnets": ("efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3"),
    # the nets of the paper's Tables II-IV (docs: /work/shared/notes/paper.md); the paper
    # says "SqueezeNet" without a version: 1.0 is the original.
    "paper": (
        "efficientnet_b3", "resnet152", "deeplabv3_mobilenet_v3_large",
        "mobilenet_v2", "vgg16", "resnet50", "resnet18", "squeezenet1_0",
    ),
}
ALL_FAMILIES = ("zoo", "all")  # every zoo net
SWEEP_KB = (16, 32, 64, 128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run; ``passthrough`` holds extra ``fuseplan solve`` arguments."""

    net: str
    scheme: str
    buffer_bytes: int
    method: str
    seed: int
    time_limit_s: float | None
    workers: int
    passthrough: tuple[str, ...]
    tool_version: str

    @property
    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        return (f"{self.net} {self.scheme} {buffer_label(self.buffer_bytes)} "
                f"{self.method} seed={self.seed}")

    def solve_argv(self, plan_path: str) -> list[str]:
        """The arguments of ``fuseplan solve`` for this run (without the program)."""
        argv = [
            "solve", self.net,
            "--buffer", str(self.buffer_bytes),
            "--scheme", self.scheme,
            "--method", self.method,
            "--seed", str(self.seed),
            "--workers", str(self.workers),
        ]
        if self.time_limit_s is not None:
            argv += ["--time-limit", f"{self.time_limit_s:g}"]
        return argv + list(self.passthrough) + ["--out", plan_path, "--quiet"]


def buffer_label(n: int) -> str:
    """2048 -> '2KB', 1048576 -> '1MB', other sizes in bytes."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}MB"
    if n % 1024 == 0:
        return f"{n // 1024}KB"
    return f"{n}B"


def split_nets(text: str) -> list[str]:
    """Net names from ``--nets``: ';'-separated, or ','-separated where the key=value parts
    of a generated net (``wide:ops=200,width=4``) stay with their net."""
    if ";" in text:
        return [t.strip() for t in text.split(";") if t.strip()]
    out: list[str] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if out and ":" in out[-1] and "=" in token and ":" not in token:
            out[-1] = f"{out[-1]},{token}"
        else:
            out.append(token)
    return out


def parse_nets(text: str) -> list[str]:
    """Families expanded, generated specs made canonical, zoo names and files checked."""
    from fuseplan.models import zoo
    from fuseplan.models.generators import canonical_spec

    nets: list[str] = []
    for token in split_nets(text):
        if token in FAMILIES:
            nets += FAMILIES[token]
        elif token in ALL_FAMILIES:
            nets += zoo.NAMES
        elif token.lower().endswith((".onnx", ".json")):
            if not Path(token).is_file():
                raise FusePlanError(f"--nets: file {token!r} does not exist")
            nets.append(token)
        elif token.startswith("zoo:") and token[4:] in zoo.NAMES:
            nets.append(token[4:])
        elif ":" in token and not token.startswith("zoo:"):
            nets.append(canonical_spec(token))
        elif token in zoo.NAMES:
            nets.append(token)
        else:
            names = ", ".join([*FAMILIES, *ALL_FAMILIES])
            raise FusePlanError(
                f"--nets: {token!r} is not a zoo net, a family ({names}), a generated net "
                "(wide:ops=200,width=4,seed=0) or an .onnx/.json file; `fuseplan zoo` lists the nets"
            )
    if not nets:
        raise FusePlanError("--nets is empty: give names, e.g. --nets mobilenet_v2,resnet18")
    return list(dict.fromkeys(nets))


def parse_buffers(text: str) -> list[int]:
    from fuseplan.models.units import parse_bytes

    if text.strip() == "sweep":
        return [kb * 1024 for kb in SWEEP_KB]
    out = []
    for item in (t.strip() for t in text.split(",")):
        try:
            out.append(parse_bytes(item))
        except FusePlanError as err:
            raise FusePlanError(f"--buffers: {err} (e.g. --buffers 128KB,256KB or sweep)") from None
    return list(dict.fromkeys(out))


def parse_schemes(text: str) -> list[str]:
    from fuseplan.models.hardware import known_schemes, scheme_name

    out = [scheme_name(t.strip()) for t in text.split(",") if t.strip()]  # LBDF = lbdf
    for s in out:
        if s not in known_schemes():
            raise FusePlanError(f"--schemes: unknown scheme {s!r}: use {','.join(known_schemes())}")
    return list(dict.fromkeys(out))


def parse_methods(text: str) -> list[str]:
    """``METHOD[:REPAIR]`` names of ``fuseplan solve --method``, each checked (the method,
    and the repair strategy of a search)."""
    from fuseplan.explain.registry import check_strategy_name
    from fuseplan.solver.api import split_method

    out = [t.strip() for t in text.split(",") if t.strip()]
    for m in out:
        try:
            _, repair = split_method(m)
            if repair is not None:
                check_strategy_name(repair)
        except FusePlanError as err:
            raise FusePlanError(f"--methods: {err}") from None
    if not out:
        raise FusePlanError("--methods is empty, e.g. --methods exact,cpsat")
    return list(dict.fromkeys(out))


def expand_runs(
    nets: list[str],
    schemes: list[str],
    buffers: list[int],
    methods: list[str],
    *,
    seeds: int,
    time_limit_s: float | None,
    workers: int,
    passthrough: tuple[str, ...],
    tool_version: str,
) -> list[RunSpec]:
    """Every run, net by net, then scheme, buffer, method, seed."""
    if seeds < 1:
        raise FusePlanError(f"--seeds must be at least 1 (got {seeds})")
    if workers < 1:
        raise FusePlanError(f"--workers-per-job must be at least 1 (got {workers})")
    if time_limit_s is not None and time_limit_s <= 0:
        raise FusePlanError(f"--time-limit must be positive seconds (got {time_limit_s})")
    return [
        RunSpec(net, scheme, buf, method, seed, time_limit_s, workers, passthrough, tool_version)
        for net in nets
        for scheme in schemes
        for buf in buffers
        for method in methods
        for seed in range(seeds)
    ]
