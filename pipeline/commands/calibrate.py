"""``python -m pipeline calibrate --year 2024``: fit the criteria weights to a year's real requests.

Reads the inputs a plan for that year would have had (population on 1
January of the year before, settlement history strictly before the year,
schools, commuting regions, planner indicators dated before the year) and
IMDi's real requests for the year (``data/imdi_anmodning_vedtak_<year>.csv``,
column ``anmodet_<year>``).  The fit itself is ``optimiser.calibrate``.

Writes ``config/calibrated-<year>.yaml`` (the exponent and weights a plan can
take with ``criteria: {calibration: calibrated-<year>}``, the fit figures and
the date) and ``out/calibration-<year>/``: ``fit.json``, ``predictions.csv``,
``residuals_by_county.csv``, ``predicted_vs_real.png`` and ``report.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
from pathlib import Path

import pandas as pd
import yaml

from optimiser import calibrate, criteria, network
from optimiser.data import PlanData
from optimiser.plan import ALL_CRITERIA, Plan
from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.inputs.catalog import CATALOG
from pipeline.inputs.national import read_plan_data
from pipeline.inputs.source import Source
from pipeline.inputs.tables import Column, check_codes, read_table
from pipeline.plans.calibrated import (
    CalibratedCriteria,
    CalibrationFile,
    Figures,
    FitSummary,
    Practice,
    Provenance,
    calibration_to_dict,
)
from pipeline.plans.resolve import resolve_plan
from pipeline.publish.files import atomic_file, atomic_folder, write_csv, write_json
from pipeline.publish.manifest import package_versions
from pipeline.solvers import make_solvers

REQUESTS_FILE = "imdi_anmodning_vedtak_{year}.csv"
REQUESTS_COLUMN = "anmodet_{year}"
# Last year each structural register describes (see data/README.md).  A
# calibration of year Y refuses a register describing Y or later.
STRUCTURAL_VINTAGE = {"points": 2020, "ba_regions": 2020, "centrality": 2020, "schools": 2022}
DEFAULT_GRID = "0.30:1.00:0.01"
DEFAULT_COARSE = 5


# --- command ---

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, required=True, help="the year whose real requests are fitted")
    flags.add_folders(p)
    p.add_argument("--base-plan", default="2022",
                   help="plan whose network settings, population lag and solver are used (default 2022)")
    p.add_argument("--folds", type=int, default=5, help="k of the k-fold cross-validation (default 5)")
    p.add_argument("--exponent-grid", default=DEFAULT_GRID, metavar="LOW:HIGH:STEP",
                   help=f"population exponents tried (default {DEFAULT_GRID})")
    p.add_argument("--coarse", type=int, default=DEFAULT_COARSE, metavar="N",
                   help="search every N-th exponent first, then all within N-1 steps of the best "
                        f"(1: every exponent; default {DEFAULT_COARSE})")
    p.add_argument("--exclude", action="append", default=[], metavar="CRITERION",
                   help="leave a criterion out of the fit (repeatable); the output is "
                        "calibrated-<year>-without-<criteria>.yaml")


def run(args: argparse.Namespace) -> int:
    print(calibration_summary(calibrate_year(args)))
    return 0


def calibrate_year(args: argparse.Namespace) -> dict:
    year = args.year
    config_dir, data_dir = Path(args.config_dir), Path(args.data_dir)
    grid = parse_grid(args.exponent_grid)
    if args.coarse < 1:
        raise InputError("--coarse", f"must be at least 1, got {args.coarse}")
    if args.folds < 2:
        raise InputError("--folds", f"must be at least 2, got {args.folds}")
    resolved = resolve_plan(args.base_plan, config_dir, data_dir)
    plan = calibration_plan(year, resolved.plan, str(resolved.plan_files[0]))
    data = read_plan_data(plan, resolved.files, data_dir)
    check_history(data, year)
    requests_path = data_dir / REQUESTS_FILE.format(year=year)
    if not requests_path.is_file():
        raise InputError(str(requests_path), f"no real requests for {year}",
                         f"publish IMDi's requests for {year} as {requests_path.name} (see README, Calibration)")
    requests = Source.read(requests_path)
    requests_path = requests.path
    real = read_requests(requests, year, data.codes)
    indicator_frame = criteria.indicators(data, access_frame(data, plan.network.reasonable_travel_minutes),
                                          plan.network.reasonable_travel_minutes)
    indicator_frame = exclude(indicator_frame, args.exclude)

    m = data.municipalities
    population = m["population"]
    known = real.dropna().astype(float)
    solvers = make_solvers(plan.solver)
    fitted = calibrate.fit(population, indicator_frame, known, solvers, grid, args.coarse)
    folds = calibrate.fold_by_position(known.index, args.folds)
    kfold = calibrate.cross_validate(population, indicator_frame, known, folds, solvers, grid, args.coarse)
    loco = calibrate.cross_validate(population, indicator_frame, known, m["fylke"], solvers, grid,
                                  args.coarse)

    predictions = pd.DataFrame({
        "kommunenummer": m.index, "kommune": m["kommune"], "fylke": m["fylke"], "fylkesnavn": m["fylkesnavn"],
        "population": population, "real": real.reindex(m.index),
        "in_sample": calibrate.predict(population, indicator_frame, known, fitted),
        "kfold": kfold["predicted"].reindex(m.index), "fold": folds.reindex(m.index).astype("Int64"),
        "leave_one_county_out": loco["predicted"].reindex(m.index),
    }).reset_index(drop=True)
    figures = {name: calibrate_figures(predictions, name) for name in ("in_sample", "kfold", "leave_one_county_out")}
    name = output_name(year, args.exclude)
    cal = CalibrationFile(
        calibration=Provenance(
            year=year, date=datetime.date.today().isoformat(), base_plan=args.base_plan,
            requests_file=requests_path.name, requests_sha256=requests.sha256,
            population_year=plan.population_year, history_years=tuple(sorted(data.history["year"].unique().tolist())),
            method="least absolute deviations (LP, HiGHS) for the weights at each exponent searched; "
                   "exponent with the smallest in-sample WAPE; grid searched every coarse_every-th "
                   "exponent, then all within coarse_every-1 steps of the best",
            exponent_grid=args.exponent_grid, coarse_every=args.coarse, municipalities_fitted=len(known),
            not_fitted=tuple(real.index[real.isna()]), excluded_criteria=tuple(sorted(set(args.exclude)))),
        criteria=CalibratedCriteria(population_exponent=fitted.exponent,
                                    weights={k: fitted.weights.get(k, 0.0) for k in ALL_CRITERIA}),
        practice=Practice(**calibrate.practice(known)),
        fit=FitSummary(folds=args.folds, **{k: Figures(**v) for k, v in figures.items()}),
    )
    result = {"name": name, "calibration": cal, "fitted": fitted, "predictions": predictions,
              "kfold": kfold, "loco": loco, "lacked": [k for k in ALL_CRITERIA if k not in indicator_frame.columns],
              "inputs": {**resolved.input_hashes(), str(requests_path): requests.sha256},
              "folder": Path(args.out) / name.replace("calibrated", "calibration", 1),
              "config_path": config_dir / f"{name}.yaml"}
    atomic_folder(Path(args.out), result["folder"], lambda staging: write_report(staging, result))
    write_config(config_dir, result["config_path"], cal)
    return result


def access_frame(data: PlanData, reasonable_minutes: float) -> pd.DataFrame:
    """The one place the calibration computes access (``minutes_to_school``,
    ``reachable_population``): the transport graph when the inputs carry its
    links, else the commuting regions."""
    if data.adjacency is not None:
        return network.build_network(data.municipalities, data.adjacency, reasonable_minutes).access
    return network.access_from_commuting_regions(data.municipalities)


def calibration_plan(year: int, base: Plan, where: str) -> Plan:
    """The base plan moved to ``year``; refuses settings that read the year itself."""
    lag = base.criteria.population_lag_years
    if lag < 1:
        raise InputError(where, f"criteria.population_lag_years: {lag} reads population on 1 January "
                         f"{year - lag}, inside the year {year} being fitted", "look-ahead; set it >= 1")
    for dataset, vintage in sorted(STRUCTURAL_VINTAGE.items()):
        if vintage >= year:
            raise InputError(CATALOG[dataset], f"describes {vintage}, not known before {year}",
                             "look-ahead; calibrate a later year or supply an older register")
    return dataclasses.replace(base, year=year, name=f"calibration-{year}")


def check_history(data: PlanData, year: int) -> None:
    late = data.history["year"] >= year
    if late.any():
        raise InputError(CATALOG["history"], f"settlement history of {int(data.history['year'][late].iloc[0])} "
                         f"used to fit {year}", "look-ahead; only years before the fitted year may be read")


def exclude(indicator_frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    for name in names:
        if name not in ALL_CRITERIA:
            raise InputError("--exclude", f"unknown criterion {name!r}", f"known: {', '.join(ALL_CRITERIA)}")
    return indicator_frame.drop(columns=[n for n in names if n in indicator_frame.columns])


def output_name(year: int, excluded: list[str]) -> str:
    return f"calibrated-{year}" + (f"-without-{'-'.join(sorted(set(excluded)))}" if excluded else "")


def parse_grid(text: str) -> tuple[float, ...]:
    try:
        low, high, step = (float(x) for x in text.split(":"))
        return calibrate.exponent_grid(low, high, step)
    except ValueError as exc:
        raise InputError("--exponent-grid", f"{text!r} is not LOW:HIGH:STEP with 0 < LOW <= HIGH, STEP > 0",
                         f"e.g. {DEFAULT_GRID}") from exc


def read_requests(source: Source, year: int, codes: pd.Index) -> pd.Series:
    """Real requests of ``year`` per municipality; NA where none is recorded."""
    column = REQUESTS_COLUMN.format(year=year)
    frame = read_table(source, [Column("kommunenummer", "code"), Column(column, "int", required=False)])
    check_codes(frame, source.path, codes)
    return frame.set_index("kommunenummer")[column].reindex(codes).astype("Float64").astype(float).rename("real")


def calibrate_figures(predictions: pd.DataFrame, column: str) -> dict:
    known = predictions.dropna(subset=["real"]).set_index("kommunenummer")
    return {"wape": round(calibrate.wape(known[column], known["real"]), 4),
            "spearman": round(calibrate.spearman(known[column], known["real"]), 4)}


# --- writers ---

def write_config(config_dir: Path, path: Path, cal: CalibrationFile) -> None:
    """The calibrated config, atomically (temporary file in the same folder, then rename)."""
    year = cal.calibration.year
    command = f"python -m pipeline calibrate --year {year}" + "".join(
        f" --exclude {name}" for name in cal.calibration.excluded_criteria)
    header = (f"# Criteria weights calibrated on IMDi's real requests for {year}.\n"
              f"# Written by `{command}`; re-run it rather than editing this file.\n"
              f"# A plan uses it with `criteria: {{calibration: {path.stem}}}` (README, Calibration).\n")
    text = header + yaml.safe_dump(calibration_to_dict(cal), sort_keys=False, allow_unicode=True, width=100)
    atomic_file(config_dir, path, text)


def write_report(folder: Path, result: dict) -> None:
    cal: CalibrationFile = result["calibration"]
    predictions = result["predictions"]
    write_csv(predictions, folder / "predictions.csv")
    by_county = calibrate.residuals_by_group(
        predictions.dropna(subset=["real"]), ["fylke", "fylkesnavn"], "real",
        ["in_sample", "kfold", "leave_one_county_out"])
    write_csv(by_county, folder / "residuals_by_county.csv")
    fitted = result["fitted"]
    folds = {name: fold_figures(result[name], predictions) for name in ("kfold", "loco")}
    write_json({
        **calibration_to_dict(cal),
        "config": str(result["config_path"]),
        "criteria_lacking_data": result["lacked"],
        "exponent_at_grid_edge": fitted.at_grid_edge,
        "wape_by_exponent": {f"{a:.2f}": round(v, 6) for a, v in fitted.curve.items()},
        "per_fold": folds,
        "inputs": result["inputs"],
        "packages": package_versions(),
    }, folder / "fit.json")
    plot(predictions, cal, folder / "predicted_vs_real.png")
    (folder / "report.md").write_text(report_text(result, by_county, folds), encoding="utf-8")


def fold_figures(cv: pd.DataFrame, predictions: pd.DataFrame) -> list[dict]:
    """Per held-out group: its size, the exponent fitted without it, its WAPE and Spearman."""
    real = predictions.set_index("kommunenummer")["real"]
    rows = []
    for group, frame in cv.groupby("group", sort=True):
        r = real.loc[frame.index]
        rows.append({"group": str(group), "municipalities": len(frame), "exponent": float(frame["exponent"].iloc[0]),
                     "wape": round(calibrate.wape(frame["predicted"], r), 4),
                     "spearman": round(calibrate.spearman(frame["predicted"], r), 4) if len(frame) > 1 else None})
    return rows


def plot(predictions: pd.DataFrame, cal: CalibrationFile, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    known = predictions.dropna(subset=["real"])
    fig, ax = plt.subplots(figsize=(7, 7), dpi=100)
    ax.scatter(known["real"], known["kfold"], s=14, facecolors="none", edgecolors="tab:orange",
               label=f"{cal.fit.folds}-fold out of sample (WAPE {cal.fit.kfold.wape:.3f})")
    ax.scatter(known["real"], known["in_sample"], s=10, color="tab:blue",
               label=f"in sample (WAPE {cal.fit.in_sample.wape:.3f}, Spearman {cal.fit.in_sample.spearman:.3f})")
    top = float(max(known["real"].max(), known["in_sample"].max(), known["kfold"].max())) * 1.2
    ax.plot([1, top], [1, top], color="grey", linewidth=1, label="predicted = real")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"real request {cal.calibration.year} (IMDi)")
    ax.set_ylabel("predicted by the calibrated target formula")
    ax.set_title(f"Calibration {cal.calibration.year}: exponent {cal.criteria.population_exponent:.2f}, "
                 f"{len(known)} municipalities")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def report_text(result: dict, by_county: pd.DataFrame, folds: dict) -> str:
    cal: CalibrationFile = result["calibration"]
    c, fit, pr = cal.calibration, cal.fit, cal.practice
    weights = "\n".join(f"| {k} | {w:.4f} |" for k, w in cal.criteria.weights.items())
    county = "\n".join(
        f"| {r.fylke} {r.fylkesnavn} | {r.municipalities} | {r.real:.0f} | {r.in_sample:.0f} | "
        f"{r.in_sample_residual:+.0f} | {r.in_sample_wape:.3f} | {r.leave_one_county_out:.0f} | "
        f"{r.leave_one_county_out_residual:+.0f} |" for r in by_county.itertuples())
    kfold = ", ".join(f"fold {f['group']}: {f['wape']:.3f}" for f in folds["kfold"])
    lacked = ", ".join(result["lacked"]) or "none"
    names = result["predictions"].set_index("kommunenummer")["kommune"]
    not_fitted = ", ".join(f"{code} {names[code]}" for code in c.not_fitted) or "none"
    edge = " The exponent lies at the edge of the grid: widen `--exponent-grid`." if result["fitted"].at_grid_edge else ""
    return f"""# Calibration on the real requests of {c.year}

