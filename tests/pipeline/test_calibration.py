"""``python -m pipeline calibrate`` on the real 2024 requests, its refusals of
look-ahead, and how a plan takes its weights from a calibrated config.

The real-data runs use a three-point exponent grid so the suite stays fast;
the totals they are checked against are read straight from the data file.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from optimiser.data import PlanData
from pipeline.__main__ import main
from pipeline.commands.calibrate import check_history
from pipeline.errors import InputError
from pipeline.plans.calibrated import read_calibration
from pipeline.plans.resolve import load_plan, resolve_plan
from tests.factories import write_config

REQUESTS = Path("data/imdi_anmodning_vedtak_2024.csv")
FAST = ["--exponent-grid", "0.85:0.95:0.05", "--coarse", "1"]
REPORT_FILES = {"fit.json", "predictions.csv", "residuals_by_county.csv", "predicted_vs_real.png", "report.md"}


def included_files(path: Path) -> list[Path]:
    """The files a plan pulls in besides itself (plans it extends, calibrations)."""
    return list(resolve_plan(path.stem, path.parent, Path("data")).plan_files[1:])


def real_requests() -> pd.Series:
    frame = pd.read_csv(REQUESTS, dtype={"kommunenummer": str})
    return frame.set_index("kommunenummer")["anmodet_2024"]


def calibrate(config_dir: Path, out: Path, *extra: str) -> int:
    return main(["calibrate", "--year", "2024", "--config-dir", str(config_dir), "--out", str(out), *FAST, *extra])


def without_date(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.strip().startswith(("date:", '"date":', "Date ")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two identical calibrations of 2024 (config text and report folder of each)."""
    results = []
    for i in range(2):
        root = tmp_path_factory.mktemp(f"calibration{i}")
        config_dir = root / "config"
        write_config(config_dir)
        assert calibrate(config_dir, root / "out") == 0
        results.append({"config": config_dir / "calibrated-2024.yaml", "folder": root / "out" / "calibration-2024"})
    return results


def test_calibrate_writes_the_calibrated_config_and_the_fit_report(runs):
    run = runs[0]
    assert {p.name for p in run["folder"].iterdir()} == REPORT_FILES
    cal = read_calibration(run["config"])
    assert cal.calibration.year == 2024
    assert cal.calibration.population_year == 2023
    assert cal.calibration.history_years == (2023,)
    # Kautokeino (5430) has no recorded request; every other municipality is fitted.
    assert cal.calibration.not_fitted == ("5430",)
    assert cal.calibration.municipalities_fitted == int(real_requests().notna().sum()) == 355
    assert 0.85 <= cal.criteria.population_exponent <= 0.95
    assert sum(cal.criteria.weights.values()) == pytest.approx(1.0)
    for figures in (cal.fit.in_sample, cal.fit.kfold, cal.fit.leave_one_county_out):
        assert 0 < figures.wape < 1
        assert 0 < figures.spearman <= 1
    # Out of sample cannot beat the in-sample optimum of the same LP by more than noise.
    assert cal.fit.kfold.wape >= cal.fit.in_sample.wape - 1e-3
    fit = json.loads((run["folder"] / "fit.json").read_text())
    assert fit["fit"] == json.loads(json.dumps(yaml.safe_load(run["config"].read_text())["fit"]))
    assert len(fit["per_fold"]["kfold"]) == 5 and len(fit["per_fold"]["loco"]) == 11


def test_practice_figures_match_the_requests_file(runs):
    cal = read_calibration(runs[0]["config"])
    positive = real_requests()[real_requests() > 0]
    assert cal.practice.minimum_request == positive.min()
    assert cal.practice.asked == len(positive)
    assert cal.practice.share_at_least_10 == pytest.approx((positive >= 10).mean(), abs=1e-4)
    assert cal.practice.granularity_share == pytest.approx((positive % cal.practice.granularity_persons == 0).mean(),
                                                           abs=1e-4)


def test_in_sample_predictions_add_up_to_the_real_total(runs):
    predictions = pd.read_csv(runs[0]["folder"] / "predictions.csv", dtype={"kommunenummer": str, "fylke": str})
    assert len(predictions) == 356
    known = predictions.dropna(subset=["real"])
    total = real_requests().sum()
    assert total == 36985
    assert known["real"].sum() == total
    assert known["in_sample"].sum() == pytest.approx(total, abs=1.0)
    # Every fitted municipality has an out-of-fold prediction from each scheme.
    assert known[["kfold", "leave_one_county_out", "fold"]].notna().all().all()


def test_residuals_by_county_cover_every_county_and_every_request(runs):
    table = pd.read_csv(runs[0]["folder"] / "residuals_by_county.csv", dtype={"fylke": str})
    assert len(table) == 11
    assert table["municipalities"].sum() == 355
    assert table["real"].sum() == real_requests().sum()
    assert (table["in_sample_residual"] - (table["in_sample"] - table["real"])).abs().max() < 0.01


def test_calibration_is_deterministic_except_the_date_line(runs):
    first, second = runs
    assert without_date(first["config"].read_text()) == without_date(second["config"].read_text())
    for name in ("fit.json", "predictions.csv", "residuals_by_county.csv", "report.md"):
        texts = [without_date((run["folder"] / name).read_text()).replace(str(run["config"].parent), "<config>")
                 for run in runs]
        assert texts[0] == texts[1], name


