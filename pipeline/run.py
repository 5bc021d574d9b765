"""Run the Luigi graph for one plan: fingerprint, progress lines, one-line errors.

The local scheduler is the default; ``scheduler_host`` sends the same graph
through a central ``luigid`` (how planners spread many plans over machines).
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import luigi

from pipeline import tasks
from pipeline.config import load_plan, plan_path
from pipeline.errors import InputError
from pipeline.fingerprint import base_plan_name, fingerprint
from pipeline.inputs import DATA_DIR

@dataclass
class RunOptions:
    plan: str
    config_dir: Path = Path("config")
    data_dir: Path = DATA_DIR
    out_dir: Path = Path("out")
    scheduler_host: str | None = None
    scheduler_port: int = 8082
    workers: int = 1
    verbose: bool = False
    quiet: bool = False
    failures: list = field(default_factory=list)


def build(opts: RunOptions, final_task_cls=tasks.Publish, **task_params) -> int:
    """Run the graph up to ``final_task_cls``; return the process exit status."""
    try:
        load_plan(plan_path(opts.plan, opts.config_dir))  # a bad plan file stops here, before any task
        check_base_plans(opts.plan, opts.config_dir)
        fp, _, _ = fingerprint(opts.plan, opts.config_dir, opts.data_dir)
        base = base_plan_name(opts.plan, opts.config_dir)
        base_fp = fingerprint(base, opts.config_dir, opts.data_dir)[0] if base is not None else ""
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    task = final_task_cls(plan=opts.plan, fingerprint=fp, config_dir=str(opts.config_dir),
                          data_dir=str(opts.data_dir), out_dir=str(opts.out_dir), base_plan=base or "",
                          base_fingerprint=base_fp, **task_params)
    failures: list[BaseException] = []
    handlers = _progress_handlers(failures, opts.quiet)
    try:
        kwargs = {"workers": opts.workers, "detailed_summary": True,
                  "log_level": "DEBUG" if opts.verbose else "CRITICAL"}
        if opts.scheduler_host:
            kwargs.update(local_scheduler=False, scheduler_host=opts.scheduler_host,
                          scheduler_port=opts.scheduler_port)
        else:
            kwargs["local_scheduler"] = True
        result = luigi.build([task], **kwargs)
    finally:
        for event, handler in handlers:
            tasks.PlanTask._event_callbacks[tasks.PlanTask][event].discard(handler)
    if failures:
        exc = failures[0]
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    if not result.scheduling_succeeded:
        print(f"error: the pipeline did not complete ({result.status.name}); rerun with --verbose",
              file=sys.stderr)
        return 1
    opts.failures = failures
    return 0


def check_base_plans(plan: str, config_dir: Path) -> None:
    """Each ``replan.base_plan`` in the chain exists, loads, and is not a re-plan of itself."""
    chain = [plan]
    while (base := base_plan_name(chain[-1], config_dir)) is not None:
        where = f"{plan_path(chain[-1], config_dir)}:replan.base_plan"
        if base in chain:
            raise InputError(where, f"base plan {base!r} leads back to itself ({' -> '.join(chain + [base])})")
        if not plan_path(base, config_dir).is_file():
            raise InputError(where, f"base plan {base!r} not found ({plan_path(base, config_dir)})")
        load_plan(plan_path(base, config_dir))
        chain.append(base)


def _progress_handlers(failures: list, quiet: bool):
    started = {}

    def on_start(task):
        started[task.task_id] = time.perf_counter()
        if not quiet:
            print(f"  {task.task_family:<12} running ...", file=sys.stderr, flush=True)

    def on_success(task):
        if not quiet:
            seconds = time.perf_counter() - started.get(task.task_id, time.perf_counter())
            print(f"  {task.task_family:<12} done in {seconds:.2f} s", file=sys.stderr, flush=True)

    def on_failure(task, exc):
        failures.append(exc)

    handlers = [(luigi.Event.START, on_start), (luigi.Event.SUCCESS, on_success), (luigi.Event.FAILURE, on_failure)]
    for event, handler in handlers:
        tasks.PlanTask.event_handler(event)(handler)
    logging.getLogger("luigi-interface").propagate = False
    return handlers
