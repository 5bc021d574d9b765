"""The code's shape: no import circles, layers that only import downwards,
a pure core, and a registry that knows every constraint family the model builds."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from optimiser import model, rules
from tests.factories import make_inputs

ROOT = Path(__file__).resolve().parent.parent.parent
# pipeline's layers, lowest first: a module may import its own layer and the ones below.
LAYERS = {"base": 0, "inputs": 1, "plans": 2, "publish": 3, "graph": 4, "commands": 5, "__main__": 6}


def modules() -> dict[str, Path]:
    found = {}
    for package in ("optimiser", "pipeline"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in ``path`` (function bodies included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {name for name in names if name in known}
    return out


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    found = modules()
    g = nx.DiGraph()
    for name, path in found.items():
        g.add_node(name)
        g.add_edges_from((name, other) for other in imports(path, set(found)) if other != name)
    return g


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], LAYERS["base"]) if len(parts) > 1 else LAYERS["base"]


def test_no_import_circle(graph):
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import circles: {cycles[:3]}"


def test_pipeline_layers_import_only_downwards(graph):
    upward = [(a, b) for a, b in graph.edges if a.startswith("pipeline") and b.startswith("pipeline")
              and layer(b) > layer(a)]
    assert not upward, f"imports from a lower layer up to a higher one: {upward}"


def test_optimiser_is_pure(graph):
    assert not [(a, b) for a, b in graph.edges if a.startswith("optimiser") and b.startswith("pipeline")]
    for name, path in modules().items():
        if name.startswith("optimiser"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                        for alias in node.names}
            imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom) and node.module}
            assert not imported & {"pathlib", "yaml", "luigi", "os", "shutil"}, name


def test_every_family_the_model_builds_is_registered():
    inputs = make_inputs([12.0, 8.0, 5.0], need=25, granularity=5, min_request=5, recommended=[10, 10, float("nan")],
                         locked=[False, True, False], cap=[20, float("nan"), float("nan")],
                         health_cap=[30, 30, 30], lower_bound=[5, 0, 0], em_capacity=[2, 2, 0],
                         em_target=[1.0, 1.0, 0.0], previous=[10.0, 10.0, 0.0], em_need=2, em_minimum=1,
                         county_minimum={"01": 5}, price_change=True)
    prob, _ = model.build_model(inputs)
    built = {rules.family(con.name) for con in prob.constraints()}
    assert built <= set(rules.RULES), built - set(rules.RULES)
    assert {"national_need", "minimum_size", "lock", "granularity", "em_quota", "change_from_previous"} <= built


def test_an_unregistered_family_cannot_be_built():
    with pytest.raises(KeyError, match="not in optimiser.rules.RULES"):
        rules.row("made_up_rule", "0301")