Date {c.date}. Real requests: `{c.requests_file}` (sha256 `{c.requests_sha256[:16]}…`),
{c.municipalities_fitted} municipalities fitted; not fitted (no request recorded): {not_fitted}.
Inputs as a plan for {c.year} would have had them: population on 1 January {c.population_year},
settlement history {', '.join(map(str, c.history_years)) or 'none'}, schools, transport network, centrality
(base plan `{c.base_plan}` for the travel-time setting and solver). Criteria without data: {lacked}.

Method: {c.method}; grid {c.exponent_grid}.{edge}

## Fitted parameters (`{result['config_path']}`)

Population exponent **{cal.criteria.population_exponent:.2f}**

| criterion | weight |
|---|---|
{weights}

## Fit

| | WAPE | Spearman |
|---|---|---|
| in sample | {fit.in_sample.wape:.4f} | {fit.in_sample.spearman:.4f} |
| {fit.folds}-fold cross-validation | {fit.kfold.wape:.4f} | {fit.kfold.spearman:.4f} |
| leave one county out | {fit.leave_one_county_out.wape:.4f} | {fit.leave_one_county_out.spearman:.4f} |

WAPE = Σ|predicted − real| / Σ real. Out-of-sample figures pool the held-out
predictions; every fold refits exponent and weights on the other municipalities
and predicts the held-out ones with the training set's rate per unit of criterion
(see `optimiser/calibrate.py`). Folds: sorted kommunenummer, fold = position mod {fit.folds}
({kfold}).

