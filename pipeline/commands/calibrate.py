"""``python -m pipeline calibrate --years 2015-2021``: fit the target formula to past years' real requests.

For every year t fitted, the criteria are built from what a plan for t could
have known: population on 1 January t-1, settlement history strictly before
t (``optimiser.history``), the refugee population before t, and the
structural registers (schools, commuting regions, centrality) only where
they describe a year before t — otherwise those criteria are left out as
look-ahead, and the output says so.  The target of year t is IMDi's real
requests of t (2020: the original request, the plan as made, before IMDi
lowered it mid-year; 2024: ``data/imdi_anmodning_vedtak_2024.csv``), with
t's own national total.  2022, the exam, is never read: in a range it is
skipped.

The fit (``optimiser.calibrate.fit_years``) chooses one population exponent,
one history damping and one weight per criterion for all the years at once,
minimising their mean WAPE by least absolute deviations.  Out of sample:
5-fold cross-validation over municipalities (every year's held-out
municipalities predicted with the training municipalities' fit) and, with
several years, leaving each year out (the year predicted by the fit on the
others: the forecasting test).

Writes ``config/calibrated-<first>-<last>.yaml`` (what a plan takes with
``criteria: {calibration: calibrated-<first>-<last>}``) and
``out/calibration-<first>-<last>/``: ``fit.json``, ``predictions.csv``,
``residuals_by_county.csv``, ``predicted_vs_real.png`` and ``report.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from optimiser import calibrate, criteria, network
from optimiser.data import PlanData
from optimiser.plan import ALL_CRITERIA, STRUCTURAL_CRITERIA, Plan
from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.inputs.catalog import national_path
from pipeline.inputs.history import EXAM_YEAR, read_requests_of_year, read_settlement_history
from pipeline.inputs.national import read_plan_data
from pipeline.plans.calibrated import (
    CalibratedCriteria,
    CalibrationFile,
    Figures,
    FitSummary,
    Practice,
    Provenance,
    calibration_to_dict,
)
from pipeline.plans.resolve import ResolvedPlan, resolve_plan
from pipeline.publish.files import atomic_file, atomic_folder, write_csv, write_json
from pipeline.publish.manifest import package_versions
from pipeline.solvers import make_solvers

# The last year each structural register describes (data/README.md): a year
# fitted at or before it would read the register as look-ahead.
STRUCTURAL_VINTAGE = 2022
FIRST_YEAR = 2015  # the first year with a year of history before it
DEFAULT_GRID = "0.30:1.00:0.01"
DEFAULT_COARSE = 5
DEFAULT_DAMPINGS = "0,0.25,0.5,0.75,1"
FOLDS = 5
REQUESTS_2024 = "requests_2024"


@dataclass(frozen=True)
class FitSettings:
    grid: tuple[float, ...]
    dampings: tuple[float, ...]
    coarse: int
    grid_text: str
    excluded: tuple[str, ...] = ()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--years", required=True, help="the years whose real requests are fitted: 2015-2021, 2024 or "
                                                  "2017,2019 (2022 is skipped)")
    flags.add_folders(p)
    p.add_argument("--base-plan", default="2022",
                   help="plan whose network setting, population lag and solver are used (default 2022)")
    add_fit_arguments(p)


def add_fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exponent-grid", default=DEFAULT_GRID, metavar="LOW:HIGH:STEP",
                   help=f"population exponents tried (default {DEFAULT_GRID})")
    p.add_argument("--coarse", type=int, default=DEFAULT_COARSE, metavar="N",
                   help="search every N-th exponent first, then all within N-1 steps of the best "
                        f"(1: every exponent; default {DEFAULT_COARSE})")
    p.add_argument("--dampings", default=DEFAULT_DAMPINGS, help=f"history dampings tried (default {DEFAULT_DAMPINGS})")
    p.add_argument("--exclude", action="append", default=[], metavar="CRITERION",
                   help="leave a criterion out of the fit (repeatable)")


def run(args: argparse.Namespace) -> int:
    print(calibration_summary(calibrate_years(args)))
    return 0


def fit_settings(args: argparse.Namespace) -> FitSettings:
    if args.coarse < 1:
        raise InputError("--coarse", f"must be at least 1, got {args.coarse}")
    for name in args.exclude:
        if name not in ALL_CRITERIA:
            raise InputError("--exclude", f"unknown criterion {name!r}", f"known: {', '.join(ALL_CRITERIA)}")
    try:
        dampings = tuple(sorted({float(d) for d in args.dampings.split(",")}))
    except ValueError:
        raise InputError("--dampings", f"{args.dampings!r} is not a comma-separated list of numbers") from None
    if any(not 0 <= d <= 5 for d in dampings):
        raise InputError("--dampings", "each damping must be between 0 and 5")
    return FitSettings(parse_grid(args.exponent_grid), dampings, args.coarse, args.exponent_grid,
                       tuple(sorted(set(args.exclude))))


def parse_years(text: str) -> tuple[int, ...]:
    """'2015-2021', '2024' or '2017,2019' -> the years, without the exam year."""
    try:
        years = set()
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            years |= set(range(int(low), int(high or low) + 1))
    except ValueError:
        raise InputError("--years", f"{text!r} is not a year, a range like 2015-2021 or a list") from None
    years.discard(EXAM_YEAR)
    if not years or min(years) < FIRST_YEAR or max(years) > 2100:
        raise InputError("--years", f"{text!r}: years from {FIRST_YEAR} (the first with history before it), "
                         f"and not {EXAM_YEAR} alone")
    return tuple(sorted(years))


def parse_grid(text: str) -> tuple[float, ...]:
    try:
        low, high, step = (float(x) for x in text.split(":"))
        return calibrate.exponent_grid(low, high, step)
    except ValueError as exc:
        raise InputError("--exponent-grid", f"{text!r} is not LOW:HIGH:STEP with 0 < LOW <= HIGH, STEP > 0",
                         f"e.g. {DEFAULT_GRID}") from exc


# --- the years' inputs ---------------------------------------------------------------------------

@dataclass(frozen=True)
class YearData:
    """One year as a plan for it knew it, and what IMDi really asked."""

    inputs: calibrate.YearInputs
    real: pd.Series  # the fit target: IMDi's requests (2020: original), municipalities with one
    final: pd.Series  # IMDi's final requests of the year (what a backtest scores against)
    municipalities: pd.DataFrame


class YearReader:
    """Builds ``YearData`` for any year from one resolved base plan (files read once,
    each year's data and criteria built once: a backtest asks for the same years again)."""

    def __init__(self, resolved: ResolvedPlan):
        self.resolved = resolved
        self._access: pd.DataFrame | None = None
        self._data: dict[int, PlanData] = {}
        self._years: dict[tuple[int, tuple[str, ...]], YearData] = {}

    def plan_for(self, year: int) -> Plan:
        return dataclasses.replace(self.resolved.plan, year=year, name=f"calibration-{year}")

    def data(self, year: int) -> PlanData:
        if year not in self._data:
            self._data[year] = read_plan_data(self.plan_for(year), self.resolved.files, self.resolved.data_dir)
        return self._data[year]

    def access(self, data: PlanData) -> pd.DataFrame:
        if self._access is None:
            self._access = network.build_network(data.municipalities, data.adjacency,
                                                 self.resolved.plan.network.reasonable_travel_minutes).access
        return self._access

    def requests(self, year: int, codes: pd.Index) -> tuple[pd.Series, pd.Series]:
        """IMDi's requests of ``year`` (municipalities with one), from one read:
        the original where the file gives one (2020's, before it was cut), and the final."""
        if year == 2024:
            source = self.resolved.files.get_source(national_path(REQUESTS_2024, self.resolved.data_dir))
            final = read_requests_of_year(source, year, codes).dropna()
            return final, final
        source = self.resolved.files.get_source(national_path("history", self.resolved.data_dir))
        rows = read_settlement_history(source, codes, year + 1)
        rows = rows[rows["year"] == year].set_index("kommunenummer")
        if rows.empty:
            raise InputError(str(source.path), f"no real requests for {year}",
                             "calibrate and backtest years with requests in data/ (README, Calibration)")
        column = "requested_original" if rows["requested_original"].notna().any() else "requested"
        return tuple(rows[c].reindex(codes).dropna().astype(float) for c in (column, "requested"))

    def year(self, year: int, excluded: tuple[str, ...] = ()) -> YearData:
        """The year's data without the ``excluded`` criteria."""
        key = (year, tuple(excluded))
        if key not in self._years:
            self._years[key] = self._year(year, key[1])
        return self._years[key]

    def _year(self, year: int, excluded: tuple[str, ...]) -> YearData:
        data = self.data(year)
        found = criteria.criteria_of(data, self.access(data), self.resolved.plan.network.reasonable_travel_minutes,
                                     year)
        drop = set(excluded)
        indicators = found.indicators.drop(columns=[c for c in found.indicators if c in drop])
        shares = found.shares.drop(columns=[c for c in found.shares if c in drop])
        m = data.municipalities
        real, final = self.requests(year, m.index)
        growth = float(real.sum()) / found.last_need if found.last_need else 1.0
        inputs = calibrate.YearInputs(year=year, population=m["population"], indicators=indicators,
                                      shares=shares if len(shares.columns) else None, growth=growth)
        return YearData(inputs=inputs, real=real, final=final, municipalities=m)


def look_ahead(years) -> tuple[str, ...]:
    """The structural criteria a set of years must leave out: all of them when
    any year is not after the registers' vintage (one criterion set for all)."""
    return STRUCTURAL_CRITERIA if min(years) <= STRUCTURAL_VINTAGE else ()


def fit(years: list[YearData], settings: FitSettings, solvers: list,
        reals: dict[int, pd.Series] | None = None) -> calibrate.YearsCalibration:
    """One exponent, damping and weight vector for ``years`` (``reals``: the targets, by default each year's)."""
    return calibrate.fit_years([y.inputs for y in years], reals or {y.inputs.year: y.real for y in years}, solvers,
                               settings.grid, settings.dampings, settings.coarse)


def predict(year: YearData, calibration: calibrate.YearsCalibration, need: float,
            codes: pd.Index | None = None) -> pd.Series:
    return calibrate.predict_year(year.inputs, need, calibration, codes if codes is not None else year.real.index)


# --- the command -------------------------------------------------------------------------------

def calibrate_years(args: argparse.Namespace) -> dict:
    config_dir, data_dir = Path(args.config_dir), Path(args.data_dir)
    settings = fit_settings(args)
    years = parse_years(args.years)
    resolved = resolve_plan(args.base_plan, config_dir, data_dir)
    if resolved.plan.criteria.population_lag_years < 1:
        raise InputError(str(resolved.plan_files[0]), "criteria.population_lag_years must be >= 1 (look-ahead)")
    reader = YearReader(resolved)
    left_out = look_ahead(years)
    data = [reader.year(y, tuple(sorted(set(settings.excluded) | set(left_out)))) for y in years]
    solvers = make_solvers(resolved.plan.solver)
    fitted = fit(data, settings, solvers)
    predictions = in_sample_and_held_out(data, fitted, settings, solvers)
    figures = {name: figures_of(predictions, name) for name in ("in_sample", "kfold", "leave_one_year_out")
               if predictions[name].notna().any()}
    first, last = years[0], years[-1]
    name = output_name(first, last, settings.excluded)
    files = {national_path("history", data_dir), national_path("population", data_dir),
             national_path("population_early", data_dir), national_path("refugees", data_dir)}
    if 2024 in years:
        files.add(national_path(REQUESTS_2024, data_dir))
    hashes = {str(p): resolved.files.get_source(p).sha256 for p in sorted(files)}
    cal = CalibrationFile(
        calibration=Provenance(
            years=years, date=datetime.date.today().isoformat(), base_plan=args.base_plan, requests_files=hashes,
            method="least absolute deviations (LP, HiGHS) over all the years at once for each exponent and damping "
                   "searched; the pair with the smallest mean WAPE; grid searched every coarse_every-th exponent, "
                   "then all within coarse_every-1 steps of the best",
            exponent_grid=settings.grid_text, dampings=settings.dampings, coarse_every=settings.coarse,
            municipalities_fitted={str(y.inputs.year): int(len(y.real)) for y in data},
            excluded_criteria=settings.excluded, left_out_as_look_ahead=left_out),
        criteria=CalibratedCriteria(population_exponent=fitted.exponent, history_damping=fitted.damping,
                                    weights={k: fitted.weights.get(k, 0.0) for k in ALL_CRITERIA}),
        practice={str(y.inputs.year): Practice(**calibrate.practice(y.final)) for y in data},
        fit=FitSummary(folds=FOLDS, in_sample=Figures(**figures["in_sample"]), kfold=Figures(**figures["kfold"]),
                       leave_one_year_out=Figures(**figures["leave_one_year_out"])
                       if "leave_one_year_out" in figures else None,
                       per_year_wape={str(k): round(float(v), 4) for k, v in fitted.per_year.items()}),
    )
    result = {"name": name, "calibration": cal, "fitted": fitted, "predictions": predictions,
              "inputs": {**resolved.input_hashes()}, "years": years,
              "folder": Path(args.out) / name.replace("calibrated", "calibration", 1),
              "config_path": config_dir / f"{name}.yaml"}
    atomic_folder(Path(args.out), result["folder"], lambda staging: write_report(staging, result))
    write_config(config_dir, result["config_path"], cal)
    return result


def in_sample_and_held_out(data: list[YearData], fitted: calibrate.YearsCalibration, settings: FitSettings,
                           solvers: list) -> pd.DataFrame:
    """Per year and municipality: real, in-sample, 5-fold and (several years) leave-one-year-out predictions."""
    rows = []
    folds = {y.inputs.year: calibrate.fold_by_position(y.real.index, FOLDS) for y in data}
    by_fold = {}
    for k in range(FOLDS):
        train = {y.inputs.year: y.real[folds[y.inputs.year] != k] for y in data}
        by_fold[k] = fit(data, settings, solvers, train)
    for y in data:
        year = y.inputs.year
        kfold = pd.Series(np.nan, index=y.real.index)
        for k, cal in by_fold.items():
            held = folds[year].index[folds[year] == k]
            train = y.real[folds[year] != k]
            # Normalised over the training municipalities: a held-out one gets the training rate.
            kfold[held] = calibrate.predict_year(y.inputs, float(train.sum()), cal, held, train.index)
        loyo = pd.Series(np.nan, index=y.real.index)
        if len(data) > 1:
            others = [d for d in data if d.inputs.year != year]
            loyo = predict(y, fit(others, settings, solvers), float(y.real.sum()))
        m = y.municipalities.loc[y.real.index]
        rows.append(pd.DataFrame({
            "year": year, "kommunenummer": y.real.index, "kommune": m["kommune"].to_numpy(),
            "fylke": m["fylke"].to_numpy(), "fylkesnavn": m["fylkesnavn"].to_numpy(),
            "population": m["population"].to_numpy(), "real": y.real.to_numpy(),
            "in_sample": predict(y, fitted, float(y.real.sum())).to_numpy(),
            "kfold": kfold.to_numpy(), "leave_one_year_out": loyo.reindex(y.real.index).to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def figures_of(predictions: pd.DataFrame, column: str) -> dict:
    """Mean over the years of each year's WAPE and Spearman."""
    per_year = [(calibrate.wape(g.set_index("kommunenummer")[column], g.set_index("kommunenummer")["real"]),
                 calibrate.spearman(g.set_index("kommunenummer")[column], g.set_index("kommunenummer")["real"]))
                for _, g in predictions.dropna(subset=[column]).groupby("year")]
    return {"wape": round(float(np.mean([w for w, _ in per_year])), 4),
            "spearman": round(float(np.mean([s for _, s in per_year])), 4)}


def output_name(first: int, last: int, excluded: tuple[str, ...]) -> str:
    years = str(first) if first == last else f"{first}-{last}"
    return f"calibrated-{years}" + (f"-without-{'-'.join(excluded)}" if excluded else "")


# --- writers ---

def write_config(config_dir: Path, path: Path, cal: CalibrationFile) -> None:
    """The calibrated config, atomically."""
    years = cal.calibration.years
    command = f"python -m pipeline calibrate --years {years[0]}-{years[-1]}" + "".join(
        f" --exclude {name}" for name in cal.calibration.excluded_criteria)
    header = (f"# Criteria weights calibrated on IMDi's real requests of {', '.join(map(str, years))}.\n"
              f"# Written by `{command}`; re-run it rather than editing this file.\n"
              f"# A plan uses it with `criteria: {{calibration: {path.stem}}}` (README, Calibration).\n")
    text = header + yaml.safe_dump(calibration_to_dict(cal), sort_keys=False, allow_unicode=True, width=100)
    atomic_file(config_dir, path, text)


def write_report(folder: Path, result: dict) -> None:
    cal: CalibrationFile = result["calibration"]
    predictions = result["predictions"]
    write_csv(predictions, folder / "predictions.csv")
    by_county = calibrate.residuals_by_group(predictions, ["year", "fylke", "fylkesnavn"], "real",
                                             [c for c in ("in_sample", "kfold", "leave_one_year_out")
                                              if predictions[c].notna().any()])
    write_csv(by_county, folder / "residuals_by_county.csv")
    fitted = result["fitted"]
    write_json({
        **calibration_to_dict(cal),
        "config": str(result["config_path"]),
        "wape_by_exponent_and_damping": {f"{a:.2f}/{d:g}": round(v, 6) for (a, d), v in fitted.curve.items()},
        "inputs": result["inputs"],
        "packages": package_versions(),
    }, folder / "fit.json")
    plot(predictions, cal, folder / "predicted_vs_real.png")
    (folder / "report.md").write_text(report_text(result), encoding="utf-8")


def plot(predictions: pd.DataFrame, cal: CalibrationFile, path: Path) -> None:
    column = "leave_one_year_out" if predictions["leave_one_year_out"].notna().any() else "kfold"
    years = cal.calibration.years
    scatter_against_real(
        path, predictions["real"],
        [(predictions[column], dict(s=12, facecolors="none", edgecolors="tab:orange",
                                    label=f"out of sample ({column.replace('_', ' ')})")),
         (predictions["in_sample"], dict(s=8, color="tab:blue",
                                         label=f"in sample (mean WAPE {cal.fit.in_sample.wape:.3f})"))],
        xlabel="real request (IMDi)", ylabel="predicted by the calibrated target formula",
        title=f"Calibration {years[0]}-{years[-1]}: exponent {cal.criteria.population_exponent:.2f}, "
              f"damping {cal.criteria.history_damping:g}",
        size=7.0, diagonal_label="predicted = real")


def scatter_against_real(path: Path, real: pd.Series, layers: list[tuple[pd.Series, dict]], *, xlabel: str,
                         ylabel: str, title: str, size: float, diagonal_label: str | None = None) -> None:
    """Each layer's values (matplotlib scatter options beside them) against
    ``real`` on symmetric-log axes with the line y = x, up to 1.2 times the
    largest of ``real`` and the last layer; written to ``path`` as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    for values, style in layers:
        ax.scatter(real, values, **style)
    top = float(max(real.max(), layers[-1][0].max())) * 1.2
    ax.plot([1, top], [1, top], color="grey", linewidth=1, **({"label": diagonal_label} if diagonal_label else {}))
    ax.set_xscale("symlog", linthresh=10)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def report_text(result: dict) -> str:
    cal: CalibrationFile = result["calibration"]
    c, fit_ = cal.calibration, cal.fit
    weights = "\n".join(f"| {k} | {w:.4f} |" for k, w in cal.criteria.weights.items() if w > 0)
    per_year = "\n".join(f"| {y} | {w:.4f} |" for y, w in fit_.per_year_wape.items())
    loyo = (f"| leave one year out | {fit_.leave_one_year_out.wape:.4f} | {fit_.leave_one_year_out.spearman:.4f} |"
            if fit_.leave_one_year_out else "")
    left_out = ", ".join(c.left_out_as_look_ahead) or "none"
    return f"""# Calibration on IMDi's real requests of {', '.join(map(str, c.years))}

Date {c.date}. Each year's criteria are what a plan for that year knew: population on 1 January
of the year before, settlement history and the refugee population before the year. Criteria read from
structural registers describing a later year are left out as look-ahead: {left_out}.
Method: {c.method}; exponent grid {c.exponent_grid}, dampings {', '.join(f'{d:g}' for d in c.dampings)}.

## Fitted parameters (`{result['config_path']}`)

Population exponent **{cal.criteria.population_exponent:.2f}**, history damping **{cal.criteria.history_damping:g}**
(history shares keep max(1, N / N_last)^-{cal.criteria.history_damping:g} of their weight as the need grows).

| criterion | weight |
|---|---|
{weights}

## Fit (mean over the years of each year's figure)

| | WAPE | Spearman |
|---|---|---|
| in sample | {fit_.in_sample.wape:.4f} | {fit_.in_sample.spearman:.4f} |
| {fit_.folds}-fold over municipalities | {fit_.kfold.wape:.4f} | {fit_.kfold.spearman:.4f} |
{loyo}

In-sample WAPE per year:

| year | WAPE |
|---|---|
{per_year}

![predicted against real](predicted_vs_real.png)
"""


def calibration_summary(result: dict) -> str:
    cal: CalibrationFile = result["calibration"]
    fit_ = cal.fit
    weights = ", ".join(f"{k} {w:.4f}" for k, w in cal.criteria.weights.items() if w > 0)
    lines = [
        f"calibration on {', '.join(map(str, cal.calibration.years))}: exponent "
        f"{cal.criteria.population_exponent:.2f}, history damping {cal.criteria.history_damping:g}",
        f"weights: {weights}",
        f"{'':<24}{'WAPE':>8}{'Spearman':>10}",
        f"{'in sample':<24}{fit_.in_sample.wape:>8.4f}{fit_.in_sample.spearman:>10.4f}",
        f"{f'{fit_.folds}-fold':<24}{fit_.kfold.wape:>8.4f}{fit_.kfold.spearman:>10.4f}",
    ]
    if fit_.leave_one_year_out:
        lines.append(f"{'leave one year out':<24}{fit_.leave_one_year_out.wape:>8.4f}"
                     f"{fit_.leave_one_year_out.spearman:>10.4f}")
    if cal.calibration.left_out_as_look_ahead:
        lines.append(f"left out as look-ahead (registers describing a later year): "
                     f"{', '.join(cal.calibration.left_out_as_look_ahead)}")
    lines.append(f"wrote {result['config_path']} and {result['folder']}/")
    return "\n".join(lines)
