"""``python -m pipeline backtest --year 2024`` (or ``--all``): plan a past year
as the engine would have, and compare with IMDi's real requests of that year.

For a year Y: the target formula is calibrated on the years before Y only
(from 2015; 2022 is never read), each with its own features and national
total (``pipeline.commands.calibrate``); then Y is planned through the same
code path as ``make allocate`` (``optimiser.allocate.solve_plan``: criteria,
the allocation MILP, HiGHS) with Y's real national need (the sum of its
requests, down to a multiple of the granularity), the practice of Y's
requests (the smallest request asked, and multiples of 5 where most were),
no county recommendations or municipal answers (none are on file for past
years), a capacity rule that does not bind, and without the access rule and
the structural criteria (the school, commuting-region and centrality
registers describe 2020-2022: look-ahead for earlier years).  Two baselines
are computed in the same run: the latest available year's requests rescaled
to Y's need, and population^a with a fitted on the same years.

Writes ``out/backtest/<Y>/`` (predictions, largest misses by municipality
and county, a plot) and ``out/backtest/fidelity.csv``; with ``--fidelity``
also the table ``FIDELITY.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import calibrate
from optimiser.allocate import solve_plan
from optimiser.plan import CapacityRule, CriteriaConfig, NetworkConfig
from pipeline.commands import flags
from pipeline.commands.calibrate import (
    FitSettings,
    YearData,
    YearReader,
    add_fit_arguments,
    fit,
    fit_settings,
    look_ahead,
    scatter_against_real,
)
from pipeline.errors import InputError
from pipeline.inputs.history import EXAM_YEAR
from pipeline.plans.resolve import resolve_plan
from pipeline.publish.files import atomic_file, atomic_folder, csv_text, write_csv
from pipeline.solvers import make_solvers

YEARS = (2017, 2018, 2019, 2020, 2021, 2023, 2024)  # every year with real requests and two years before it
FIRST_TRAINING_YEAR = 2015
# Capacity per 1,000 inhabitants: this many times the year's need per 1,000, so it never binds.
CAPACITY_FACTOR = 3.0
MISSES = 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--year", type=int, help="the year planned and compared")
    which.add_argument("--all", action="store_true", help=f"every backtest year: {', '.join(map(str, YEARS))}")
    flags.add_folders(p)
    p.add_argument("--base-plan", default="2022", help="plan whose penalties, bands and solver are used")
    p.add_argument("--fidelity", default=None, help="also write the table to this Markdown file (FIDELITY.md)")
    add_fit_arguments(p)


def run(args: argparse.Namespace) -> int:
    years = YEARS if args.all else (args.year,)
    if EXAM_YEAR in years:
        raise InputError("--year", f"{EXAM_YEAR} is what plans are judged against; it is never a backtest year")
    if any(y not in YEARS for y in years):
        raise InputError("--year", f"backtest years are {', '.join(map(str, YEARS))} (real requests and two "
                         "years of history before them)")
    settings = fit_settings(args)
    resolved = resolve_plan(args.base_plan, Path(args.config_dir), Path(args.data_dir))
    reader = YearReader(resolved)
    out = Path(args.out) / "backtest"
    rows = []
    for year in years:
        started = time.perf_counter()
        result = backtest_year(reader, year, settings)
        atomic_folder(Path(args.out), out / str(year), lambda staging, r=result: write_year(staging, r))
        rows.append(result["row"])
        r = result["row"]
        print(f"backtest {year}: engine WAPE {r['engine_wape']:.3f} (Spearman {r['engine_spearman']:.3f}); "
              f"last year rescaled {r['last_wape']:.3f} (as a plan {r['last_rounded_wape']:.3f}); "
              f"population^a {r['population_wape']:.3f} (as a plan {r['population_rounded_wape']:.3f})  "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)
    table = pd.DataFrame(rows)
    if args.all:
        atomic_file(Path(args.out), out / "fidelity.csv", csv_text(table))
        if args.fidelity:
            fidelity = Path(args.fidelity)
            atomic_file(fidelity.parent, fidelity, fidelity_markdown(table, settings))
            print(f"wrote {args.fidelity}")
    return 0


def training_years(year: int) -> list[int]:
    return [t for t in range(FIRST_TRAINING_YEAR, year) if t != EXAM_YEAR]


def backtest_year(reader: YearReader, year: int, settings: FitSettings) -> dict:
    """Calibrate on the years before ``year``, plan it, score it and the baselines."""
    train_years = training_years(year)
    excluded = tuple(sorted(set(settings.excluded) | set(look_ahead(train_years + [year]))))
    train = [reader.year(t, excluded) for t in train_years]
    solvers = make_solvers(reader.resolved.plan.solver)
    fitted = fit(train, settings, solvers)
    target = reader.year(year, excluded)
    real = target.final
    practice = calibrate.practice(real)
    granularity = practice["granularity_persons"]
    need = int(real.sum()) // granularity * granularity
    plan = backtest_plan(reader, year, need, practice, fitted)
    data = reader.data(year)
    planned = solve_plan(data, reader.access(data), plan, solvers)
    engine = planned.allocation.set_index("kommunenummer")["request"].astype(float)

    last_year = max(t for t in train_years)
    previous = reader.year(last_year, excluded).final.reindex(real.index).fillna(0.0)
    last = previous / previous.sum() * need
    by_population = population_fit(train, target, settings, solvers, need)

    predictions = pd.DataFrame({
        "kommunenummer": real.index, "kommune": target.municipalities.loc[real.index, "kommune"].to_numpy(),
        "fylke": target.municipalities.loc[real.index, "fylke"].to_numpy(),
        "fylkesnavn": target.municipalities.loc[real.index, "fylkesnavn"].to_numpy(),
        "real": real.to_numpy(), "engine": engine.reindex(real.index).to_numpy(),
        "last_rescaled": last.to_numpy(), "population": by_population.reindex(real.index).to_numpy()})
    # The baselines as plans a planner could send: whole, 0 or at least the minimum, in the year's units.
    for column in ("last_rescaled", "population"):
        rounded = calibrate.round_to_practice(predictions.set_index("kommunenummer")[column], need,
                                              practice["minimum_request"], granularity)
        predictions[f"{column}_rounded"] = rounded.reindex(real.index).to_numpy()
    row = {"year": year, "need": need, "minimum": practice["minimum_request"], "granularity": granularity,
           "trained_on": f"{train_years[0]}-{train_years[-1]}", "exponent": fitted.exponent,
           "damping": fitted.damping, "last_year": last_year,
           "growth": round(float(target.inputs.growth), 3), "solve_status": planned.result.status.name.lower()}
    for name, column in (("engine", "engine"), ("last", "last_rescaled"), ("population", "population"),
                         ("last_rounded", "last_rescaled_rounded"), ("population_rounded", "population_rounded")):
        row[f"{name}_wape"] = round(calibrate.wape(predictions.set_index("kommunenummer")[column], real), 4)
        row[f"{name}_spearman"] = round(calibrate.spearman(predictions.set_index("kommunenummer")[column], real), 4)
    row["weights"] = "; ".join(f"{k} {w:.3f}" for k, w in fitted.weights.items() if w > 0)
    return {"year": year, "row": row, "predictions": predictions, "fitted": fitted}


def backtest_plan(reader: YearReader, year: int, need: int, practice: dict, fitted) -> object:
    """The base plan moved to ``year``: its need, its practice, the fitted criteria, nothing submitted."""
    base = reader.resolved.plan
    per_1000 = CAPACITY_FACTOR * need / float(reader.data(year).municipalities["population"].sum()) * 1000.0
    return dataclasses.replace(
        base, name=f"backtest-{year}", year=year, need_persons=need,
        minimum_request=int(practice["minimum_request"]), granularity_persons=int(practice["granularity_persons"]),
        criteria=CriteriaConfig(population_exponent=fitted.exponent, weights=dict(fitted.weights),
                                history_damping=fitted.damping),
        capacity=CapacityRule(base_per_1000_inhabitants=max(3.0, per_1000), extra_per_1000_inhabitants=max(3.0, per_1000)),
        network=NetworkConfig(reasonable_travel_minutes=base.network.reasonable_travel_minutes, access_rule=False),
        unaccompanied_minors=None, replan=None)


def population_fit(train: list[YearData], target: YearData, settings: FitSettings, solvers: list,
                   need: float) -> pd.Series:
    """Baseline b: population^a, a fitted on the training years."""
    def alone(y: YearData) -> YearData:
        inputs = calibrate.YearInputs(year=y.inputs.year, population=y.inputs.population,
                                      indicators=y.inputs.indicators[["population"]])
        return dataclasses.replace(y, inputs=inputs)

    fitted = fit([alone(y) for y in train], dataclasses.replace(settings, dampings=(0.0,)), solvers)
    return calibrate.predict_year(alone(target).inputs, need, fitted, target.final.index)


def write_year(folder: Path, result: dict) -> None:
    frame = result["predictions"]
    write_csv(frame, folder / "predictions.csv")
    misses = frame.assign(miss=frame["engine"] - frame["real"]).reindex(
        (frame["engine"] - frame["real"]).abs().sort_values(ascending=False, kind="stable").index).head(MISSES)
    write_csv(misses, folder / "largest_misses.csv")
    counties = frame.groupby(["fylke", "fylkesnavn"], sort=True)[["real", "engine", "last_rescaled",
                                                                   "population"]].sum().reset_index()
    counties["miss"] = counties["engine"] - counties["real"]
    write_csv(counties, folder / "counties.csv")
    write_csv(pd.DataFrame([result["row"]]), folder / "summary.csv")
    plot(frame, result["row"], folder / "engine_vs_real.png")


def plot(frame: pd.DataFrame, row: dict, path: Path) -> None:
    scatter_against_real(
        path, frame["real"],
        [(frame["last_rescaled"], dict(s=10, facecolors="none", edgecolors="tab:grey",
                                       label=f"last year rescaled (WAPE {row['last_wape']:.3f})")),
         (frame["engine"], dict(s=10, color="tab:blue", label=f"engine (WAPE {row['engine_wape']:.3f}, "
                                                              f"Spearman {row['engine_spearman']:.3f})"))],
        xlabel=f"IMDi's real request {row['year']}", ylabel="planned",
        title=f"Backtest {row['year']}: need {row['need']:,}, trained on {row['trained_on']}", size=6.5)


def fidelity_markdown(table: pd.DataFrame, settings: FitSettings) -> str:
    best = np.minimum(table["last_rounded_wape"], table["population_rounded_wape"])
    beaten = table["engine_wape"] < best
    lines = ["# Fidelity: backtests against IMDi's real requests", "",
             "Written by `make backtest` (`python -m pipeline backtest --all --fidelity FIDELITY.md`) on "
             f"{datetime.date.today().isoformat()}. Each year Y is planned by the engine (criteria calibrated on the "
             "years before Y only, then the allocation MILP with Y's real need and practice) and compared with IMDi's "
             "real requests of Y; two baselines are computed in the same run: the latest available year's requests "
             "rescaled to Y's need, and population^a (a fitted on the same years). Each baseline is scored as it is "
             "and as a plan (rounded to whole requests of 0 or at least Y's minimum, in Y's units, summing to the "
             "need, `optimiser.calibrate.round_to_practice`); the engine is compared with the better baseline as a "
             "plan. 2022 is never a backtest year and none of its figures is read. Exponent grid "
             f"{settings.grid_text}, dampings {', '.join(f'{d:g}' for d in settings.dampings)}.", "",
             "| year | need | trained on | engine WAPE | engine Spearman | last year rescaled WAPE (as a plan) "
             "| population^a WAPE (as a plan) | engine minus the better baseline plan |",
             "|---|---|---|---|---|---|---|---|"]
    for r, b in zip(table.itertuples(), best):
        lines.append(f"| {r.year} | {r.need:,} | {r.trained_on} | {r.engine_wape:.3f} | {r.engine_spearman:.3f} | "
                     f"{r.last_wape:.3f} ({r.last_rounded_wape:.3f}) | "
                     f"{r.population_wape:.3f} ({r.population_rounded_wape:.3f}) | {r.engine_wape - b:+.3f} |")
    lines.append(f"| mean | | | {table['engine_wape'].mean():.3f} | {table['engine_spearman'].mean():.3f} | "
                 f"{table['last_wape'].mean():.3f} ({table['last_rounded_wape'].mean():.3f}) | "
                 f"{table['population_wape'].mean():.3f} ({table['population_rounded_wape'].mean():.3f}) | "
                 f"{(table['engine_wape'] - best).mean():+.3f} |")
    missed = ", ".join(str(y) for y in table.loc[~beaten, "year"])
    lines += ["", "Targets: mean engine WAPE ≤ 0.20 (" +
              ("met" if table["engine_wape"].mean() <= 0.20 else "**not met**") + "), mean Spearman ≥ 0.92 (" +
              ("met" if table["engine_spearman"].mean() >= 0.92 else "**not met**") + "), below both baseline plans "
              "in every year (" + ("met" if beaten.all() else f"**not met** in {missed}") + ").",
              "", "Fitted per year (exponent, history damping, weights):", ""]
    lines += [f"- {r.year}: exponent {r.exponent:.2f}, damping {r.damping:g}; {r.weights}" for r in table.itertuples()]
    return "\n".join(lines) + "\n"
