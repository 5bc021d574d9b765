"""Luigi tasks: one output target each, wired only through ``requires()``.

    Network -> Solve -> Verify, Explain -> Publish        (Ladder: Network -> Ladder)
    Publish, Network -> Place, PlaceYear                  (pipeline.graph.placement)

A task's parameters are the plan's name and the fingerprint of everything it
reads (``pipeline.plans.resolve``); the resolved plan itself rides along as a
private, insignificant parameter, so no task parses a plan or hashes a file
again.  Intermediate results live in ``out/.cache/``: the network under the
hash of its own inputs (shared by every plan on the same data), the rest
under ``<plan>/<fingerprint>/``.  They are JSON, CSV and text only, never
pickles.  ``Publish`` writes the run folder ``out/<plan>/`` atomically; it
is complete when the manifest there carries the current fingerprint.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import luigi
from luigi.parameter import ParameterVisibility

from optimiser import explain, network
from optimiser.allocate import ladder_inputs, solve_plan
from optimiser.reallocate import ReplanContext, ladder
from optimiser.solve import InfeasiblePlan
from optimiser.verify import report, verify, violations_line
from pipeline.inputs.source import Source
from pipeline.inputs.submissions import submissions_summary
from pipeline.plans.inputs import PlanInputs, read_inputs, replan_context
from pipeline.plans.resolve import ResolvedPlan, resolved_plan
from pipeline.publish.files import atomic_file, atomic_folder, csv_text
from pipeline.publish.manifest import MANIFEST, read_manifest, run_is_current
from pipeline.publish.network import network_from_json, network_to_json
from pipeline.publish.run_folder import write_run
from pipeline.publish.solution import (
    Solution,
    infeasibility,
    read_allocation,
    read_solution,
    write_infeasible,
    write_solution,
)
from pipeline.solvers import make_solvers

CACHE = ".cache"
EXPLAIN_FILES = ("explain.csv", "explain.md")


class VerificationFailed(RuntimeError):
    """An allocation broke a hard rule the independent checker knows."""


class PrivateParameter(luigi.Parameter):
    """Carries an object resolved once (``kind``) that a task's fingerprint
    was computed from.  Insignificant and private: it never enters a task id
    and is never sent to a scheduler; a worker on another machine resolves it
    itself.  None when the task was rebuilt from its public parameters."""

    kind: type = object

    def __init__(self, **kwargs):
        super().__init__(significant=False, visibility=ParameterVisibility.PRIVATE, **kwargs)

    def _warn_on_wrong_param_type(self, param_name, param_value):
        if not isinstance(param_value, self.kind) and param_value is not None:
            raise TypeError(f"{param_name} must be a {self.kind.__name__}, got {type(param_value).__name__}")


class ResolvedPlanParameter(PrivateParameter):
    """Carries the ``ResolvedPlan``.  A plan task rebuilt from its public
    parameters (a dynamic dependency) leaves it out and takes the plan this
    process resolved under its fingerprint."""

    kind = ResolvedPlan


class PlanTask(luigi.Task):
    plan = luigi.Parameter(description="plan name: config/<plan>.yaml")
    fingerprint = luigi.Parameter(description="hash of plan, inputs and code (pipeline.plans.resolve)")
    out_dir = luigi.Parameter(default="out", significant=False)
    resolved = ResolvedPlanParameter(default=None, description="the resolved plan (default: by fingerprint)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.resolved is None:
            self.resolved = resolved_plan(self.fingerprint)

    @property
    def run_inputs(self) -> PlanInputs:
        return read_inputs(self.resolved)

    def cache(self, name: str) -> Path:
        return Path(self.out_dir) / CACHE / self.plan / self.fingerprint[:16] / name

    def task_for(self, cls, resolved: ResolvedPlan | None = None, **params):
        resolved = resolved or self.resolved
        return cls(plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=self.out_dir, resolved=resolved,
                   **params)

    def network_task(self) -> Network:
        return Network(key=self.resolved.network_key, out_dir=self.out_dir, resolved=self.resolved)

    def base_task(self) -> dict:
        """For a re-plan, the published run of the plan it redoes (key "base")."""
        return {"base": self.task_for(Publish, self.resolved.base)} if self.resolved.base is not None else {}

    def replan_context(self, net: network.Network) -> tuple[ReplanContext | None, dict[str, str]]:
        """What a re-plan knows beyond a fresh plan, and the files it read for it (path -> SHA-256)."""
        if self.resolved.base is None:
            return None, {}
        source = Source.read(Path(self.input()["base"].path).parent / "allocation.csv")
        previous = read_allocation(source)["request"]
        return replan_context(self.run_inputs, net, previous), {str(source.path): source.sha256}


class Network(luigi.Task):
    """Transport network: links -> travel times calibrated to the real commuting
    regions -> access per municipality.  Keyed by the hash of its own inputs."""

    key = luigi.Parameter(description="hash of the network's data files, population year, travel time and code")
    out_dir = luigi.Parameter(default="out", significant=False)
    resolved = ResolvedPlanParameter(description="the resolved plan whose network this is")

    def output(self):
        return luigi.LocalTarget(str(Path(self.out_dir) / CACHE / "network" / self.key[:16] / "network.json"))

    def run(self):
        inputs = read_inputs(self.resolved)
        net = network.build_network(inputs.data.municipalities, inputs.data.adjacency,
                                    self.resolved.plan.network.reasonable_travel_minutes)
        atomic_file(self.out_dir, Path(self.output().path), json.dumps(network_to_json(net)))

    def load(self) -> network.Network:
        """The network, read once per process for as long as its file stays the same (a sweep's
        scenarios all load it)."""
        path = Path(self.output().path)
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in _LOADED_NETWORKS:
            _LOADED_NETWORKS.clear()
            _LOADED_NETWORKS[key] = network_from_json(json.loads(path.read_text(encoding="utf-8")))
        return _LOADED_NETWORKS[key]


# The last network a task of this process loaded: (path, mtime, size) -> Network.
_LOADED_NETWORKS: dict[tuple, network.Network] = {}


class Solve(PlanTask):
    """Targets, model, solve; keeps the exact model file and the solver log.

    An infeasible plan is recorded with its diagnosis (``infeasible.json``)
    and the task is done: the tasks after it raise the same ``InfeasiblePlan``
    when they load the solution, and a sweep records the scenario as
    infeasible without solving it again."""

    def requires(self):
        return {"network": self.network_task(), **self.base_task()}

    def output(self):
        return luigi.LocalTarget(str(self.cache("solution")))

    def run(self):
        inputs = self.run_inputs
        net = self.requires()["network"].load()
        context, read = self.replan_context(net)

        def write(folder: Path) -> None:
            log_path = folder / "solver.log"
            try:
                result = solve_plan(inputs.data, net.access, inputs.plan, make_solvers(inputs.plan.solver, log_path),
                                    inputs.submissions, context)
            except InfeasiblePlan as exc:
                write_infeasible(folder, exc)
                return
            result.problem.writeMPS(str(folder / "model.mps"))
            write_solution(folder, Solution(
                targets=result.targets, inputs=result.inputs, result=result.result, allocation=result.allocation,
                timings=result.timings, model_mps=(folder / "model.mps").read_text(encoding="utf-8"),
                solver_log=log_path.read_text(encoding="utf-8") if log_path.exists() else "",
                submissions=submissions_summary(inputs.submissions), shortfalls=result.shortfalls,
                read_files=read))

        atomic_folder(self.out_dir, Path(self.output().path), write)

    def load(self) -> Solution:
        return read_solution(Path(self.output().path))

    def infeasible(self) -> InfeasiblePlan | None:
        """The recorded infeasibility (after the task ran), None when a solution was found."""
        return infeasibility(Path(self.output().path))


class Verify(PlanTask):
    """Re-check the allocation against every hard rule, without a solver."""

    def requires(self):
        return self.task_for(Solve)

    def output(self):
        return luigi.LocalTarget(str(self.cache("verify.json")))

    def run(self):
        solution = self.requires().load()
        allocation = solution.allocation.set_index("kommunenummer")
        violations = verify(solution.inputs, allocation["request"], allocation["em_request"])
        if violations:
            raise VerificationFailed(f"verification failed: {violations_line(violations)}")
        atomic_file(self.out_dir, Path(self.output().path), json.dumps(report(violations), indent=2, sort_keys=True)
                    + "\n")


class Explain(PlanTask):
    """Why each municipality got its number (with capacity duals)."""

    def requires(self):
        return self.task_for(Solve)

    def output(self):
        return luigi.LocalTarget(str(self.cache("explain")))

    def run(self):
        plan = self.resolved.plan
        solution = self.requires().load()
        a = solution.allocation.set_index("kommunenummer")
        marginal = explain.capacity_marginal_value(solution.inputs, a["request"], a["em_request"],
                                                   make_solvers(plan.solver))
        frame = explain.explain(plan, solution.targets, solution.inputs, solution.allocation, marginal)

        def write(folder: Path) -> None:
            (folder / "explain.csv").write_text(csv_text(frame), encoding="utf-8")
            (folder / "explain.md").write_text(explain.markdown(frame, plan), encoding="utf-8")

        atomic_folder(self.out_dir, Path(self.output().path), write)


class Publish(PlanTask):
    """Write ``out/<plan>/`` atomically: allocation, tables, model, log, verify,
    explanations, network files, letters and report, manifest last.

    ``run_folder`` publishes into another folder under the output root (a
    sweep's scenario: ``<plan>-sweep-<name>/scenarios/<id>``); ``documents``
    false leaves out what only people read (explanations, network graph and
    map, letters, report), so the Explain task is not needed either."""

    run_folder = luigi.OptionalParameter(default=None,
                                         description="run folder under out_dir (default: the plan's name)")
    documents = luigi.BoolParameter(default=True, description="write the documents for people")

    def requires(self):
        explain = {"explain": self.task_for(Explain)} if self.documents else {}
        return {"network": self.network_task(), "solve": self.task_for(Solve), "verify": self.task_for(Verify),
                **explain, **self.base_task()}

    def folder(self) -> Path:
        return Path(self.out_dir) / (self.run_folder or self.plan)

    def output(self):
        return luigi.LocalTarget(str(self.folder() / MANIFEST))

    def complete(self):
        return run_is_current(read_manifest(self.output().path), self.fingerprint, self.documents)

    def run(self):
        needs = self.requires()
        solution = needs["solve"].load()
        explained = {name: (Path(self.input()["explain"].path) / name).read_bytes()
                     for name in EXPLAIN_FILES if self.documents}
        verify_json = Path(self.input()["verify"].path).read_bytes()
        hashes = {**self.resolved.input_hashes(), **solution.read_files}

        def write(staging: Path) -> None:
            write_run(staging, self.resolved, solution, needs["network"].load(), explained, verify_json, hashes,
                      Path(self.input()["base"].path).parent if "base" in self.input() else None,
                      self.run_inputs if self.documents else None)

        atomic_folder(self.out_dir, self.folder(), write)


class Ladder(PlanTask):
    """Requests for an increasing list of needs; no municipality ever falls.

    County recommendations are numbers for the plan's own need and are left
    out of the ladder; everything else (capacity, access, KS, EM, re-plan
    bounds) applies at every step.
    """

    need_from = luigi.IntParameter()
    need_to = luigi.IntParameter()
    need_step = luigi.IntParameter()

    def requires(self):
        return {"network": self.network_task(), **self.base_task()}

    def output(self):
        return luigi.LocalTarget(str(Path(self.out_dir) / f"{self.plan}-ladder" /
                                     f"ladder-{self.need_from}-{self.need_to}-{self.need_step}.csv"))

    def run(self):
        inputs = self.run_inputs
        plan = inputs.plan
        net = self.requires()["network"].load()
        context, _ = self.replan_context(net)

        def progress(step, steps, need):
            print(f"  Ladder       {step}/{steps}: need {need}", file=sys.stderr, flush=True)

        needs = list(range(self.need_from, self.need_to + 1, self.need_step))
        table = ladder(ladder_inputs(inputs.data, net.access, plan, inputs.submissions, context), needs,
                       make_solvers(plan.solver), progress)
        table.columns = [str(n) for n in table.columns]
        atomic_file(self.out_dir, Path(self.output().path), csv_text(table.reset_index()))
