"""The pipeline through a real central scheduler: ``luigid`` on 127.0.0.1,
a free port, a temporary state file; stopped, with its whole process group,
when the test ends (``tests.pipeline.processes``)."""
from __future__ import annotations

import csv
import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from pipeline.__main__ import main
from tests.pipeline.processes import luigid as central_scheduler


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) of sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


@pytest.fixture
def luigid(tmp_path):
    with central_scheduler(tmp_path / "luigid") as server:
        yield server.port


def scheduler_tasks(port: int, status: str) -> dict:
    query = urllib.parse.urlencode({"data": json.dumps({"status": status})})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?{query}", timeout=5) as response:
        return json.loads(response.read())["response"]


def test_luigid_listens_on_loopback_only(luigid):
    addresses = listening_addresses(luigid)
    if not addresses:
        pytest.skip("no /proc/net/tcp to inspect")
    assert addresses == {"0100007F"}  # 127.0.0.1, little-endian hex; no 0.0.0.0 or IPv6 listener


def test_pipeline_runs_through_luigid(luigid, tmp_path):
    out = tmp_path / "out"
    status = main(["allocate", "--plan", "2022", "--out", str(out), "--scheduler-host", "127.0.0.1",
                   "--scheduler-port", str(luigid)])
    assert status == 0
    with (out / "2022" / "allocation.csv").open(encoding="utf-8", newline="") as handle:
        requests = [int(row["request"]) for row in csv.DictReader(handle)]
    assert len(requests) == 356
    assert sum(requests) == 5500
    # The central scheduler, not a local one, saw the graph through to the end.
    done = {task["name"] for task in scheduler_tasks(luigid, "DONE").values()}
    assert {"Network", "Solve", "Verify", "Explain", "Publish"} <= done
    assert not scheduler_tasks(luigid, "FAILED")
