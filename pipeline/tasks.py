"""Luigi tasks: one output target each, wired only through ``requires()``.

    ReadInputs -> Access -> Solve -> Verify -> Publish

Intermediate targets live in ``out/.cache/<plan>/<fingerprint>/``; the
fingerprint hashes the plan file, every input file and the engine's code, so
a cached step is reused only when nothing it depends on has changed.
``Publish`` writes the run folder ``out/<plan>/`` atomically; it is complete
when the manifest there carries the current fingerprint.
"""
from __future__ import annotations

import json
import logging
import pickle
import sys
import time
from pathlib import Path

import luigi

from optimiser import explain, network
from optimiser.allocate import ladder_inputs, solve_plan
from optimiser.reallocate import ReplanContext, ladder
from optimiser.verify import report, summary, verify
from pipeline import outputs
from pipeline.config import load_plan, plan_path
from pipeline.inputs import DATA_DIR, read_plan_data
from pipeline.letters import add_documents, load_document_settings
from pipeline.solvers import make_solvers
from pipeline.fingerprint import ROOT, fingerprint
from pipeline.submissions import read_status, read_submissions, submissions_summary

log = logging.getLogger("busetting")


class PlanTask(luigi.Task):
    plan = luigi.Parameter(description="plan name: config/<plan>.yaml")
    fingerprint = luigi.Parameter(description="hash of plan, inputs and code (pipeline.fingerprint)")
    config_dir = luigi.Parameter(default="config", significant=False)
    data_dir = luigi.Parameter(default=str(DATA_DIR), significant=False)
    out_dir = luigi.Parameter(default="out", significant=False)
    # Re-plans: the plan redone and its fingerprint (already part of ``fingerprint``).
    base_plan = luigi.Parameter(default="", significant=False)
    base_fingerprint = luigi.Parameter(default="", significant=False)

    def cache(self, name: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.out_dir) / ".cache" / self.plan / self.fingerprint[:16] / name),
                                 format=luigi.format.Nop)

    def load(self, target: luigi.LocalTarget):
        with target.open("r") as handle:
            return pickle.load(handle)

    def dump(self, obj) -> None:
        with self.output().open("w") as handle:  # LocalTarget writes to a temporary path, then renames
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def clone_for(self, cls):
        return cls(plan=self.plan, fingerprint=self.fingerprint, config_dir=self.config_dir,
                   data_dir=self.data_dir, out_dir=self.out_dir, base_plan=self.base_plan,
                   base_fingerprint=self.base_fingerprint)

    def with_base(self, needs: dict) -> dict:
        """``needs`` plus, for a re-plan, the published run of the plan it redoes (key "base")."""
        if self.base_plan:
            needs["base"] = Publish(plan=self.base_plan, fingerprint=self.base_fingerprint,
                                    config_dir=self.config_dir, data_dir=self.data_dir, out_dir=self.out_dir)
        return needs

    def replan_context(self, plan, net, status) -> ReplanContext | None:
        """What a re-plan knows beyond a fresh plan, from the base run's files and the status file."""
        if not self.base_plan:
            return None
        folder = Path(self.input()["base"].path).parent
        previous = outputs.read_run_allocation(folder)["request"]
        base_need = json.loads((folder / "manifest.json").read_text())["need"]
        return ReplanContext(previous=previous, status=status[0], base_need=base_need,
                             travel_minutes=net.travel, reasonable_minutes=plan.network.reasonable_travel_minutes)


class ReadInputs(PlanTask):
    """Read the plan and every input file; validate; cache the typed frames."""

    def output(self):
        return self.cache("inputs.pkl")

    def run(self):
        start = time.perf_counter()
        plan = load_plan(plan_path(self.plan, Path(self.config_dir)))
        data = read_plan_data(plan, Path(self.data_dir))
        documents = load_document_settings(plan, data.municipalities, Path(self.config_dir), Path(self.data_dir))
        submissions = read_submissions(plan, data.municipalities, Path(self.data_dir))
        status = read_status(plan, data.municipalities, Path(self.data_dir)) if plan.replan else None
        self.dump({"plan": plan, "data": data, "submissions": submissions, "documents": documents,
                   "status": status, "seconds": time.perf_counter() - start})


class Access(PlanTask):
    """Transport network: links -> travel times calibrated to the real commuting
    regions -> access per municipality (school, labour market, school region)."""

    def requires(self):
        return self.clone_for(ReadInputs)

    def output(self):
        return self.cache("access.pkl")

    def run(self):
        inputs = self.load(self.input())
        plan, data = inputs["plan"], inputs["data"]
        net = network.build_network(data.municipalities, data.adjacency, plan.network.reasonable_travel_minutes)
        self.dump({"access": net.access, "network": net})


