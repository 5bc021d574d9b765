"""``python -m pipeline calibrate`` on IMDi's real requests of past years, its
refusals of look-ahead, ``backtest`` on one year, and how a plan takes its
weights from a calibrated config.

The real-data runs use two years and a one- or two-point grid so the suite
stays fast; the figures they are checked against are read straight from the
data files with pandas.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.__main__ import main
from pipeline.errors import InputError
from pipeline.plans.calibrated import read_calibration
from pipeline.plans.resolve import load_plan, resolve_plan
from tests.factories import write_config

HISTORY = Path("data/imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv")
FAST = ["--exponent-grid", "0.75:0.85:0.1", "--coarse", "1", "--dampings", "0,0.75"]
YEARS = "2020-2021"
NAME = "calibrated-2020-2021"
REPORT_FILES = {"fit.json", "predictions.csv", "residuals_by_county.csv", "predicted_vs_real.png", "report.md"}


def included_files(path: Path) -> list[Path]:
    """The files a plan pulls in besides itself (plans it extends, calibrations)."""
    return list(resolve_plan(path.stem, path.parent, Path("data")).plan_files[1:])


def history_requests(year: int, column: str = "anmodning") -> pd.Series:
    frame = pd.read_csv(HISTORY, dtype={"kommunenummer": str})
    return frame[frame["aar"] == year].set_index("kommunenummer")[column].dropna()


def calibrate(config_dir: Path, out: Path, *extra: str, years: str = YEARS) -> int:
    return main(["calibrate", "--years", years, "--config-dir", str(config_dir), "--out", str(out), *FAST, *extra])


def without_date(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.strip().startswith(("date:", '"date":', "Date ")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two identical calibrations of 2020-2021 (config text and report folder of each)."""
    results = []
    for i in range(2):
        root = tmp_path_factory.mktemp(f"calibration{i}")
        config_dir = root / "config"
        write_config(config_dir)
        assert calibrate(config_dir, root / "out") == 0
        results.append({"config": config_dir / f"{NAME}.yaml", "folder": root / "out" / "calibration-2020-2021"})
    return results


def test_calibrate_writes_the_calibrated_config_and_the_fit_report(runs):
    run = runs[0]
    assert {p.name for p in run["folder"].iterdir()} == REPORT_FILES
    cal = read_calibration(run["config"])
    assert cal.calibration.years == (2020, 2021)
    # 2020 is fitted on the original requests (the plan as made), 2021 on the final ones.
    assert cal.calibration.municipalities_fitted == {
        "2020": len(history_requests(2020, "opprinnelig_anmodning")), "2021": len(history_requests(2021))}
    assert cal.criteria.population_exponent in (0.75, 0.85)
    assert cal.criteria.history_damping in (0.0, 0.75)
    assert sum(cal.criteria.weights.values()) == pytest.approx(1.0)
    # The registers describe 2020-2022: for these years they would be look-ahead.
    assert set(cal.calibration.left_out_as_look_ahead) == {"centrality", "upper_secondary", "labour_market"}
    assert all(cal.criteria.weights[k] == 0 for k in cal.calibration.left_out_as_look_ahead)
    for figures in (cal.fit.in_sample, cal.fit.kfold, cal.fit.leave_one_year_out):
        assert 0 < figures.wape < 1 and 0 < figures.spearman <= 1
    assert cal.fit.kfold.wape >= cal.fit.in_sample.wape - 1e-3
    fit = json.loads((run["folder"] / "fit.json").read_text())
    assert fit["fit"] == json.loads(json.dumps(yaml.safe_load(run["config"].read_text())["fit"]))


def test_practice_figures_match_the_requests_file(runs):
    cal = read_calibration(runs[0]["config"])
    positive = history_requests(2021)
    positive = positive[positive > 0]
    practice = cal.practice["2021"]
    assert practice.minimum_request == positive.min()
    assert practice.asked == len(positive)
    assert practice.share_at_least_10 == pytest.approx((positive >= 10).mean(), abs=1e-4)


