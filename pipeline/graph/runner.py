"""Run Luigi tasks: progress lines, one-line errors, an exit status.

The local scheduler is the default; ``scheduler_host`` sends the same graph
through a central ``luigid`` (how planners spread many plans over machines).
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import luigi

from pipeline.errors import InputError


@dataclass(frozen=True)
class SchedulerOptions:
    scheduler_host: str | None = None
    scheduler_port: int = 8082
    workers: int = 1
    verbose: bool = False
    quiet: bool = False


def run_tasks(tasks: list[luigi.Task], options: SchedulerOptions) -> int:
    """Run ``tasks`` and what they require; 0 done, 2 bad input, 1 any other failure."""
    failures: list[BaseException] = []
    handlers = _progress_handlers(failures, options.quiet)
    try:
        kwargs = {"workers": options.workers, "detailed_summary": True,
                  "log_level": "DEBUG" if options.verbose else "CRITICAL"}
        if options.scheduler_host:
            kwargs.update(local_scheduler=False, scheduler_host=options.scheduler_host,
                          scheduler_port=options.scheduler_port)
        else:
            kwargs["local_scheduler"] = True
        result = luigi.build(tasks, **kwargs)
    finally:
        for event, handler in handlers:
            luigi.Task._event_callbacks[luigi.Task][event].discard(handler)
    if failures:
        exc = failures[0]
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    if not result.scheduling_succeeded:
        print(f"error: the pipeline did not complete ({result.status.name}); rerun with --verbose", file=sys.stderr)
        return 1
    return 0


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
        luigi.Task.event_handler(event)(handler)
    logging.getLogger("luigi-interface").propagate = False
    return handlers
