"""Command line: ``python -m pipeline <command> ...`` (see README).

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int`` (the process exit status: 0 ok, 1 failed, 2 bad input).
``main`` is the one place that turns bad input into ``error: ...`` and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from pipeline.errors import InputError

COMMANDS = {
    "allocate": ("pipeline.commands.allocate", "plan the requests for config/<plan>.yaml"),
    "reallocate": ("pipeline.commands.allocate", "re-plan mid-year: config/<plan>.yaml with a replan section"),
    "ladder": ("pipeline.commands.ladder", "requests for an increasing list of needs, never falling"),
    "sweep": ("pipeline.commands.sweep", "many scenarios of one plan (uncertain need, weights, capacity)"),
    "calibrate": ("pipeline.commands.calibrate", "fit the criteria weights to past years' real requests"),
    "backtest": ("pipeline.commands.backtest", "plan past years as the engine would have; compare with IMDi's"),
    "audit": ("pipeline.commands.audit", "re-check a stored run from its files alone"),
    "letters-pdf": ("pipeline.commands.letters_pdf", "print the letters of a published run as PDF (headless Chromium)"),
    "illustrate": ("pipeline.commands.illustrate", "write illustrative county, KS and municipal inputs for a plan"),
    "place": ("pipeline.commands.place", "place a batch of households against a published plan"),
    "place-year": ("pipeline.commands.place", "place a year of arrivals week by week, against hindsight"),
    "illustrate-arrivals": ("pipeline.commands.illustrate_arrivals", "write a synthetic arrivals file for a plan"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="busetting: settlement allocation")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text))
        modules[name] = module
    args = parser.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
