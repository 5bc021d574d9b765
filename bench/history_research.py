"""How settlement history should enter the target formula: a backtest.

For each backtest year Y (2017-2021, 2023, 2024; never 2022, which is the
exam and absent from the data) the exponent, damping and weights are fitted
with ``optimiser.calibrate.fit_years`` on the years before Y only; each
training year t gets the criteria ``optimiser.history`` builds from the
frames cut to years before t, and t's own national total.  Y is predicted
with its real need (the sum of its real requests) and scored against IMDi's
real requests of Y: WAPE = sum |pred - real| / sum real and Spearman, before
and after a largest-remainder rounding to the year's practice (minimum 10
per municipality asked; multiples of 5 where at least 90 % of the year's
requests were, as ``calibrate.practice`` measures it).  Two baselines are
computed in the same run: (a) the latest available year's requests rescaled
to Y's need, (b) population^a with a fitted on the years before.

Variants compared (all fitted the same way):

  engine today      history as per-inhabitant indicators times p^a (as
                    ``criteria.py`` does now), no damping
  share             history criteria as distributions of their own
                    (request_last, request_recent, ...), no damping
  share + damping   the same, the share weight damped when the need grows
  both + damping    shares and per-inhabitant history indicators

Training: years from 2015 (the first with a year of history before it) to
Y-1, skipping 2022; the 2020 training target is IMDi's original 2020 request
(the plan as made; the lowered one carries a floor of 10 that is not a plan).
A 2022 plan's calibration (years before 2022) is printed at the end.

Calibration windows compared for the recommended variant: all years before
Y (from 2015), the last three, and from 2016.

Run: .venv/bin/python bench/history_research.py [--quick] [--years 2018,2023]
(--quick: exponent step 0.05 instead of 0.01 searched every 5th step).  The
full run fits about 120 LPs per training pool and takes some ten minutes on
two processes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from optimiser import calibrate, history  # noqa: E402
from optimiser.plan import SolverConfig  # noqa: E402
from pipeline.solvers import make_solvers  # noqa: E402

DATA = ROOT / "data"
HISTORY_FILE = "imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv"
REQUESTS_2024_FILE = "imdi_anmodning_vedtak_2024.csv"
POPULATION_FILES = ("population_kommune_2014_2019.csv", "population_kommune_2020_2023.csv")
REFUGEES_FILE = "imdi_innvandrere_etter_innvandringsgrunn_2006_2021.csv"

EXAM_YEAR = 2022
BACKTEST_YEARS = (2017, 2018, 2019, 2020, 2021, 2023, 2024)
FIRST_TRAINING_YEAR = 2015
DAMPINGS = (0.0, 0.25, 0.5, 0.75, 1.0)
MINIMUM = calibrate.CUSTOMARY_MINIMUM

SHARES = ("request_last", "request_recent", "decided_recent", "settled_recent")
INDICATORS = ("refugees_per_inhabitant", "settled_per_inhabitant", "completion")
PER_INHABITANT = tuple(f"{s}_per_inhabitant" for s in SHARES[:3])
VARIANTS = {
    # name: (shares, indicators besides population, dampings)
    "engine today": ((), ("settled_per_inhabitant",), (0.0,)),
    "per inhabitant": ((), PER_INHABITANT + INDICATORS, (0.0,)),
    "share": (SHARES, INDICATORS, (0.0,)),
    "share + damping": (SHARES, INDICATORS, DAMPINGS),
    "both + damping": (SHARES, PER_INHABITANT + INDICATORS, DAMPINGS),
}
RECOMMENDED = "share + damping"


# --- reading (the bench is the edge; optimiser/ never reads files) ---------

def read_frames(data: Path = DATA):
    """(history, population, refugees, requests, original_2020): long frames in
    ``optimiser.history``'s columns, requests per year (final), 2020's original."""
    codes = {"kommunenummer": str}
    raw = pd.read_csv(data / HISTORY_FILE, dtype=codes)
    if (raw["aar"] == EXAM_YEAR).any():
        raise SystemExit(f"{HISTORY_FILE} holds {EXAM_YEAR}: the exam year must not be read")
    hist = pd.DataFrame({
        "kommunenummer": raw["kommunenummer"], "year": raw["aar"].astype(int),
        "requested": raw["anmodning"], "decided": raw["vedtak"], "settled": raw["bosatt"],
        "requested_original": raw["opprinnelig_anmodning"],
        "requested_hidden": raw["anmodning_n_prikket"], "decided_hidden": raw["vedtak_n_prikket"],
        "settled_hidden": raw["bosatt_n_prikket"],
    })
    frames = []
    for name in POPULATION_FILES:
        wide = pd.read_csv(data / name, dtype=codes).set_index("kommunenummer").filter(like="pop_")
        long = wide.stack().rename("population").reset_index()
        long["year"] = long["level_1"].str[4:8].astype(int)
        frames.append(long[["kommunenummer", "year", "population"]])
    population = pd.concat(frames, ignore_index=True)
    ref = pd.read_csv(data / REFUGEES_FILE, dtype=codes)
    refugees = pd.DataFrame({"kommunenummer": ref["kommunenummer"], "year": ref["aar"].astype(int),
                             "refugees": ref["flyktninger_og_familieinnvandrede"]})
    requests = {int(y): g.set_index("kommunenummer")["anmodning"].astype(float) for y, g in raw.groupby("aar")}
    r24 = pd.read_csv(data / REQUESTS_2024_FILE, dtype=codes).set_index("kommunenummer")["anmodet_2024"]
    requests[2024] = r24.dropna().astype(float)
    original = raw[raw["aar"] == 2020].set_index("kommunenummer")["opprinnelig_anmodning"].astype(float)
    return hist, population, refugees, requests, original


def before(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """The rows a plan for ``year`` may read: dated before it."""
    return frame[frame["year"] < year]


# --- criteria per year --------------------------------------------------------

def year_inputs(year: int, need: float, frames, shares, indicators) -> calibrate.YearInputs:
    hist, population, refugees = frames
    hc = history.history_criteria(before(hist, year), before(population, year), year, before(refugees, year))
    ind = pd.DataFrame({"population": 1.0}, index=hc.population.index)
    for name in indicators:
        if name in hc.indicators:
            ind[name] = hc.indicators[name]
        else:  # a share per inhabitant, scaled so the largest is 1
            per = hc.shares[name.removesuffix("_per_inhabitant")] / hc.population
            ind[name] = per / per.max()
    return calibrate.YearInputs(year=year, population=hc.population, indicators=ind,
                                shares=hc.shares[list(shares)] if shares else None,
                                growth=need / hc.last_need)


# --- one backtest year ----------------------------------------------------------

WINDOWS = {
    "all years before Y": lambda years: years,
    "last 3 years": lambda years: years[-3:],
    "from 2016": lambda years: [t for t in years if t >= 2016],
}
ALL = "all years before Y"


def training_years(year: int, requests, window: str = ALL) -> list[int]:
    return WINDOWS[window]([t for t in sorted(requests) if FIRST_TRAINING_YEAR <= t < year and t != EXAM_YEAR])


def score(pred: pd.Series, real: pd.Series) -> tuple[float, float]:
    return calibrate.wape(pred, real), calibrate.spearman(pred, real)


def rounded(pred: pd.Series, real: pd.Series) -> pd.Series:
    practice = calibrate.practice(real)
    return calibrate.round_to_practice(pred, real.sum(), MINIMUM, practice["granularity_persons"])


def fit_for(year: int, variant: str, window: str, grid, coarse):
    shares, indicators, dampings = VARIANTS[variant]
    train = training_years(year, REQUESTS, window)
    reals = {t: TRAINING_TARGET[t] for t in train}
    inputs = [year_inputs(t, reals[t].sum(), FRAMES, shares, indicators) for t in train]
    return calibrate.fit_years(inputs, reals, SOLVERS, grid, dampings, coarse)


def population_inputs(year: int) -> calibrate.YearInputs:
    _, pop = history.latest_before(before(FRAMES[1], year), year, "population", "population")
    return calibrate.YearInputs(year=year, population=pop, indicators=pd.DataFrame({"population": 1.0},
                                                                                   index=pop.index))


def task(year: int, model: str, window: str, grid, coarse) -> dict:
    """One prediction of ``year``: a variant, or a baseline ("last" / "population")."""
    real = REQUESTS[year]
    if model == "last":
        last = max(t for t in REQUESTS if t < year and t != EXAM_YEAR)
        previous = REQUESTS[last].reindex(real.index).fillna(0.0)
        return {"name": f"last {last} rescaled", "kind": "baseline a", "pred": previous / previous.sum() * real.sum()}
    if model == "population":
        train = training_years(year, REQUESTS, window)
        fitted = calibrate.fit_years([population_inputs(t) for t in train], {t: TRAINING_TARGET[t] for t in train},
                                     SOLVERS, grid, (0.0,), coarse)
        return {"name": f"population^{fitted.exponent:.2f}", "kind": "baseline b", "fit": fitted,
                "pred": calibrate.predict_year(population_inputs(year), real.sum(), fitted, real.index)}
    shares, indicators, _ = VARIANTS[model]
    fitted = fit_for(year, model, window, grid, coarse)
    inputs = year_inputs(year, real.sum(), FRAMES, shares, indicators)
    return {"name": model, "kind": "engine", "fit": fitted, "growth": inputs.growth,
            "pred": calibrate.predict_year(inputs, real.sum(), fitted, real.index)}


def run(args) -> dict:
    year, model, window, grid, coarse = args
    started = time.perf_counter()
    out = task(year, model, window, grid, coarse) if year != EXAM_YEAR else \
        {"name": model, "kind": "engine", "fit": fit_for(year, model, window, grid, coarse)}
    return {"year": year, "model": model, "window": window, "seconds": time.perf_counter() - started, **out}


def load() -> None:
    global FRAMES, REQUESTS, TRAINING_TARGET
    hist, population, refugees, requests, original = read_frames()
    FRAMES = (hist, population, refugees)
    REQUESTS = requests
    TRAINING_TARGET = dict(requests)
    TRAINING_TARGET[2020] = original


def rows_of(result: dict) -> list[dict]:
    year, pred = result["year"], result["pred"]
    real = REQUESTS[year]
    targets = [(str(year), real)]
    if year == 2020:
        targets.append(("2020 vs original", TRAINING_TARGET[2020]))
    out = []
    for label, target in targets:
        p = pred / pred.sum() * target.sum()
        r = rounded(p, target)
        w, s = score(p, target)
        wr, sr = score(r, target)
        out.append({"year": label, "kind": result["kind"], "model": result["name"], "window": result["window"],
                    "wape": w, "spearman": s, "wape_rounded": wr, "spearman_rounded": sr,
                    "asked_rounded": int((r > 0).sum()), "asked_real": int((target > 0).sum())})
    return out


def fmt(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="exponent step 0.05 instead of 0.01")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variant names")
    parser.add_argument("--years", default=",".join(map(str, BACKTEST_YEARS)), help="backtest years")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    years = tuple(int(y) for y in args.years.split(","))
    if EXAM_YEAR in years:
        raise SystemExit(f"{EXAM_YEAR} is the exam, never a backtest year")
    grid = calibrate.exponent_grid(0.30, 1.00, 0.05 if args.quick else 0.01)
    coarse = 1 if args.quick else 5
    variants = [v for v in args.variants.split(",") if v]
    jobs = [(y, m, ALL, grid, coarse) for y in years for m in ("last", "population", *variants)]
    if RECOMMENDED in variants:
        jobs += [(y, RECOMMENDED, w, grid, coarse) for y in years for w in WINDOWS if w != ALL]
        jobs += [(EXAM_YEAR, RECOMMENDED, w, grid, coarse) for w in WINDOWS]
    started = time.perf_counter()
    load()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=load) as pool:
        results = list(pool.map(run, jobs))
    elapsed = time.perf_counter() - started

    table = pd.DataFrame([row for r in results if r["year"] != EXAM_YEAR for row in rows_of(r)])
    pd.set_option("display.width", 220)
    pd.set_option("display.max_rows", 500)
    print(f"# History research: backtests {', '.join(map(str, years))}\n")
    print(f"Exponent grid {grid[0]:.2f}-{grid[-1]:.2f} step {grid[1] - grid[0]:.2f} (coarse {coarse}), dampings "
          f"{DAMPINGS}; {len(jobs)} fits in {elapsed:.0f} s on {args.workers} processes.\n")
    main_table = table[table["window"] == ALL].drop(columns="window")
    print("## Per year: engine variants and baselines, trained on all years before Y\n")
    print(fmt(main_table))

    print("\n## Mean over the backtest years (2020 against IMDi's final requests)\n")
    scored = main_table[main_table["year"].isin([str(y) for y in years])].copy()
    scored["model"] = scored["model"].where(scored["kind"] == "engine", scored["kind"])
    means = scored.groupby("model", sort=False)[["wape", "spearman", "wape_rounded", "spearman_rounded"]].mean()
    print(means.to_string(float_format=lambda v: f"{v:.4f}"))

    print("\n## Targets: mean WAPE <= 0.20, mean Spearman >= 0.92, below both baselines every year\n")
    by = scored.pivot(index="year", columns="model", values=["wape", "wape_rounded"])
    for variant in variants:
        margin = pd.DataFrame({
            f"{col} {variant}": by[(col, variant)] for col in ("wape", "wape_rounded")})
        for col in ("wape", "wape_rounded"):
            margin[f"{col} minus best baseline"] = by[(col, variant)] - by[col][["baseline a", "baseline b"]].min(axis=1)
        print(f"{variant}:")
        print(margin.reset_index().to_string(index=False, formatters={
            c: (lambda v: f"{v:+.3f}") if "minus" in c else (lambda v: f"{v:.3f}") for c in margin.columns}))
        print()

    for variant in variants:
        engine = scored[scored["model"] == variant].set_index("year")
        beats = []
        for kind in ("baseline a", "baseline b"):
            base = scored[scored["model"] == kind].set_index("year")
            for col in ("wape", "wape_rounded"):
                worse = [y for y in engine.index if engine.at[y, col] >= base.at[y, col]]
                beats.append(f"{col} vs {kind}: " + ("below in every year" if not worse else
                                                    "not below in " + ", ".join(worse)))
        print(f"{variant}: " + "; ".join(beats))

    if RECOMMENDED in variants:
        print(f"\n## Calibration window ({RECOMMENDED})\n")
        windowed = table[(table["model"] == RECOMMENDED) & table["year"].isin([str(y) for y in years])]
        print(fmt(windowed.pivot(index="year", columns="window", values="wape_rounded").reset_index()))
        print(windowed.groupby("window")[["wape", "spearman", "wape_rounded", "spearman_rounded"]].mean()
              .to_string(float_format=lambda v: f"{v:.4f}"))

    print("\n## Fitted parameters (years before Y)\n")
    for r in results:
        if "fit" not in r:
            continue
        fit = r["fit"]
        weights = ", ".join(f"{k} {v:.3f}" for k, v in fit.weights.items() if v > 0)
        growth = f" growth {r['growth']:.2f}" if "growth" in r else ""
        print(f"{r['year']} {r['name']:18s} [{r['window']}] a={fit.exponent:.2f} damping={fit.damping:.2f}{growth} "
              f"train WAPE {fit.per_year.mean():.3f} ({', '.join(map(str, fit.per_year.index))}): {weights}")


SOLVERS = make_solvers(SolverConfig())
FRAMES = REQUESTS = TRAINING_TARGET = None

if __name__ == "__main__":
    main()
