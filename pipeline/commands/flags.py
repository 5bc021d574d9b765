"""Command-line flags shared by several commands, declared once."""
from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.graph.runner import SchedulerOptions
from pipeline.plans.resolve import ResolvedPlan, resolve_plan


def add_plan(p: argparse.ArgumentParser, default: str | None = "2022") -> None:
    p.add_argument("--plan", default=default, required=default is None,
                   help="plan name: config/<plan>.yaml" + (f" (default {default})" if default else ""))


def add_folders(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-dir", default="config", help="where the plan files are (default config)")
    p.add_argument("--data-dir", default="data", help="where the input files are (default data)")
    p.add_argument("--out", default="out", help="output root; a run goes to <out>/<plan>/ (default out)")


def add_scheduler(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler-host", default=None, help="central luigid host (default: local scheduler)")
    p.add_argument("--scheduler-port", type=int, default=8082)
    p.add_argument("--workers", type=int, default=1, help="Luigi worker processes (default 1)")
    p.add_argument("--verbose", action="store_true", help="show Luigi's own log")


def add_plan_run(p: argparse.ArgumentParser) -> None:
    """The flags of every command that runs a plan's tasks: plan, folders, scheduler."""
    add_plan(p)
    add_folders(p)
    add_scheduler(p)


def scheduler_options(args: argparse.Namespace) -> SchedulerOptions:
    return SchedulerOptions(scheduler_host=args.scheduler_host, scheduler_port=args.scheduler_port,
                            workers=args.workers, verbose=args.verbose)


def resolve(args: argparse.Namespace) -> ResolvedPlan:
    return resolve_plan(args.plan, Path(args.config_dir), Path(args.data_dir))
