"""``fuseplan train``: trains the GNN validity predictor of one scheme and writes a checkpoint."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from ._common import print_table

NAME = "train"
HELP = "train the GNN that predicts whether a fusion group is valid (one scheme), with a report"


def _nets(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheme", required=True,
                        help="cost scheme whose check_group gives the labels (lbdf, brr, or a "
                             "registered one)")
    parser.add_argument("--nets", type=_nets, default=None,
                        help="comma-separated training nets (default: the paper's nine)")
    parser.add_argument("--unseen-nets", type=_nets, default=None,
                        help="comma-separated nets never trained on, reported apart "
                             "(default: nine; '' for none)")
    parser.add_argument("--buffers", default="16KB-2MB",
                        help="range LOW-HIGH of the natural (log-uniform) buffer distribution")
    parser.add_argument("--groups-per-net", type=int, default=560,
                        help="distinct groups sampled per training net (each at 1 and 2 bytes "
                             "per element, 5 buffers of each distribution)")
    parser.add_argument("--unseen-groups-per-net", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=8,
                        help="stop after this many epochs without a better validation score")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: same weights on any machine, and "
                             "fastest when the cores are shared)")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint path stem (writes STEM.pt and STEM.json; "
                             "default: ./validity-SCHEME)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="dataset cache directory (default: $FUSEPLAN_CACHE or "
                             "~/.cache/fuseplan, then gnn/)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _buffer_range(text: str) -> tuple[int, int]:
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.units import parse_bytes

    lo, sep, hi = text.partition("-")
    if not sep:
        raise FusePlanError(f"--buffers wants a range LOW-HIGH such as 16KB-2MB (got {text!r})")
    return parse_bytes(lo.strip()), parse_bytes(hi.strip())


class _Bar:
    """A rich progress bar on stderr: one task per epoch's steps, a line per epoch."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def stage(self, msg: str) -> None:
        if not self.quiet:
            print(f"train: {msg}", file=sys.stderr, flush=True)

    def step(self, step: int, steps: int) -> None:
        if self.quiet or not sys.stderr.isatty():  # a log file gets the epoch lines only
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                console=Console(file=sys.stderr))
            self.bar.start()
        if self.task is None:
            self.task = self.bar.add_task("epoch", total=steps)
        self.bar.update(self.task, completed=step)

    def epoch(self, epoch: int, epochs: int, row: dict[str, float]) -> None:
        if self.quiet:
            return
        line = (f"epoch {epoch}/{epochs}: loss {row['loss']:.4f}, validation balanced "
                f"accuracy {100 * row['val_bacc']:.2f} % ({row['seconds']:.0f} s)")
        if self.bar is not None:
            self.bar.console.print(line, highlight=False)
            self.bar.remove_task(self.task)
            self.task = None
        else:
            print(line, file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _command(args: argparse.Namespace, scheme: str) -> str:
    """The command that reproduces this run, with every setting that shapes the weights."""
    parts = ["fuseplan", "train", "--scheme", scheme]
    if args.nets is not None:
        parts += ["--nets", ",".join(args.nets)]
    if args.unseen_nets is not None:
        parts += ["--unseen-nets", ",".join(args.unseen_nets)]
    parts += ["--buffers", args.buffers, "--groups-per-net", str(args.groups_per_net),
              "--unseen-groups-per-net", str(args.unseen_groups_per_net),
              "--epochs", str(args.epochs), "--patience", str(args.patience),
              "--batch-size", str(args.batch_size), "--seed", str(args.seed),
              "--threads", str(args.threads)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    import json

    from fuseplan.explain.dataset import TRAIN_NETS, UNSEEN_NETS, DatasetSpec
    from fuseplan.explain.evaluate import render
    from fuseplan.explain.pipeline import Hooks, train_scheme
    from fuseplan.explain.training import TrainConfig
    from fuseplan.models.cost import make_cost_model
    from fuseplan.models.errors import FusePlanError
    from fuseplan.models.zoo import build

    scheme = args.scheme.strip().lower()
    nets = args.nets if args.nets is not None else TRAIN_NETS
    unseen = args.unseen_nets if args.unseen_nets is not None else UNSEEN_NETS
    for name in (*nets, *unseen):
        build(name)  # an unknown net is a one-line error now, not after sampling
    if not nets:
        raise FusePlanError("--nets needs at least one training net")
    make_cost_model(scheme, build(nets[0]))  # an unknown scheme fails here
    for flag, value in (("--epochs", args.epochs), ("--groups-per-net", args.groups_per_net),
                        ("--batch-size", args.batch_size), ("--patience", args.patience),
                        ("--threads", args.threads)):
        if value < 1:
            raise FusePlanError(f"{flag} must be at least 1 (got {value})")
    spec = DatasetSpec(scheme, tuple(nets), tuple(unseen), args.groups_per_net,
                       args.unseen_groups_per_net, args.seed, _buffer_range(args.buffers))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         patience=args.patience, seed=args.seed, threads=args.threads)
    out = args.out or Path(f"validity-{scheme}")
    bar = _Bar(args.quiet)
    command = _command(args, scheme)
    try:
        record = train_scheme(spec, config, out, args.cache,
                              Hooks(bar.stage, bar.step, bar.epoch), command)
    finally:
        bar.stop()
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    t = record["training"]
    print(f"{scheme}: best epoch {t['best_epoch']} of {t['epochs_run']} run, "
          f"{t['seconds']:.0f} s on {t['torch_threads']} threads "
          f"(load {t['load_avg_1m']}); checkpoint {out}.json / .pt")
    rep = record["report"]
    print_table("class balance (share valid) per buffer range",
                ("distribution", "range", "samples", "valid %"),
                [(c["distribution"], c["range"], c["samples"], f"{100 * c['valid_share']:.1f}")
                 for c in rep["class_balance"]])
    render(rep, lambda title, header, rows: print_table(title, header, rows))
    return 0