## Residuals per county (predicted − real)

| county | municipalities | real | in sample | residual | WAPE | leave county out | residual |
|---|---|---|---|---|---|---|---|
{county}

## Practice seen in {c.year}

Smallest positive request {pr.minimum_request}; {pr.share_at_least_10:.1%} of the {pr.asked} positive requests
are at least 10; municipalities asked for 0: {pr.not_asked}. Granularity {pr.granularity_persons}: the largest
of 1, 5, 10 that divides at least 90% of positive requests (it divides {pr.granularity_share:.1%}).
These are recorded for planners; a plan sets its own `minimum_request` and `granularity_persons`.

![predicted against real](predicted_vs_real.png)
"""


def calibration_summary(result: dict) -> str:
    cal: CalibrationFile = result["calibration"]
    fit, pr = cal.fit, cal.practice
    weights = ", ".join(f"{k} {w:.4f}" for k, w in cal.criteria.weights.items() if w > 0)
    lines = [
        f"calibration {cal.calibration.year}: {cal.calibration.municipalities_fitted} municipalities fitted"
        + (f" (not fitted, no request: {', '.join(cal.calibration.not_fitted)})" if cal.calibration.not_fitted else ""),
        f"population exponent {cal.criteria.population_exponent:.2f}; weights: {weights}",
        f"{'':<24}{'WAPE':>8}{'Spearman':>10}",
        f"{'in sample':<24}{fit.in_sample.wape:>8.4f}{fit.in_sample.spearman:>10.4f}",
        f"{f'{fit.folds}-fold CV':<24}{fit.kfold.wape:>8.4f}{fit.kfold.spearman:>10.4f}",
        f"{'leave one county out':<24}{fit.leave_one_county_out.wape:>8.4f}{fit.leave_one_county_out.spearman:>10.4f}",
        f"practice: smallest request {pr.minimum_request} ({pr.share_at_least_10:.1%} >= 10), "
        f"granularity {pr.granularity_persons} ({pr.granularity_share:.1%} of requests)",
        f"wrote {result['config_path']} and {result['folder']}/",
    ]
    return "\n".join(lines)
