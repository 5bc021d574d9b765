"""Strict plan config: every bad key stops the run with one line naming the
file and the key path; through the CLI the exit status is 2 and nothing is
written under ``<out>/<plan>/``."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.__main__ import main
from pipeline.errors import InputError
from pipeline.plans.resolve import load_plan
from tests.factories import write_config

REAL_CONFIG = Path("config/2022.yaml")


def _unknown_top(raw):
    raw["need_people"] = 5500


def _unknown_nested(raw):
    raw["spread"]["max_county_share"] = 0.5


def _missing_top(raw):
    del raw["need_persons"]


def _missing_nested(raw):
    # Without a calibration the plan must give its own exponent.
    raw["criteria"].update(calibration=None, weights={"population": 1.0})


def _need_as_text(raw):
    raw["need_persons"] = "5500"


def _need_fractional(raw):
    raw["need_persons"] = 5500.5


def _need_not_multiple(raw):
    raw["granularity_persons"] = 7  # 5500 = 7 * 785 + 5


def _unknown_criterion(raw):
    raw["criteria"].update(calibration=None, population_exponent=0.8, weights={"population": 0.9, "happiness": 0.1})


def _wrong_type_nested(raw):
    raw["network"]["access_rule"] = "yes"


def _capacity_factor_zero(raw):
    raw["capacity"]["factor"] = 0


def _unknown_outcome(raw):
    raw["placement"].update(outcome="happiness", outcome_weight=0.5)


def _outcome_weight_without_outcome(raw):
    raw["placement"].update(outcome=None, outcome_weight=0.5)


def _negative_node_limit(raw):
    raw["solver"]["node_limit"] = -1


def _extra_tier_cheaper_than_fill(raw):
    raw["placement"]["extra_tier_price"] = 7.0  # even fill gains up to 2 * 4 * 1 = 8 per person moved


def _health_fit_beside_outcome(raw):
    raw["placement"].update(outcome="labour_market", outcome_weight=0.5)  # 8 + 0.5 + 0.25 * 7 > 10


# (id, change, key path the error must name)
CASES = [
    ("unknown_key", _unknown_top, "need_people"),
    ("unknown_nested_key", _unknown_nested, "spread.max_county_share"),
    ("missing_key", _missing_top, "need_persons"),
    ("missing_nested_key", _missing_nested, "criteria.population_exponent"),
    ("need_as_text", _need_as_text, "need_persons"),
    ("need_fractional", _need_fractional, "need_persons"),
    ("need_not_multiple_of_granularity", _need_not_multiple, "need_persons"),
    ("unknown_criterion", _unknown_criterion, "criteria.weights.happiness"),
    ("wrong_type_nested", _wrong_type_nested, "network.access_rule"),
    ("capacity_factor_zero", _capacity_factor_zero, "capacity.factor"),
    ("unknown_outcome", _unknown_outcome, "placement.outcome"),
    ("outcome_weight_without_outcome", _outcome_weight_without_outcome, "placement.outcome_weight"),
    ("extra_tier_cheaper_than_fill", _extra_tier_cheaper_than_fill, "placement"),
    ("health_fit_beside_outcome", _health_fit_beside_outcome, "placement"),
    ("negative_node_limit", _negative_node_limit, "solver.node_limit"),
]


def test_real_config_loads():
    plan = load_plan(REAL_CONFIG)
    assert plan.name == "2022" and plan.year == 2022
    assert plan.need_persons == 5500
    assert plan.minimum_request == 10


def test_round_trip_of_real_config_loads(tmp_path):
    # The writer used below changes nothing by itself.
    plan = load_plan(write_config(tmp_path, lambda raw: None))
    assert plan == load_plan(REAL_CONFIG)


@pytest.mark.parametrize("change, keypath", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_raises_input_error_naming_file_and_key(tmp_path, change, keypath):
    path = write_config(tmp_path, change)
    with pytest.raises(InputError) as info:
        load_plan(path)
    error = info.value
    assert error.where == str(path)
    assert error.what.startswith(f"{keypath}:"), error.what
    assert str(error).startswith(f"{path}: {keypath}:")
    assert "\n" not in str(error)


def test_need_as_text_says_an_integer_is_expected(tmp_path):
    with pytest.raises(InputError, match=r"need_persons: expected an integer, got '5500'"):
        load_plan(write_config(tmp_path, _need_as_text))


def test_need_not_multiple_says_why(tmp_path):
    with pytest.raises(InputError, match=r"not a multiple of granularity_persons 7"):
        load_plan(write_config(tmp_path, _need_not_multiple))


def test_missing_plan_file_names_it(tmp_path):
    with pytest.raises(InputError) as info:
        load_plan(tmp_path / "2099.yaml")
    assert info.value.where == str(tmp_path / "2099.yaml")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("change, keypath", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_bad_config_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, change, keypath):
    path = write_config(tmp_path / "config", change)
    out = tmp_path / "out"
    status = main(["allocate", "--plan", "2022", "--config-dir", str(tmp_path / "config"),
                   "--data-dir", "data", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    lines = error_lines(captured.err)
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {path}: {keypath}:"), lines[0]
    assert "Traceback" not in captured.err
    assert not (out / "2022").exists()


def test_cli_unknown_plan_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["allocate", "--plan", "2099", "--data-dir", "data", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    lines = error_lines(captured.err)
    assert len(lines) == 1 and "2099.yaml" in lines[0]
    assert not (out / "2099").exists()


def test_presolve_setting_reaches_highs_and_the_manifest_options(tmp_path):
    from pipeline.solvers import make_solvers, solver_options

    for presolve, expected in ((True, "on"), (False, "off")):
        path = write_config(tmp_path / expected, lambda raw, p=presolve: raw["solver"].update(presolve=p))
        plan = load_plan(path)
        highs = make_solvers(plan.solver)[0]
        assert highs.optionsDict["presolve"] == expected
        assert solver_options(plan.solver)["presolve"] is presolve


def test_node_limit_reaches_highs_cbc_and_the_manifest_options(tmp_path):
    from pipeline.solvers import make_solvers, solver_options

    for limit in (None, 500):
        path = write_config(tmp_path / str(limit), lambda raw, n=limit: raw["solver"].update(node_limit=n))
        plan = load_plan(path)
        highs, cbc = make_solvers(plan.solver)
        assert highs.optionsDict.get("mip_max_nodes") == limit
        assert cbc.optionsDict.get("maxNodes") == limit
        assert solver_options(plan.solver)["node_limit"] == limit