def test_summary_names_in_sample_and_cross_validated_figures(tmp_path, capsys):
    write_config(tmp_path)
    assert calibrate(tmp_path, tmp_path / "out", "--exclude", "settlement_history") == 0
    printed = capsys.readouterr().out
    for words in ("in sample", "5-fold CV", "leave one county out", "WAPE", "Spearman", "population exponent"):
        assert words in printed
    cal = read_calibration(tmp_path / "calibrated-2024-without-settlement_history.yaml")
    assert cal.criteria.weights["settlement_history"] == 0
    assert cal.calibration.excluded_criteria == ("settlement_history",)


# --- look-ahead is refused ----------------------------------------------------------------------

def test_population_of_the_fitted_year_is_refused(tmp_path, capsys):
    write_config(tmp_path, lambda raw: raw["criteria"].update(population_lag_years=0))
    assert calibrate(tmp_path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "population_lag_years" in err and "look-ahead" in err
    assert not (tmp_path / "calibrated-2024.yaml").exists()
    assert not (tmp_path / "out").exists()


def test_register_describing_the_fitted_year_is_refused(tmp_path, capsys):
    # The school register is from December 2022: not known before 2022 ended.
    write_config(tmp_path)
    assert main(["calibrate", "--year", "2022", "--config-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "videregaende_skoler" in err and "look-ahead" in err


def test_year_without_published_requests_is_refused(tmp_path, capsys):
    write_config(tmp_path)
    assert main(["calibrate", "--year", "2023", "--config-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no real requests for 2023" in capsys.readouterr().err


def test_requests_file_of_another_year_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree("data", data, symlinks=True)
    text = REQUESTS.read_text(encoding="utf-8").replace("anmodet_2024", "anmodet_2023", 1)
    (data / REQUESTS.name).write_text(text, encoding="utf-8")
    write_config(tmp_path / "config")
    status = main(["calibrate", "--year", "2024", "--config-dir", str(tmp_path / "config"),
                   "--data-dir", str(data), "--out", str(tmp_path / "out")])
    assert status == 2
    assert "anmodet_2024" in capsys.readouterr().err


def test_settlement_history_of_the_fitted_year_is_refused():
    municipalities = pd.DataFrame({"population": [1000]}, index=pd.Index(["0301"], name="kommunenummer"))
    history = pd.DataFrame({"kommunenummer": ["0301", "0301"], "year": [2023, 2024], "settled": [5, 7]})
    with pytest.raises(InputError, match="look-ahead"):
        check_history(PlanData(municipalities=municipalities, history=history), 2024)
    check_history(PlanData(municipalities=municipalities, history=history[history["year"] < 2024]), 2024)


# --- a plan takes its weights from a calibration ------------------------------------------------

CALIBRATED = {"population_exponent": 0.8, "weights": {"population": 0.25, "centrality": 0.75}}


def write_calibration(folder: Path, name: str = "calibrated-test", change=None) -> Path:
    raw = yaml.safe_load(Path("config/calibrated-2024.yaml").read_text(encoding="utf-8"))
    raw["criteria"] = json.loads(json.dumps(CALIBRATED))
    if change is not None:
        change(raw)
    path = Path(folder) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def use_calibration(name: str = "calibrated-test"):
    def change(raw):
        del raw["criteria"]["weights"], raw["criteria"]["population_exponent"]
        raw["criteria"]["calibration"] = name
    return change


def test_plan_takes_exponent_and_weights_from_its_calibration(tmp_path):
    cal = write_calibration(tmp_path)
    path = write_config(tmp_path, use_calibration())
    plan = load_plan(path)
    assert plan.criteria.population_exponent == 0.8
    assert dict(plan.criteria.weights) == {"population": 0.25, "centrality": 0.75}
    assert plan.criteria.calibration == "calibrated-test"
    assert cal in included_files(path)


def test_plan_setting_weights_and_a_calibration_is_refused(tmp_path):
    write_calibration(tmp_path)
    path = write_config(tmp_path, lambda raw: raw["criteria"].update(calibration="calibrated-test"))
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
])
def test_tampered_calibration_file_is_refused_naming_the_key(tmp_path, change, message):
    write_calibration(tmp_path, change=change)
    path = write_config(tmp_path, use_calibration())
    with pytest.raises(InputError, match=message) as info:
        load_plan(path)
    assert "calibrated-test.yaml" in str(info.value)


def test_shipped_calibrated_plan_uses_the_shipped_calibration():
    plan = load_plan(Path("config/2022-calibrated.yaml"))
    base = load_plan(Path("config/2022.yaml"))
    shipped = yaml.safe_load(Path(f"config/{plan.criteria.calibration}.yaml").read_text(encoding="utf-8"))
    assert plan.criteria.population_exponent == shipped["criteria"]["population_exponent"]
    assert dict(plan.criteria.weights) == shipped["criteria"]["weights"]
    # Only the criteria (and the name) differ from the 2022 plan.
    assert plan.need_persons == base.need_persons and plan.capacity == base.capacity
    assert plan.unaccompanied_minors == base.unaccompanied_minors and plan.network == base.network
    read_calibration(Path("config/calibrated-2024.yaml"))
