"""What the bench/ scripts share: the machine line, medians, cold command-line
runs, the model the pipeline solved (read back from a run's cache), the
direct-highspy reference solve and the section writer for BENCHMARKS.md.

Run on its own (``make bench`` runs every bench/*.py) it only prints the
machine line.
"""
from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import highspy  # noqa: E402
import numpy as np  # noqa: E402

from optimiser import model  # noqa: E402
from optimiser.solve import SolveStatus, solve  # noqa: E402
from pipeline.plans.resolve import resolve_plan  # noqa: E402
from pipeline.publish.solution import read_solution  # noqa: E402
from pipeline.solvers import highs_options, make_solvers  # noqa: E402

BENCHMARKS = ROOT / "BENCHMARKS.md"
PREAMBLE = ("# Benchmarks\n\nEach section is written from its `bench/` script; numbers are medians of "
            "several runs, with the machine noted.\n")


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def code_state() -> str:
    """The commit measured and any uncommitted change to the engine's code (others may be editing)."""
    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD").strip()
    if not commit:
        return "code outside git"
    changed = [line[3:] for line in git("status", "--porcelain", "--", "optimiser", "pipeline").splitlines()]
    if not changed:
        return f"code at commit {commit}"
    return f"code at commit {commit} with uncommitted changes to " + ", ".join(f"`{p}`" for p in changed)


@dataclass
class Machine:
    """The machine line of a section: CPU, Python, package versions, and the
    1-minute load average at the start and at the end of the bench."""

    packages: tuple[str, ...]
    load_start: float | None = field(default_factory=load_average)
    code: str = field(default_factory=code_state)

    def describe(self) -> str:
        cpu = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        versions = ", ".join(f"{name} {metadata.version(name)}" for name in self.packages)
        text = (f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs "
                f"(`os.cpu_count()`), Python {platform.python_version()}, {versions}")
        end = load_average()
        if self.load_start is not None and end is not None:
            text += f"; 1-minute load average {self.load_start:.1f} at the start, {end:.1f} at the end"
        return text + "; " + self.code


def median_seconds(fn, runs: int) -> tuple[float, object]:
    """Median wall seconds of ``runs`` calls of ``fn`` and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def median(values) -> float:
    return statistics.median(list(values))


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "**not met**"


@dataclass
class ColdRun:
    wall: float
    tasks: dict[str, list[float]]  # task family -> seconds of each time it ran (a re-plan may run its base plan)
    stderr: str


TASK_LINE = re.compile(r"^\s+(\w+)\s+done in ([0-9.]+) s$", re.MULTILINE)


def cold_run(args: list[str], prepare=None) -> ColdRun:
    """Time ``python -m pipeline <args>`` in a fresh process (cwd: the project).
    ``prepare()`` runs untimed before each attempt (e.g. a fresh out dir)."""
    if prepare is not None:
        prepare()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"python -m pipeline {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}")
    tasks: dict[str, list[float]] = {}
    for name, seconds in TASK_LINE.findall(done.stderr):
        tasks.setdefault(name, []).append(float(seconds))
    return ColdRun(wall, tasks, done.stderr)


def task_medians(runs: list[ColdRun]) -> dict[str, float]:
    """Median seconds per pipeline task over cold runs (each run's total per task)."""
    names = [name for name in runs[0].tasks]
    return {name: median(sum(r.tasks.get(name, [0.0])) for r in runs) for name in names}


def solver_medians(timed: dict, pulp: str, highs: str) -> dict[str, float]:
    """HiGHS's own run time (median) inside the PuLP path and in the direct highspy solve."""
    return {f"{pulp}_highs": median(r[2] for _, r in timed[pulp]),
            f"{highs}_highs": median(h.run_time for _, h in timed[highs])}


def cold_medians(runs: list[ColdRun], manifests: list[dict]) -> dict[str, float]:
    """Medians over cold runs: wall, the time outside the pipeline's tasks, and
    the build and solve seconds each run's manifest records."""
    return {
        "cold": median(r.wall for r in runs),
        "outside": median(r.wall - sum(sum(t) for t in r.tasks.values()) for r in runs),
        "cold_build": median(m["timings"]["build_seconds"] for m in manifests),
        "cold_solve": median(m["timings"]["solve_seconds"] for m in manifests),
    }


def task_rows(runs: list[ColdRun], outside: float) -> list[tuple]:
    """Table rows: median seconds of each pipeline task in the cold runs, and the rest of the wall time."""
    rows = [(f"&nbsp;&nbsp;task `{name}`", seconds, "", "") for name, seconds in task_medians(runs).items()]
    rows.append(("&nbsp;&nbsp;outside the tasks: interpreter start, imports, fingerprints, Luigi scheduling",
                 outside, "", ""))
    return rows


def largest_parts(runs: list[ColdRun], outside: float, n: int = 3) -> str:
    """The ``n`` largest parts of a cold run's wall time, as text."""
    parts = {f"`{name}`": seconds for name, seconds in task_medians(runs).items()}
    parts["process start and imports (outside the tasks)"] = outside
    top = sorted(parts.items(), key=lambda item: -item[1])[:n]
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in top)


