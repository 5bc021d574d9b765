"""Luigi tasks of a sweep: one ``Scenario`` per scenario, then ``SweepReport``.

    Network -> Solve -> Scenario -(published)-> Publish(run_folder, no documents) <- Verify
                              \\-(infeasible)-> scenarios/<id>/infeasible.json
    Scenario x N -> SweepReport

A scenario is a plan of its own (its fingerprint comes from the plan and the
scenario's overrides), so its Solve and Verify are the same tasks as in
``make allocate`` and share their cache; nothing runs twice, and a sweep that
is stopped and started again runs only what is missing.  ``Scenario`` waits
for the solve and then either publishes the run into
``<plan>-sweep-<name>/scenarios/<id>/`` (a dynamic dependency, so an
infeasible scenario never asks for a Publish that must fail) or records the
infeasibility with its one-line diagnosis.  Workers on several machines
share a sweep through one central ``luigid``: every worker resolves the sweep
itself and arrives at the same task ids.
"""
from __future__ import annotations

import sys
from pathlib import Path

import luigi

from pipeline.graph.tasks import PlanTask, PrivateParameter, Publish, Solve
from pipeline.plans.sweep import MAX_SCENARIOS, ResolvedSweep
from pipeline.publish.files import atomic_folder, write_json
from pipeline.publish.manifest import manifest_matches, run_is_current
from pipeline.publish.sweep import INFEASIBLE_RECORD, SWEEP_MANIFEST, read_outcome, write_sweep


class ResolvedSweepParameter(PrivateParameter):
    """Carries the ``ResolvedSweep``."""

    kind = ResolvedSweep


class Scenario(PlanTask):
    """One scenario: published and verified, or recorded as infeasible."""

    run_folder = luigi.Parameter(description="the scenario's folder under out_dir")
    position = luigi.IntParameter(default=0, significant=False, description="the scenario's place in the sweep")

    @property
    def priority(self):
        """Earlier scenarios first, each finished (checked, published) before later ones
        start: Luigi runs the highest priority first and gives a task's priority to
        what it requires, the Publish it yields included."""
        return MAX_SCENARIOS - self.position

    def requires(self):
        return self.task_for(Solve)

    def folder(self) -> Path:
        return Path(self.out_dir) / self.run_folder

    def publish_task(self) -> Publish:
        return self.task_for(Publish, run_folder=self.run_folder, documents=False)

    def complete(self):
        record = read_outcome(self.folder())
        if record is not None and record["status"] == "infeasible":
            return record.get("fingerprint") == self.fingerprint
        # A published scenario's record is its run's manifest: current as a run without documents.
        return run_is_current(record, self.fingerprint, documents=False)

    def run(self):
        infeasible = self.requires().infeasible()
        if infeasible is None:
            yield self.publish_task()
            status = "published"
        else:
            record = {"status": "infeasible", "plan": self.plan, "fingerprint": self.fingerprint,
                      "overrides": self.resolved.overrides, "diagnosis": infeasible.detail}
            atomic_folder(self.out_dir, self.folder(), lambda staging: write_json(record, staging / INFEASIBLE_RECORD))
            status = f"infeasible: {infeasible.detail}"
        print(f"  scenario {Path(self.run_folder).name} {status}", file=sys.stderr, flush=True)


class SweepReport(luigi.Task):
    """What the planner gets from a sweep: ranges, sensitivities, fan charts,
    ``sweep.html`` and one answer per municipality, with ``sweep.json`` last."""

    plan = luigi.Parameter(description="plan name: config/<plan>.yaml")
    sweep = luigi.Parameter(description="sweep name: config/sweeps/<sweep>.yaml")
    fingerprint = luigi.Parameter(description="hash of the sweep file and every scenario's fingerprint")
    out_dir = luigi.Parameter(default="out", significant=False)
    resolved = ResolvedSweepParameter(description="the resolved sweep")

    def requires(self):
        s = self.resolved
        return [Scenario(plan=r.name, fingerprint=r.fingerprint, out_dir=self.out_dir, resolved=r,
                         run_folder=s.run_folder(scenario.id), position=i)
                for i, (scenario, r) in enumerate(zip(s.scenarios, s.resolved))]

    def folder(self) -> Path:
        return Path(self.out_dir) / self.resolved.folder

    def output(self):
        return luigi.LocalTarget(str(self.folder() / SWEEP_MANIFEST))

    def complete(self):
        return manifest_matches(self.output().path, self.fingerprint)

    def run(self):
        write_sweep(Path(self.out_dir), self.resolved)

