"""The transport network's link files: what is read from the real files, and
bad links stopping the run with one line (file:row:field), exit status 2 and
no output.  Also the network files a run publishes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from optimiser import network
from pipeline.__main__ import main
from pipeline.errors import InputError
from pipeline.inputs.catalog import CATALOG
from pipeline.inputs.links import read_links
from pipeline.publish.network import NETWORK_FILES, write_network
from tests.factories import make_plan, national_data

DATA = Path("data")
LINK_FILES = ("adjacency", "water_pairs", "ferries")


def codes() -> pd.Index:
    return pd.read_csv(DATA / CATALOG["points"], dtype={"kommunenummer": str})["kommunenummer"].pipe(pd.Index)


def link_paths(folder: Path) -> list[Path]:
    return [folder / CATALOG[name] for name in LINK_FILES]


def test_real_link_files_give_every_kind_and_ferry_minutes_only_on_ferries():
    links = read_links(*link_paths(DATA), codes())
    counts = links["kind"].value_counts().to_dict()
    raw = [sum(1 for _ in path.open(encoding="utf-8")) - 1 for path in link_paths(DATA)]
    assert counts["border"] + counts["point"] == raw[0]
    assert counts["water"] == raw[1]
    assert counts["ferry"] == raw[2]
    assert links.loc[links["kind"] == "ferry", "fixed_minutes"].gt(0).all()
    assert links.loc[links["kind"] != "ferry", "fixed_minutes"].isna().all()


def test_ferry_links_join_the_four_islands_the_other_files_leave_alone():
    c = codes()
    without = read_links(*link_paths(DATA)[:2], DATA / CATALOG["ferries"], c)
    land_and_water = without[without["kind"] != "ferry"]
    assert network.unconnected(c, land_and_water) == ["1151", "1835", "1856", "1857"]
    assert network.unconnected(c, without) == []


# --------------------------------------------------------------------------- bad input, through the command line

@pytest.fixture
def tree(tmp_path) -> Path:
    shutil.copytree("data", tmp_path / "data")
    shutil.copytree("config", tmp_path / "config")
    return tmp_path


def edit_line(path: Path, line: int, change) -> None:
    """Replace 1-based ``line`` of a CSV file by ``change(fields)`` (plain comma split: the
    link files quote nothing)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = ",".join(change(lines[line - 1].split(",")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def stopped(tree: Path, capsys) -> str:
    status = main(["allocate", "--plan", "2022", "--config-dir", str(tree / "config"),
                   "--data-dir", str(tree / "data"), "--out", str(tree / "out")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not (tree / "out" / "2022").exists()
    return lines[0]


def set_field(index: int, value: str):
    return lambda fields: fields[:index] + [value] + fields[index + 1:]


# ferry_links.csv columns: kommunenummer_a,navn_a,kommunenummer_b,navn_b,minutes,route,note
FERRY_CASES = {
    "unknown_municipality": (3, 2, "9999", "kommunenummer_b", "unknown kommunenummer '9999'"),
    "negative_minutes": (4, 4, "-20", "minutes", "below the minimum 0: '-20'"),
    "missing_minutes": (2, 4, "", "minutes", "empty value"),
    "not_a_number": (5, 4, "about 3 h", "minutes", "not a number"),
    "self_link": (2, 2, "1151", "kommunenummer_b", "links 1151 to itself"),
}


@pytest.mark.parametrize("line, index, value, field, what", FERRY_CASES.values(), ids=FERRY_CASES.keys())
def test_bad_ferry_link_names_file_row_field(tree, capsys, line, index, value, field, what):
    path = tree / "data" / CATALOG["ferries"]
    edit_line(path, line, set_field(index, value))
    message = stopped(tree, capsys)
    assert message.startswith(f"error: {path}:{line}:{field}: "), message
    assert what in message


def test_unknown_municipality_in_the_adjacency_file_names_its_row(tree, capsys):
    path = tree / "data" / CATALOG["adjacency"]
    edit_line(path, 10, set_field(0, "0399"))
    assert stopped(tree, capsys).startswith(f"error: {path}:10:kommunenummer_a: unknown kommunenummer '0399'")


def test_unknown_contact_kind_names_its_row(tree, capsys):
    path = tree / "data" / CATALOG["adjacency"]
    edit_line(path, 7, set_field(4, "tunnel"))
    assert stopped(tree, capsys).startswith(f"error: {path}:7:contact: unknown contact 'tunnel'")


def test_second_row_for_the_same_pair_is_refused(tree, capsys):
    path = tree / "data" / CATALOG["ferries"]
    lines = path.read_text(encoding="utf-8").splitlines()
    a, na, b, nb, *rest = lines[1].split(",")
    path.write_text("\n".join(lines + [",".join([b, nb, a, na, *rest])]) + "\n", encoding="utf-8")
    message = stopped(tree, capsys)
    assert message.startswith(f"error: {path}:{len(lines) + 1}:kommunenummer_b: second row for the pair 1106-1151")


def test_disconnected_network_names_the_ferry_file_and_the_island(tree, capsys):
    path = tree / "data" / CATALOG["ferries"]
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("1151,")) + "\n", encoding="utf-8")
    message = stopped(tree, capsys)
    assert message.startswith(f"error: {path}: the transport network is not connected: 1 municipality")
    assert "cannot be reached from the rest: 1151 (add a row" in message


def test_read_links_raises_input_error_with_the_location():
    # Utsira has no land or water neighbour, so its first mention is the ferry file's line 2.
    with pytest.raises(InputError) as caught:
        read_links(*link_paths(DATA), codes()[codes() != "1151"])
    assert caught.value.where == f"{DATA / CATALOG['ferries']}:2:kommunenummer_a"


# --------------------------------------------------------------------------- published network files

def test_network_files_describe_the_graph_and_the_fit(tmp_path):
    data = national_data(make_plan(name="network-test"))
    net = network.build_network(data.municipalities, data.adjacency, 90)
    m = data.municipalities
    eligible = net.access["minutes_to_school"] <= 90
    write_network(tmp_path, net, eligible)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NETWORK_FILES)
    graph = nx.read_graphml(tmp_path / "network.graphml")
    assert graph.number_of_nodes() == 356 and nx.is_connected(graph)
    assert {k for _, _, k in graph.edges(data="kind")} == {"border", "point", "water", "ferry"}
    fit = json.loads((tmp_path / "network_fit.json").read_text())
    assert fit["reasonable_travel_minutes"] == 90
    assert fit["overall"]["median_abs_error_minutes"] <= 10
    assert set(fit["by_county"]) <= set(m["fylke"])
    assert (tmp_path / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    access = pd.read_csv(tmp_path / "access.csv", dtype={"kommunenummer": str, "school_region": str})
    assert len(access) == 356
    assert (access["reachable_population"] >= m["population"].to_numpy()).all()