def test_in_sample_predictions_add_up_to_each_years_real_total(runs):
    predictions = pd.read_csv(runs[0]["folder"] / "predictions.csv", dtype={"kommunenummer": str, "fylke": str})
    for year, real in ((2020, history_requests(2020, "opprinnelig_anmodning")), (2021, history_requests(2021))):
        rows = predictions[predictions["year"] == year]
        assert rows["real"].sum() == pytest.approx(real.sum())
        assert rows["in_sample"].sum() == pytest.approx(real.sum(), abs=1.0)
        # Every fitted municipality has a prediction from each out-of-sample scheme.
        assert rows[["kfold", "leave_one_year_out"]].notna().all().all()


def test_calibration_is_deterministic_except_the_date_line(runs):
    first, second = runs
    assert without_date(first["config"].read_text()) == without_date(second["config"].read_text())
    for name in ("fit.json", "predictions.csv", "residuals_by_county.csv", "report.md"):
        texts = [without_date((run["folder"] / name).read_text()).replace(str(run["config"].parent), "<config>")
                 for run in runs]
        assert texts[0] == texts[1], name


# --- look-ahead is refused ----------------------------------------------------------------------

def test_population_of_the_fitted_year_is_refused(tmp_path, capsys):
    write_config(tmp_path, lambda raw: raw["criteria"].update(population_lag_years=0))
    assert calibrate(tmp_path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "population_lag_years" in err
    assert not (tmp_path / f"{NAME}.yaml").exists()
    assert not (tmp_path / "out").exists()


def test_the_exam_year_is_never_fitted_nor_backtested(tmp_path, capsys):
    write_config(tmp_path)
    assert main(["calibrate", "--years", "2022", "--config-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "2022" in capsys.readouterr().err
    assert main(["backtest", "--year", "2022", "--config-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "never a backtest year" in capsys.readouterr().err


def test_a_history_file_holding_the_exam_year_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree("data", data)
    lines = (data / HISTORY.name).read_text(encoding="utf-8").splitlines()
    lines.append(lines[-1].replace("2023,", "2022,", 1))
    (data / HISTORY.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = main(["allocate", "--plan", "2022", "--data-dir", str(data), "--out", str(tmp_path / "out")])
    assert status == 2
    assert f"{data / HISTORY.name}:{len(lines)}:aar: a figure of 2022" in capsys.readouterr().err


def test_backtest_of_one_year_plans_it_through_the_milp_and_scores_both_baselines(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["backtest", "--year", "2021", "--out", str(out), *FAST])
    assert status == 0, capsys.readouterr().err
    folder = out / "backtest" / "2021"
    predictions = pd.read_csv(folder / "predictions.csv", dtype={"kommunenummer": str})
    real = history_requests(2021)
    assert predictions.set_index("kommunenummer")["real"].sum() == pytest.approx(real.sum())
    # The engine's numbers are the MILP's: whole, 0 or at least the year's smallest request, summing to the need.
    engine = predictions["engine"]
    assert (engine == engine.round()).all()
    assert ((engine == 0) | (engine >= real[real > 0].min())).all()
    summary = pd.read_csv(folder / "summary.csv").iloc[0]
    assert engine.sum() == summary["need"] and summary["trained_on"] == "2015-2020"
    # The baselines in the same run: last year (2020, final) rescaled, population^a.
    last = history_requests(2020).reindex(real.index).fillna(0)
    rescaled = last / last.sum() * summary["need"]
    got = predictions.set_index("kommunenummer")["last_rescaled"]
    assert (got - rescaled).abs().max() <= 0.0005  # written to three decimals
    # Each baseline also as a plan: whole, 0 or at least the minimum, summing to the need, and scored.
    for column in ("last_rescaled_rounded", "population_rounded"):
        plan = predictions[column]
        assert (plan == plan.round()).all() and plan.sum() == summary["need"]
        assert ((plan == 0) | (plan >= summary["minimum"])).all()
    assert 0 < summary["last_rounded_wape"] < 1 and 0 < summary["population_rounded_wape"] < 1
    assert 0 < summary["engine_wape"] < summary["population_wape"]


# --- a plan takes its weights from a calibration ------------------------------------------------

CALIBRATED = {"population_exponent": 0.8, "weights": {"population": 0.25, "request_last": 0.75},
              "history_damping": 0.5}
SHIPPED = Path("config/calibrated-2015-2021.yaml")


def write_calibration(folder: Path, name: str = "calibrated-test", change=None) -> Path:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["criteria"] = json.loads(json.dumps(CALIBRATED))
    if change is not None:
        change(raw)
    path = Path(folder) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def use_calibration(name: str = "calibrated-test"):
    def change(raw):
        for key in ("weights", "population_exponent", "history_damping"):
            raw["criteria"].pop(key, None)
        raw["criteria"]["calibration"] = name
    return change


def test_plan_takes_exponent_and_weights_from_its_calibration(tmp_path):
    cal = write_calibration(tmp_path)
    path = write_config(tmp_path, use_calibration())
    plan = load_plan(path)
    assert plan.criteria.population_exponent == 0.8
    assert dict(plan.criteria.weights) == {"population": 0.25, "request_last": 0.75}
    assert plan.criteria.history_damping == 0.5
    assert plan.criteria.calibration == "calibrated-test"
    assert cal in included_files(path)


def test_plan_setting_weights_and_a_calibration_is_refused(tmp_path):
    write_calibration(tmp_path)
    path = write_config(tmp_path, lambda raw: raw["criteria"].update(calibration="calibrated-test",
                                                                      population_exponent=0.5))
    with pytest.raises(InputError, match=r"criteria\.population_exponent: set both here and by criteria\.calibration"):
        load_plan(path)


def test_calibration_in_an_extending_plan_replaces_the_inherited_weights(tmp_path):
    write_calibration(tmp_path)
    write_config(tmp_path)
    child = tmp_path / "child.yaml"
    child.write_text('extends: "2022"\nname: child\ncriteria:\n  calibration: calibrated-test\n', encoding="utf-8")
    plan = load_plan(child)
    assert dict(plan.criteria.weights) == CALIBRATED["weights"]
    assert plan.need_persons == 5500
    assert {tmp_path / "2022.yaml", tmp_path / "calibrated-test.yaml"} <= set(included_files(child))


def test_weights_over_an_inherited_calibration_need_it_switched_off(tmp_path):
    write_calibration(tmp_path)
    write_config(tmp_path, use_calibration())
    child = tmp_path / "child.yaml"
    child.write_text('extends: "2022"\nname: child\ncriteria:\n  weights: {population: 1.0}\n', encoding="utf-8")
    with pytest.raises(InputError, match="calibration: null"):
        load_plan(child)
    child.write_text('extends: "2022"\nname: child\ncriteria:\n  calibration: null\n  population_exponent: 0.5\n'
                     '  weights: {population: 1.0}\n', encoding="utf-8")
    plan = load_plan(child)
    assert dict(plan.criteria.weights) == {"population": 1.0}
    assert plan.criteria.calibration is None


def test_missing_calibration_file_is_refused_naming_it(tmp_path):
    path = write_config(tmp_path, use_calibration("calibrated-2031"))
    with pytest.raises(InputError, match=r"calibrated-2031\.yaml: calibration file not found"):
        load_plan(path)
    with pytest.raises(InputError, match="calibration file not found"):
        included_files(path)


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw["criteria"].update(bonus=1), r"criteria\.bonus: unknown key"),
    (lambda raw: raw["criteria"]["weights"].update(population=0.5), "sum to 1.25, not 1"),
    (lambda raw: raw["criteria"]["weights"].update(luck=0.0), r"criteria\.weights\.luck: unknown criterion"),
    (lambda raw: raw["criteria"].update(population_exponent="high"), r"population_exponent: expected a number"),
    (lambda raw: raw["fit"].pop("kfold"), r"fit\.kfold: missing key"),
    (lambda raw: raw["criteria"].update(history_damping=9), r"history_damping: must be between 0 and 5"),
])
def test_tampered_calibration_file_is_refused_naming_the_key(tmp_path, change, message):
    write_calibration(tmp_path, change=change)
    path = write_config(tmp_path, use_calibration())
    with pytest.raises(InputError, match=message) as info:
        load_plan(path)
    assert "calibrated-test.yaml" in str(info.value)


def test_plan_2022_takes_its_weights_from_a_calibration_on_years_before_2022():
    plan = load_plan(Path("config/2022.yaml"))
    cal = read_calibration(Path(f"config/{plan.criteria.calibration}.yaml"))
    assert max(cal.calibration.years) < 2022
    assert plan.criteria.population_exponent == cal.criteria.population_exponent
    assert plan.criteria.history_damping == cal.criteria.history_damping
    assert dict(plan.criteria.weights) == dict(cal.criteria.weights)