class Solve(PlanTask):
    """Targets, model, solve; keeps the exact model file and the solver log."""

    def requires(self):
        return self.with_base({"inputs": self.clone_for(ReadInputs), "access": self.clone_for(Access)})

    def output(self):
        return self.cache("solution.pkl")

    def run(self):
        inputs = self.load(self.input()["inputs"])
        access_step = self.load(self.input()["access"])
        access = access_step["access"]
        plan, data = inputs["plan"], inputs["data"]
        folder = Path(self.output().path).parent
        log_path = folder / "solver.log"
        log_path.unlink(missing_ok=True)
        result = solve_plan(data, access, plan, make_solvers(plan.solver, log_path), inputs["submissions"],
                            self.replan_context(plan, access_step["network"], inputs["status"]))
        mps_path = folder / "model.mps"
        result.problem.writeMPS(str(mps_path))
        self.dump({
            "targets": result.targets, "inputs": result.inputs, "result": result.result,
            "allocation": result.allocation, "timings": {"read_seconds": inputs["seconds"], **result.timings},
            "model_mps": mps_path.read_text(), "solver_log": log_path.read_text() if log_path.exists() else "",
            "submissions": submissions_summary(inputs["submissions"]),
            "shortfalls": result.shortfalls,
        })


class Verify(PlanTask):
    """Re-check the allocation against every hard rule, without a solver."""

    def requires(self):
        return self.clone_for(Solve)

    def output(self):
        return self.cache("verify.json")

    def run(self):
        solution = self.load(self.input())
        allocation = solution["allocation"].set_index("kommunenummer")
        violations = verify(solution["inputs"], allocation["request"], allocation["em_request"])
        if violations:
            raise RuntimeError(f"verification failed: {summary(violations)}")
        with self.output().open("w") as handle:
            handle.write(json.dumps(report(violations), indent=2, sort_keys=True).encode() + b"\n")


class Explain(PlanTask):
    """Why each municipality got its number (with capacity duals)."""

    def requires(self):
        return {"inputs": self.clone_for(ReadInputs), "solve": self.clone_for(Solve)}

    def output(self):
        return self.cache("explain.pkl")

    def run(self):
        plan = self.load(self.input()["inputs"])["plan"]
        solution = self.load(self.input()["solve"])
        a = solution["allocation"].set_index("kommunenummer")
        marginal = explain.capacity_marginal_value(solution["inputs"], a["request"], a["em_request"],
                                                   make_solvers(plan.solver))
        frame = explain.explain(plan, solution["targets"], solution["inputs"], solution["allocation"], marginal)
        self.dump({"frame": frame, "markdown": explain.markdown(frame, plan)})


class Publish(PlanTask):
    """Write ``out/<plan>/`` atomically: allocation, county table, model, log, verify, manifest."""

    def requires(self):
        return {"inputs": self.clone_for(ReadInputs), "solve": self.clone_for(Solve), "verify": self.clone_for(Verify),
                "access": self.clone_for(Access), "explain": self.clone_for(Explain)}

    def folder(self) -> Path:
        return Path(self.out_dir) / self.plan

    def output(self):
        return luigi.LocalTarget(str(self.folder() / "manifest.json"))

    def complete(self):
        path = Path(self.output().path)
        if not path.is_file():
            return False
        try:
            return json.loads(path.read_text()).get("fingerprint") == self.fingerprint
        except (OSError, ValueError):
            return False

    def run(self):
        inputs = self.load(self.input()["inputs"])
        solution = self.load(self.input()["solve"])
        with self.input()["verify"].open("r") as handle:
            verify_text = handle.read()
        fp, hashes, code = fingerprint(self.plan, Path(self.config_dir), Path(self.data_dir))
        if fp != self.fingerprint:
            raise RuntimeError(f"plan {self.plan}: input files or code changed during the run; run again")
        extra = {"inputs": hashes, "code_sha256": code, "git_commit": outputs.git_commit(ROOT),
                 "base_plan": self.base_plan or None, "base_fingerprint": self.base_fingerprint or None}
        manifest = outputs.manifest(self.plan, self.fingerprint, inputs["plan"], solution, extra)
        net = self.load(self.input()["access"])["network"]
        explanation = self.load(self.input()["explain"])
        def write(staging: Path) -> None:
            add_documents(staging, inputs, solution["allocation"], manifest)  # letters/, report.html, map.png
            outputs.write_run(staging, solution, verify_text, manifest, net, explanation)

        outputs.publish(self.folder(), write)


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
        return self.with_base({"inputs": self.clone_for(ReadInputs), "access": self.clone_for(Access)})

    def output(self):
        return luigi.LocalTarget(str(Path(self.out_dir) / f"{self.plan}-ladder" /
                                     f"ladder-{self.need_from}-{self.need_to}-{self.need_step}.csv"))

    def run(self):
        inputs = self.load(self.input()["inputs"])
        access_step = self.load(self.input()["access"])
        plan, data = inputs["plan"], inputs["data"]
        context = self.replan_context(plan, access_step["network"], inputs["status"])

        def make_inputs(need):
            return ladder_inputs(data, access_step["access"], plan, inputs["submissions"], context, need)

        def progress(step, steps, need):
            print(f"  Ladder       {step}/{steps}: need {need}", file=sys.stderr, flush=True)

        needs = list(range(self.need_from, self.need_to + 1, self.need_step))
        table = ladder(make_inputs, needs, make_solvers(plan.solver), progress)
        table.columns = [str(n) for n in table.columns]
        with self.output().temporary_path() as path:
            table.reset_index().to_csv(path, index=False, lineterminator="\n")
