"""Benchmark: scenario sweeps (``make sweep``) of plan 2022 on the real data.

Measures, in one run on one machine:

throughput  wall time of ``python -m pipeline sweep --plan 2022 --sweep <s>
            --workers W`` for W = 1 and W = 2, fresh processes into fresh out
            dirs that hold only the transport network (built once beforehand,
            untimed), one after the other in each of ``--runs`` rounds
            (default 4).  The machine is shared: for each sweep the CPU that
            other processes used meanwhile is recorded (``/proc/stat`` less
            this process tree), and the speed-up is the median ratio of the
            rounds in which other jobs used at most 0.15 CPUs.  The sweep
            is ``--scenarios`` (default 30) random weightings of the criteria
            at the plan's own need (the ranges of config/sweeps/2022-weights.yaml,
            seed 2022): every scenario feasible and about equally hard.  The
            wall time includes the process start, resolving every scenario
            and the summary (sweep.html, fan charts).  Throughput is scenarios
            per second of wall time; the same-round ratio W = 1 / W = 2 of the
            wall times is the speed-up (target >= 1.7 on two CPUs).  Also
            timed: the scenario phase, from
            the line the command prints when its tasks start to the last
            scenario's progress line (what more workers divide).
overhead    the same scenarios built and solved in this process
            (``optimiser.allocate.solve_plan`` on the inputs and network the
            pipeline uses: targets, model build, HiGHS), median per scenario,
            interleaved with the rounds above; the per-scenario overhead of a
            sweep is its 1-worker wall time per scenario minus that bare solve.
documents   publishing the first scenario with and without the documents for
            people (the Explain task, letters, report, network graph and
            map), in this process into copies of an out dir holding its solve
            and check, median of ``--runs``.
full sweep  with ``--full``: config/sweeps/2022-weights.yaml (200 scenarios)
            once with 2 workers into a fresh out dir, wall time.

Every sweep run is checked: all scenarios published, each allocation sums to
its need.  ``--write`` replaces the "Sweep" section of BENCHMARKS.md.

    .venv/bin/python bench/sweep.py [--scenarios 30] [--runs 4] [--full] [--write]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common
import yaml
from common import median

from optimiser import network
from optimiser.allocate import solve_plan
from pipeline.graph.runner import SchedulerOptions, run_tasks
from pipeline.graph.tasks import Publish
from pipeline.plans.inputs import read_inputs
from pipeline.plans.sweep import resolve_sweep
from pipeline.publish.network import network_from_json
from pipeline.solvers import make_solvers

SECTION = "## Sweep"
TARGET = 1.7
QUIET_CPUS = 0.15  # other jobs' average CPU use during both sweeps of a round that counts for the speed-up
PLAN = "2022"
FULL_SWEEP = "2022-weights"
PACKAGES = ("pulp", "highspy", "pandas", "numpy", "luigi", "matplotlib")


def bench_sweep(folder: Path, scenarios: int) -> Path:
    """A sweep file of ``scenarios`` random weightings, the ranges of the shipped weights sweep."""
    shipped = yaml.safe_load((common.ROOT / "config" / "sweeps" / f"{FULL_SWEEP}.yaml").read_text(encoding="utf-8"))
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump({**shipped, "description": f"{scenarios} weightings for bench/sweep.py",
                                    "samples": scenarios}, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Run:
    wall: float    # seconds, the whole command
    phase: float   # seconds, from the line printed when its tasks start to the last scenario's line
    others: float  # CPUs busy with other processes on average meanwhile (0 to os.cpu_count())


def busy_cpu_seconds() -> float:
    """CPU seconds every process of the machine has used since boot (``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the sweeps and their workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run_sweep(sweep: Path, out: Path, workers: int) -> Run:
    """One sweep in a fresh process, timed; the process group is killed if it fails."""
    busy, own, start = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "sweep", "--plan", PLAN, "--sweep", str(sweep),
                                "--out", str(out), "--workers", str(workers)], cwd=common.ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    begun = last = None
    lines = []
    try:
        for line in process.stderr:
            lines.append(line)
            if line.startswith("busetting: sweep"):
                begun = time.perf_counter()
            elif line.startswith("  scenario "):
                last = time.perf_counter()
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    wall = time.perf_counter() - start
    others = max(0.0, (busy_cpu_seconds() - busy) - (own_cpu_seconds() - own)) / wall
    if process.returncode != 0 or begun is None or last is None:
        raise SystemExit(f"sweep with {workers} worker(s) failed (exit {process.returncode}):\n"
                         + "".join(lines)[-3000:])
    return Run(wall, last - begun, others)


