"""Processes the pipeline tests start, and how they are stopped: a real central
``luigid`` on 127.0.0.1 (a free port, a temporary state file and log folder)
and ``python -m pipeline`` workers, each in a session of its own, stopped with
SIGTERM and then SIGKILL of its whole process group, so no test leaves a
process behind."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
START_SECONDS = 20.0
STOP_SECONDS = 10.0


def luigid_executable() -> str:
    beside = Path(sys.executable).parent / "luigid"
    found = str(beside) if beside.is_file() else shutil.which("luigid")
    if not found:
        pytest.skip("luigid not installed")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], log: Path, cwd: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
    """``args`` in a new session (its own process group), output to ``log``."""
    with log.open("w") as handle:
        return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                env={**os.environ, **(env or {})})


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL to it if anything is left after ``STOP_SECONDS``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_SECONDS)


def group_alive(pgid: int) -> list[int]:
    """Processes still in process group ``pgid`` (zombies not counted)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            alive.append(int(entry.name))
    return alive


@dataclass
class Luigid:
    port: int
    process: subprocess.Popen
    log: Path


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"luigid exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"luigid did not accept connections on 127.0.0.1:{port} within {START_SECONDS} s")


@contextlib.contextmanager
def luigid(folder: Path) -> Iterator[Luigid]:
    """A fresh ``luigid`` with its state and logs in ``folder``; stopped, with
    everything it started, when the block ends (the test fails if anything
    of it is left)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "luigid.out"
    process = start([luigid_executable(), "--address", "127.0.0.1", "--port", str(port),
                     "--state-path", str(folder / "state.pickle"), "--logdir", str(folder)], log, cwd=folder)
    try:
        wait_for_port(port, process, log)
        yield Luigid(port, process, log)
    finally:
        stop(process)
        assert not group_alive(process.pid), f"luigid left processes: {group_alive(process.pid)}"
