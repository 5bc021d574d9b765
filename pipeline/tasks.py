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
import time
from pathlib import Path

import luigi

from optimiser import network
from optimiser.allocate import solve_plan
from optimiser.verify import report, verify
from pipeline import outputs
from pipeline.config import load_plan, plan_path
from pipeline.inputs import DATA_DIR, read_plan_data
from pipeline.letters import add_documents, load_document_settings
from pipeline.solvers import make_solvers

log = logging.getLogger("busetting")


class PlanTask(luigi.Task):
    plan = luigi.Parameter(description="plan name: config/<plan>.yaml")
    fingerprint = luigi.Parameter(description="hash of plan, inputs and code (pipeline.fingerprint)")
    config_dir = luigi.Parameter(default="config", significant=False)
    data_dir = luigi.Parameter(default=str(DATA_DIR), significant=False)
    out_dir = luigi.Parameter(default="out", significant=False)

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
                   data_dir=self.data_dir, out_dir=self.out_dir)


class ReadInputs(PlanTask):
    """Read the plan and every input file; validate; cache the typed frames."""

    def output(self):
        return self.cache("inputs.pkl")

    def run(self):
        start = time.perf_counter()
        plan = load_plan(plan_path(self.plan, Path(self.config_dir)))
        data = read_plan_data(plan, Path(self.data_dir))
        documents = load_document_settings(plan, data.municipalities, Path(self.config_dir), Path(self.data_dir))
        self.dump({"plan": plan, "data": data, "documents": documents, "seconds": time.perf_counter() - start})


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
        return {"inputs": self.clone_for(ReadInputs), "access": self.clone_for(Access)}

    def output(self):
        return self.cache("solution.pkl")

    def run(self):
        inputs = self.load(self.input()["inputs"])
        access = self.load(self.input()["access"])["access"]
        plan, data = inputs["plan"], inputs["data"]
        folder = Path(self.output().path).parent
        log_path = folder / "solver.log"
        log_path.unlink(missing_ok=True)
        result = solve_plan(data, access, plan, make_solvers(plan.solver, log_path))
        mps_path = folder / "model.mps"
        result.problem.writeMPS(str(mps_path))
        self.dump({
            "targets": result.targets, "inputs": result.inputs, "result": result.result,
            "allocation": result.allocation, "timings": {"read_seconds": inputs["seconds"], **result.timings},
            "model_mps": mps_path.read_text(), "solver_log": log_path.read_text() if log_path.exists() else "",
        })


class Verify(PlanTask):
    """Re-check the allocation against every hard rule, without a solver."""

    def requires(self):
        return self.clone_for(Solve)

    def output(self):
        return self.cache("verify.json")

    def run(self):
        solution = self.load(self.input())
        allocation = solution["allocation"].set_index("kommunenummer")["request"]
        violations = verify(solution["inputs"], allocation)
        if violations:
            first = violations[0]
            raise RuntimeError(f"verification failed: {len(violations)} violation(s); first: "
                               f"{first.rule} at {first.key}: {first.detail}")
        with self.output().open("w") as handle:
            handle.write(json.dumps(report(violations), indent=2, sort_keys=True).encode() + b"\n")


class Publish(PlanTask):
    """Write ``out/<plan>/`` atomically: allocation, county table, model, log, verify, manifest."""

    manifest_extra = luigi.DictParameter(default={}, significant=False)

    def requires(self):
        return {"inputs": self.clone_for(ReadInputs), "solve": self.clone_for(Solve), "verify": self.clone_for(Verify),
                "access": self.clone_for(Access)}

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
        extra = luigi.freezing.recursively_unfreeze(self.manifest_extra)
        manifest = outputs.manifest(self.plan, self.fingerprint, inputs["plan"], solution, extra)
        net = self.load(self.input()["access"])["network"]

        def write(staging: Path) -> None:
            add_documents(staging, inputs, solution["allocation"], manifest)  # letters/, report.html, map.png
            outputs.write_run(staging, solution, verify_text, manifest, net)

        outputs.publish(self.folder(), write)