def check(out: Path, sweep_name: str, count: int) -> None:
    folder = out / f"{PLAN}-sweep-{sweep_name}"
    manifest = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    if manifest["published"] != count:
        raise SystemExit(f"{folder}: {manifest['published']} of {count} scenarios published")
    for run in (folder / "scenarios").iterdir():
        run_manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        total = sum(int(line.split(",")[6]) for line in (run / "allocation.csv").read_text().splitlines()[1:])
        if total != run_manifest["need"]:
            raise SystemExit(f"{run}: requests sum to {total}, not {run_manifest['need']}")


def bare_solves(sweep_path: Path, net: network.Network):
    """One call per round: build and solve every scenario of the sweep in this process;
    returns the seconds of each."""
    sweep = resolve_sweep(PLAN, str(sweep_path), Path("config"), Path("data"))  # as the command resolves it

    def solve_all() -> list[float]:
        times = []
        for resolved in sweep.resolved:
            inputs = read_inputs(resolved)  # parsed before timing: the sweep's tasks share the parse too
            start = time.perf_counter()
            solve_plan(inputs.data, net.access, inputs.plan, make_solvers(inputs.plan.solver), inputs.submissions)
            times.append(time.perf_counter() - start)
        return times
    return solve_all


def publishing(sweep_path: Path, solved: Path, scratch: Path, runs: int) -> dict[bool, list[float]]:
    """Seconds to publish the sweep's first scenario with and without the documents for
    people (with: the Explain task, letters, report, network graph and map), each into a
    fresh copy of an out dir that already holds the network and the scenario's solve
    and check; interleaved, ``runs`` times each."""
    sweep = resolve_sweep(PLAN, str(sweep_path), Path("config"), Path("data"))  # as the command resolves it
    resolved = sweep.resolved[0]
    cache = solved / ".cache"
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(runs):
        for documents in (True, False):
            out = scratch / f"publish-{i}-{documents}"
            for part in ("network", f"{PLAN}/{resolved.fingerprint[:16]}"):
                shutil.copytree(cache / part, out / ".cache" / part)
            task = Publish(plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=str(out), resolved=resolved,
                           run_folder=f"published-{documents}", documents=documents)
            start = time.perf_counter()
            if run_tasks([task], SchedulerOptions(quiet=True)) != 0:
                raise SystemExit(f"publishing with documents={documents} failed")
            times[documents].append(time.perf_counter() - start)
            shutil.rmtree(out)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=30)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--full", action="store_true", help=f"also time config/sweeps/{FULL_SWEEP}.yaml (200)")
    parser.add_argument("--write", action="store_true", help="replace the Sweep section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    machine = common.Machine(PACKAGES)
    rounds: list[dict[int, Run]] = []
    bare: list[float] = []
    full = None
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch:
        scratch = Path(scratch)
        sweep = bench_sweep(scratch, args.scenarios)
        warm = scratch / "warm"
        common.cold_run(["allocate", "--plan", PLAN, "--out", str(warm)])  # builds the network, untimed
        network_cache = warm / ".cache" / "network"
        net_file = next(network_cache.rglob("network.json"))
        net = network_from_json(json.loads(net_file.read_text(encoding="utf-8")))
        solve_all = bare_solves(sweep, net)
        for round_ in range(args.runs):
            rounds.append({})
            for workers in (1, 2):
                out = scratch / f"out-{round_}-{workers}"
                shutil.copytree(network_cache, out / ".cache" / "network")
                rounds[-1][workers] = run_sweep(sweep, out, workers)
                check(out, "bench", args.scenarios)
                if round_ == args.runs - 1 and workers == 1:
                    published = publishing(sweep, out, scratch, args.runs)
                shutil.rmtree(out)
            bare.extend(solve_all())
        if args.full:
            out = scratch / "full"
            shutil.copytree(network_cache, out / ".cache" / "network")
            full = run_sweep(Path(FULL_SWEEP), out, 2)
            check(out, FULL_SWEEP, 200)
    documents = (median(published[True]), median(published[False]))
    text = section(args, machine.describe(), rounds, median(bare), documents, full)
    print(text)
    print("raw:", json.dumps({"rounds": [{w: dataclasses.asdict(r) for w, r in pair.items()} for pair in rounds],
                              "bare_solve": [round(t, 3) for t in bare],
                              "full": dataclasses.asdict(full) if full else None,
                              "publish_with_documents": [round(t, 3) for t in published[True]],
                              "publish_without": [round(t, 3) for t in published[False]]}))
    if args.write:
        common.write_section(SECTION, text)
    return 0


def section(args, machine: str, rounds: list[dict[int, Run]], per_bare: float, documents: tuple[float, float],
            full: Run | None) -> str:
    n = args.scenarios
    one, two = median(r[1].wall for r in rounds), median(r[2].wall for r in rounds)
    quiet = [r for r in rounds if max(r[1].others, r[2].others) <= QUIET_CPUS]
    ratio = median(r[1].wall / r[2].wall for r in quiet) if quiet else float("nan")
    phase_ratio = median(r[1].phase / r[2].phase for r in quiet) if quiet else float("nan")
    verdict = "met" if quiet and ratio >= TARGET else "**not met**" if quiet else "not measured (no quiet round)"
    rows = [
        (f"sweep of {n} scenarios, 1 worker: wall seconds (all rounds)", one, "", ""),
        (f"sweep of {n} scenarios, 2 workers: wall seconds (all rounds)", two, "", ""),
        ("throughput, 1 worker: scenarios per second (all rounds)", n / one, "", ""),
        ("throughput, 2 workers: scenarios per second (all rounds)", n / two, "", ""),
        (f"speed-up, 2 workers / 1 worker, same round (the {len(quiet)} quiet rounds)", ratio, f">= {TARGET:g}",
         verdict),
        ("&nbsp;&nbsp;the same, scenario phase only (tasks started to last scenario done)", phase_ratio, "", ""),
        ("bare solve per scenario, in-process (targets, build, HiGHS): seconds", per_bare, "", ""),
        ("sweep per scenario, 1 worker (wall / scenarios): seconds", one / n, "", ""),
        ("overhead per scenario above the bare solve, 1 worker: seconds", one / n - per_bare, "", ""),
        ("sweep per scenario, 2 workers (wall / scenarios): seconds", two / n, "", ""),
        ("publishing one scenario with the documents for people (Explain, letters, report, map): seconds",
         documents[0], "", ""),
        ("publishing one scenario without them, as a sweep does: seconds", documents[1], "", ""),
    ]
    if full is not None:
        rows.append((f"`config/sweeps/{FULL_SWEEP}.yaml`, 200 scenarios, 2 workers: wall seconds (once; other "
                     f"jobs {full.others:.2f} CPUs)", full.wall, "", ""))
    per_round = ["| round | 1 worker: wall s | other jobs, CPUs | 2 workers: wall s | other jobs, CPUs | ratio |",
                 "|---|---|---|---|---|---|"]
    per_round += [f"| {i + 1} | {r[1].wall:.1f} | {r[1].others:.2f} | {r[2].wall:.1f} | {r[2].others:.2f} | "
                  f"{r[1].wall / r[2].wall:.2f}{'' if r in quiet else ' (not quiet)'} |" for i, r in enumerate(rounds)]
    return "\n".join([
        SECTION, "",
        "`bench/sweep.py` (`make bench` runs it; `--write` rewrites this section, `--full` adds the 200-scenario",
        f"sweep): plan {PLAN} on the real data, {n} random weightings of the criteria at the plan's own need (the",
        f"ranges of `config/sweeps/{FULL_SWEEP}.yaml`), each sweep in a fresh process into a fresh out dir that",
        "holds only the transport network; 1 and 2 workers one after the other in each of "
        f"{args.runs} rounds. The wall time includes the process start, resolving every scenario and the",
        "summary (tables, fan charts, sweep.html). The machine is shared: for every sweep the bench records the",
        "CPU other processes used meanwhile (`/proc/stat` less its own), and the speed-up is the median ratio",
        f"of the rounds in which other jobs used at most {QUIET_CPUS:g} CPUs during both sweeps (a busy core",
        "halves what two workers can do). The bare solve is the same scenarios built and solved in the bench's",
        "own process (`optimiser.allocate.solve_plan` on the pipeline's inputs and network), median per",
        "scenario over the rounds.", "",
        f"Machine: {machine}.", "",
        *common.table(("step", "median", "target", ""), rows), "",
        *per_round, "",
        f"Per scenario a sweep with one worker spends {one / n:.2f} s against {per_bare:.2f} s for the bare",
        "solve; the rest is Luigi's scheduling, reading the solution back for the independent check and for",
        "publishing, writing the run folder (the model file, the manifest with the SHA-256 of every file) and",
        f"the scenario's share of the process start and the summary. Two workers on two CPUs give {ratio:.2f}×",
        f"the throughput of one in the quiet rounds (target ≥ {TARGET:g}×: {verdict}). Leaving out the",
        f"documents for people saves {documents[0] - documents[1]:.2f} s per scenario ({documents[0]:.2f} s against",
        f"{documents[1]:.2f} s to publish one, the Explain task included), about "
        f"{(documents[0] - documents[1]) / (one / n + documents[0] - documents[1]):.0%} of what a scenario would",
        "take with them.",
        ""])

if __name__ == "__main__":
    sys.exit(main())
