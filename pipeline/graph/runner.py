"""Run Luigi tasks: progress lines, one-line errors, an exit status.

The local scheduler is the default; ``scheduler_host`` sends the same graph
through a central ``luigid`` (how planners spread many plans over machines).
"""
from __future__ import annotations

import contextlib
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
    # With a central scheduler: keep waiting while tasks are pending that
    # other workers run, until idle this long (seconds); None: stop as soon as
    # nothing is runnable here.  Workers sharing a graph then all end when it
    # is done instead of the first one leaving while the others work.
    keep_alive_idle_seconds: float | None = None


# While waiting for other workers: poll every 1 to 1.5 s (Luigi's default jitter is up to 5 s).
KEEP_ALIVE_JITTER_SECONDS = 0.5


def run_tasks(tasks: list[luigi.Task], options: SchedulerOptions) -> int:
    """Run ``tasks`` and what they require; 0 done, 2 bad input, 1 any other failure."""
    failures: list[BaseException] = []
    handlers = _progress_handlers(failures, options.quiet)
    try:
        kwargs = {"workers": options.workers, "detailed_summary": True,
                  "log_level": "DEBUG" if options.verbose else "CRITICAL"}
        worker = {}
        if options.scheduler_host:
            kwargs.update(local_scheduler=False, scheduler_host=options.scheduler_host,
                          scheduler_port=options.scheduler_port)
            if options.keep_alive_idle_seconds is not None:
                worker = {"keep_alive": "true", "max_keep_alive_idle_duration": f"{options.keep_alive_idle_seconds:g}",
                          "wait_jitter": f"{KEEP_ALIVE_JITTER_SECONDS:g}"}
        else:
            kwargs["local_scheduler"] = True
        with _worker_config(worker):
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


@contextlib.contextmanager
def _worker_config(values: dict[str, str]):
    """Luigi's ``[worker]`` settings ``values`` for the duration of the block, restored after."""
    config = luigi.configuration.get_config()
    if values and not config.has_section("worker"):
        config.add_section("worker")
    before = {key: config.get("worker", key, None) for key in values}
    for key, value in values.items():
        config.set("worker", key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                config.remove_option("worker", key)
            else:
                config.set("worker", key, value)


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
