"""Build PuLP solver objects from the plan: HiGHS (highspy) first, CBC as fallback.

``highs_options`` is the one mapping from the plan's solver settings to
HiGHS's option names; the solve, the explanations, the audit's re-solve and
the benchmarks all set HiGHS through it.
"""
from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import pulp

from optimiser.plan import SolverConfig


def make_solvers(cfg: SolverConfig, log_path: Path | None = None) -> list:
    silence_highs_banner()
    names = [cfg.name] + ([cfg.fallback] if cfg.fallback and cfg.fallback != cfg.name else [])
    return [_make(name, cfg, log_path) for name in names]


def highs_options(cfg: SolverConfig) -> dict:
    """The plan's solver settings as HiGHS options (name -> value)."""
    options = {"time_limit": float(cfg.time_limit_seconds), "mip_rel_gap": float(cfg.mip_rel_gap),
               "threads": int(cfg.threads), "presolve": "on" if cfg.presolve else "off", "random_seed": 0}
    return options | ({"mip_max_nodes": int(cfg.node_limit)} if cfg.node_limit is not None else {})


def solver_options(cfg: SolverConfig) -> dict:
    """The plan's solver settings as the manifest records them."""
    return {"time_limit_seconds": cfg.time_limit_seconds, "mip_rel_gap": cfg.mip_rel_gap,
            "threads": cfg.threads, "require_optimal": cfg.require_optimal, "presolve": cfg.presolve,
            "node_limit": cfg.node_limit}


def _make(name: str, cfg: SolverConfig, log_path: Path | None):
    if name == "highs":
        extra = {"log_to_console": False, **highs_options(cfg)}
        if log_path is not None:
            extra["log_file"] = str(log_path)
        return pulp.HiGHS(msg=log_path is not None, **extra)
    if name == "cbc":
        # The CBC binary bundled with PuLP 3 (pyproject pins pulp<4); PuLP 3.3
        # warns that PuLP 4 moves it to a separate package.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning)
            return pulp.PULP_CBC_CMD(msg=False, timeLimit=cfg.time_limit_seconds, gapRel=cfg.mip_rel_gap,
                                     threads=cfg.threads, maxNodes=cfg.node_limit,
                                     logPath=str(log_path) if log_path else None)
    raise ValueError(f"unknown solver {name!r}")


@functools.cache
def silence_highs_banner() -> None:
    """HiGHS prints a copyright banner to stdout at the first ``Highs()`` of a
    process, whatever the options.  Create that first instance with stdout
    pointed at /dev/null so the planner's terminal shows only our lines."""
    try:
        import highspy
    except ImportError:
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