def cache_folder(out: Path, plan: str) -> Path:
    """The one cache folder of ``plan`` in a fresh out dir (named by the run's fingerprint)."""
    folders = sorted((p for p in (out / ".cache" / plan).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    return folders[-1]


def cached_model_inputs(out: Path, plan: str):
    """The ModelInputs exactly as the pipeline solved them (its cache) and the plan."""
    return read_solution(cache_folder(out, plan) / "solution").inputs, resolve_plan(plan).plan


def interleaved(steps: dict, runs: int) -> dict[str, list[tuple[float, object]]]:
    """(seconds, result) of each step for ``runs`` rounds.  Every round runs
    each step once, in order, so a busy spell of a shared machine falls on all
    steps alike instead of on one.  A step is ``fn`` (timed) or ``(setup, fn)``:
    ``setup()`` runs untimed and ``fn(setup())`` is timed."""
    results: dict[str, list[tuple[float, object]]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            setup, fn = step if isinstance(step, tuple) else (None, step)
            arg = setup() if setup is not None else None
            start = time.perf_counter()
            result = fn(arg) if setup is not None else fn()
            results[name].append((time.perf_counter() - start, result))
    return results


def seconds(results: list[tuple[float, object]]) -> list[float]:
    return [t for t, _ in results]


def build_step(inputs):
    """``optimiser.model.build_model`` on the pipeline's ModelInputs."""
    return lambda: model.build_model(inputs)


def pulp_step(inputs, solver_cfg):
    """The pipeline's solve path, ``optimiser.solve.solve`` with the plan's
    solvers, on a freshly built problem (built untimed).  Returns the result,
    the problem and HiGHS's own run time inside that path."""
    def run(prob):
        result = solve(prob, make_solvers(solver_cfg))
        if result.status is not SolveStatus.OPTIMAL:
            raise SystemExit(f"{inputs.name}: PuLP path did not solve to optimality: {result.status}")
        return result, prob, prob.solverModel.getRunTime()
    return lambda: model.build_model(inputs)[0], run


@dataclass
class Highs:
    """One direct highspy solve; ``first``: (HiGHS seconds, primal, dual bound,
    nodes) when the first feasible solution was found."""

    objective: float
    nodes: int  # branch-and-bound nodes
    first: tuple[float, float, float, int]
    run_time: float  # HiGHS's own run time (``getRunTime``), without reading the file
    solver: object

    @property
    def first_gap(self) -> float:
        _, primal, dual, _ = self.first
        return abs(primal - dual) / max(1.0, abs(primal))

    def columns(self) -> dict[str, float]:
        names = [self.solver.getColName(i)[1] for i in range(self.solver.getNumCol())]
        return dict(zip(names, self.solver.getSolution().col_value))


def highs(solver_cfg, **options):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for name, value in {**highs_options(solver_cfg), **options}.items():
        h.setOptionValue(name, value)
    return h


def highspy_step(mps: Path, solver_cfg, **options):
    """The exported model solved directly with highspy (``readModel`` + ``run``),
    the plan's options plus ``options``."""
    def run() -> Highs:
        h = highs(solver_cfg, **options)
        found = []

        def improved(event):
            d = event.data_out
            found.append((d.running_time, d.mip_primal_bound, d.mip_dual_bound, int(d.mip_node_count)))

        h.cbMipImprovingSolution.subscribe(improved)
        h.readModel(str(mps))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SystemExit(f"highspy did not solve {mps.name} to optimality: "
                             f"{h.modelStatusToString(h.getModelStatus())}")
        info = h.getInfo()
        first = found[0] if found else (float("nan"), float("nan"), float("nan"), -1)
        return Highs(info.objective_function_value, int(info.mip_node_count), first, h.getRunTime(), h)
    return run


def lp_relaxation(mps: Path, solver_cfg) -> float:
    """Objective of the model with every integrality dropped."""
    h = highs(solver_cfg)
    h.readModel(str(mps))
    n = h.getNumCol()
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    h.run()
    return h.getInfo().objective_function_value


def table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return lines


def finish(heading: str, text: str, write: bool, raw: dict[str, list[float]],
           pulp_objective: float, highs_objective: float, mip_rel_gap: float) -> int:
    """Print the section and the raw seconds; fail if the PuLP path and direct
    highspy disagree by more than the MIP gap allows (each is within the gap
    of the optimum); with ``write``, replace the section in BENCHMARKS.md."""
    print(text)
    print("raw seconds:", json.dumps({name: [round(t, 4) for t in times] for name, times in raw.items()}))
    if abs(pulp_objective - highs_objective) > max(1e-6, mip_rel_gap) * max(1.0, abs(highs_objective)):
        print(f"objectives differ: PuLP {pulp_objective} vs highspy {highs_objective}", file=sys.stderr)
        return 1
    if write:
        write_section(heading, text)
    return 0


def write_section(heading: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace the section ``heading`` (a ``## `` line) of ``path``, or append
    it; every other section stays as it is."""
    current = path.read_text(encoding="utf-8") if path.is_file() else PREAMBLE
    lines = current.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == heading]
    if starts:
        start = starts[0]
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        tail = lines[end:]
        new = "".join(lines[:start]) + text + ("\n" + "".join(tail) if tail else "")
    else:
        new = current.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    print(Machine(("pulp", "highspy", "pandas", "numpy")).describe())
