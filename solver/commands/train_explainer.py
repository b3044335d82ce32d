"""``fuseplan train-explainer``: trains PGExplainer or RG-Explainer against a scheme's validity
GNN and writes its checkpoint (by default the shipped one, explain/checkpoints/ALGO-SCHEME)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

NAME = "train-explainer"
HELP = "train the PGExplainer or RG-Explainer repair strategy against a scheme's validity GNN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--algorithm", required=True, choices=("pgexplainer", "rgexplainer"))
    parser.add_argument("--scheme", required=True, help="cost scheme (its GNN checkpoint)")
    parser.add_argument("--gnn", type=Path, default=None,
                        help="validity GNN checkpoint (default: the shipped one of the scheme)")
    parser.add_argument("--nets", default=None,
                        help="comma-separated nets to sample groups from (default: the GNN's "
                             "nine training nets)")
    parser.add_argument("--groups-per-net", type=int, default=24,
                        help="invalid segment parts sampled per training net")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the algorithm's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint stem (default: explain/checkpoints/ALGORITHM-SCHEME)")
    parser.add_argument("--quiet", action="store_true")


def _command(args: argparse.Namespace) -> str:
    parts = ["fuseplan", "train-explainer", "--algorithm", args.algorithm, "--scheme",
             args.scheme.strip().lower(), "--groups-per-net", str(args.groups_per_net),
             "--seed", str(args.seed), "--threads", str(args.threads)]
    if args.nets is not None:
        parts += ["--nets", args.nets]
    if args.epochs is not None:
        parts += ["--epochs", str(args.epochs)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    from fuseplan.explain.learned.train import train_explainer
    from fuseplan.models.errors import FusePlanError

    for flag, value in (("--groups-per-net", args.groups_per_net), ("--threads", args.threads),
                        ("--epochs", 1 if args.epochs is None else args.epochs)):
        if value < 1:
            raise FusePlanError(f"{flag} must be at least 1 (got {value})")

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"train-explainer: {msg}", file=sys.stderr, flush=True)

    extra = {}
    if args.nets is not None:
        extra["nets"] = tuple(n.strip() for n in args.nets.split(",") if n.strip())
        if not extra["nets"]:
            raise FusePlanError("--nets needs at least one net")
    record = train_explainer(args.algorithm, args.scheme, gnn_checkpoint=args.gnn, out=args.out,
                             groups_per_net=args.groups_per_net, epochs=args.epochs,
                             seed=args.seed, threads=args.threads, command=_command(args),
                             progress=say, **extra)
    t = record["training"]
    print(f"{record['algorithm']} ({record['scheme']}): {t['groups']} groups, "
          f"{t['wall_seconds']:.0f} s (load {t['load_avg_1m']}); checkpoint {record['path']}")
    return 0
