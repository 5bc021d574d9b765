"""Benchmark: placing a national year of households (``optimiser.place``).

The instance (stated, synthetic where no public data exists):

households     ``optimiser.arrivals.synthetic_arrivals`` (its stated
               distributions), ``--households`` (14,000) with seed
               ``--seed``; ties in proportion to the refugee population
               (``flyktninger_og_familieinnvandrede``, latest year, of IMDi's
               immigrants-by-reason table in the shared data folder beside
               the repository; population if that file is missing)
decisions      ``--persons`` (35,000) spread over the 356 municipalities in
               proportion to population^0.7 (rounded down); room = decision,
               nothing settled yet; extra room 20 %, complex-health room 8 %,
               EM room 3 % of the decision (rounded up)
travel         the real network: ``optimiser.network.build_network`` on plan
               2022's inputs, as the pipeline's Access task builds it

Measures, median of ``--runs`` (3): ``place`` end to end and its solver
seconds (every LP round and the integer model, passing the model included),
the objective, the LP bound and the gap; ``verify_placement`` must find
nothing.  Baseline in the same run: the one-binary-per-(household,
municipality) formulation with the same objective and rows, built as arrays
straight into highspy (PuLP could not even build it in minutes) and solved
with a time limit of ``--baseline-seconds`` (60); its gap is measured
against the same LP bound.  The same pair is also run on a ``--small``
instance (1,000 households, rooms scaled) where the baseline can finish.

Solvers: ``SolverConfig(presolve=False)`` (see ``optimiser.place``), one
thread, gap 1e-5.  Prints the machine and a table; does not write
BENCHMARKS.md.

    .venv/bin/python bench/place.py [--runs 3] [--households 14000]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import common
import highspy  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import median

from optimiser.arrivals import synthetic_arrivals  # noqa: E402
from optimiser.network import build_network  # noqa: E402
from optimiser.place import PlaceInputs, PlaceParams, class_costs, fill_target, household_classes, place  # noqa: E402
from optimiser.plan import SolverConfig  # noqa: E402
from optimiser.verify_place import verify_placement  # noqa: E402
from pipeline.solvers import make_solvers  # noqa: E402

PACKAGES = ("pulp", "highspy", "pandas", "numpy")
REFUGEES = common.ROOT.parent / "shared" / "data" / "imdi_innvandrere_etter_innvandringsgrunn_2006_2021.csv"
SHARES = {"extra_room": 0.20, "health_room": 0.08, "em_room": 0.03}
POPULATION_EXPONENT = 0.7
TARGET_SECONDS = 10.0
TARGET_GAP = 0.01


def national_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Municipalities (population) and travel minutes, as the pipeline reads and builds them."""
    from pipeline.config import load_plan
    from pipeline.inputs import read_plan_data
    plan = load_plan(Path("config/2022.yaml"))
    data = read_plan_data(plan, Path("data"))
    net = build_network(data.municipalities, data.adjacency, plan.network.reasonable_travel_minutes)
    return data.municipalities, net.travel


def refugee_population(municipalities: pd.DataFrame) -> tuple[pd.Series, str]:
    if not REFUGEES.is_file():
        return municipalities["population"].astype(float), "population (refugee file not found)"
    table = pd.read_csv(REFUGEES, dtype={"kommunenummer": str})
    latest = table[table["aar"] == table["aar"].max()].set_index("kommunenummer")
    column = "flyktninger_og_familieinnvandrede"
    series = latest[column].reindex(municipalities.index).fillna(0.0)
    return series, f"`{column}` {int(table['aar'].max())}"


def rooms(population: pd.Series, persons: int) -> pd.DataFrame:
    weight = population.astype(float) ** POPULATION_EXPONENT
    decision = np.floor(persons * weight / weight.sum()).astype(int)
    frame = pd.DataFrame({"decision": decision, "already": 0, "room": decision}, index=population.index)
    return frame.assign(**{k: np.ceil(share * decision).astype(int) for k, share in SHARES.items()})


@dataclass
class Baseline:
    build_seconds: float
    solve_seconds: float
    status: str
    objective: float | None
    dual_bound: float | None
    columns: int


def baseline(inputs: PlaceInputs, params: PlaceParams, seconds: float) -> Baseline:
    """One binary per hostable (household, municipality), the same objective
    and rows as ``optimiser.place`` (room with extra tier, needs rooms, fill
    bands with the free rounding of the target), straight into highspy."""
    start = time.perf_counter()
    h, m = inputs.households.reset_index(drop=True), inputs.municipalities
    classes, class_of = household_classes(h)
    costs = class_costs(classes, inputs, params)
    rows = classes.index.get_indexer(class_of)
    feasible = costs.feasible.to_numpy()[rows]
    hh, mm = np.nonzero(feasible)
    cost = costs.cost.to_numpy()[rows][hh, mm]
    persons = h["persons"].to_numpy(dtype=float)[hh]
    n_h, n_m = len(h), len(m)
    room_row, fill_row, health_row, em_row = n_h, n_h + n_m, n_h + 2 * n_m, n_h + 3 * n_m
    health = h["complex_health"].to_numpy(dtype=bool)[hh]
    minor = h["unaccompanied_minor"].to_numpy(dtype=bool)[hh]
    entries = [(hh, np.ones_like(persons)), (room_row + mm, persons), (fill_row + mm, persons)]
    entries += [(np.where(health, health_row + mm, -1), persons), (np.where(minor, em_row + mm, -1), persons)]
    n_x = len(hh)
    col = np.concatenate([np.arange(n_x)] * len(entries))
    row = np.concatenate([r for r, _ in entries])
    val = np.concatenate([v for _, v in entries])
    keep = row >= 0
    col, row, val = col[keep], row[keep], val[keep]
    target = fill_target(m, float(h["persons"].sum()))
    widths = params.fill_bands.widths(m["decision"]).to_numpy()
    prices = np.asarray(params.fill_bands.prices) * params.fill_weight
    n_b = len(prices)
    codes = np.arange(n_m)
    extra_cols = [  # (row, coefficient, cost, upper) per municipality, one column each
        (room_row + codes, -1.0, params.extra_tier_price, m["extra_room"].to_numpy(dtype=float)),
        (fill_row + codes, -1.0, 0.0, (target["high"] - target["low"]).to_numpy()),
    ]
    for b in range(n_b):
        upper = widths[:, b] if b < n_b - 1 else np.full(n_m, highspy.kHighsInf)
        extra_cols += [(fill_row + codes, -1.0, prices[b], upper), (fill_row + codes, 1.0, prices[b], upper)]
    lp = highspy.HighsLp()
    lp.num_col_ = n_x + n_m * len(extra_cols)
    lp.num_row_ = n_h + 4 * n_m
    lp.col_cost_ = np.concatenate([cost] + [np.full(n_m, c) for _, _, c, _ in extra_cols])
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.concatenate([np.ones(n_x)] + [u for _, _, _, u in extra_cols])
    base = n_x + np.arange(len(extra_cols))[:, None] * n_m + codes[None, :]
    col = np.concatenate([col, base.ravel()])
    row = np.concatenate([row] + [r for r, _, _, _ in extra_cols])
    val = np.concatenate([val] + [np.full(n_m, v) for _, v, _, _ in extra_cols])
    fill_rhs = (target["low"] - m["already"]).to_numpy(dtype=float)
    lp.row_lower_ = np.concatenate([np.ones(n_h), np.full(n_m, -highspy.kHighsInf), fill_rhs,
                                    np.full(2 * n_m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n_h), m["room"].to_numpy(dtype=float), fill_rhs,
                                    m["health_room"].to_numpy(dtype=float), m["em_room"].to_numpy(dtype=float)])
    order = np.lexsort((row, col))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(np.bincount(col, minlength=lp.num_col_))]).astype(np.int32)
    lp.a_matrix_.index_ = row[order].astype(np.int32)
    lp.a_matrix_.value_ = val[order]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x + [highspy.HighsVarType.kContinuous] * (lp.num_col_ - n_x)
    solver = highspy.Highs()
    for key, value in {"output_flag": False, "threads": 1, "presolve": "off", "time_limit": float(seconds),
                       "mip_rel_gap": 1e-5, "random_seed": 0}.items():
        solver.setOptionValue(key, value)
    solver.passModel(lp)
    built = time.perf_counter() - start
    solved = time.perf_counter()
    solver.run()
    info = solver.getInfo()
    has = info.primal_solution_status == 2
    return Baseline(built, time.perf_counter() - solved, solver.modelStatusToString(solver.getModelStatus()),
                    info.objective_function_value if has else None,
                    info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None, n_x)


def ours(inputs: PlaceInputs, params: PlaceParams, solvers: list, runs: int) -> tuple[list, object]:
    results = [place(inputs, params, solvers) for _ in range(runs)]
    return results, results[-1]


def measure(label: str, inputs: PlaceInputs, params: PlaceParams, solvers: list, args) -> list[tuple]:
    results, last = ours(inputs, params, solvers, args.runs)
    violations = verify_placement(inputs.households, inputs.municipalities, inputs.travel, last.placements,
                                  params.reasonable_minutes)
    solve_s = median(r.solve_seconds for r in results)
    total_s = median(r.seconds for r in results)
    base = baseline(inputs, params, args.baseline_seconds)
    base_gap = (f"{(base.objective - last.lp_bound) / base.objective:.2%}" if base.objective else "no solution")
    h = inputs.households
    rows = [
        (f"{label}: households / persons / base room", f"{len(h):,} / {int(h['persons'].sum()):,} / "
         f"{int(inputs.municipalities['room'].sum()):,}", ""),
        (f"{label}: `place` solver seconds (median of {args.runs})", f"{solve_s:.2f}",
         common.verdict(solve_s, TARGET_SECONDS) + f" (≤ {TARGET_SECONDS:g} s)"),
        (f"{label}: `place` end to end seconds (median)", f"{total_s:.2f}", ""),
        (f"{label}: objective / LP bound / gap", f"{last.objective:.2f} / {last.lp_bound:.2f} / {last.gap:.2%}",
         common.verdict(last.gap, TARGET_GAP) + f" (≤ {TARGET_GAP:.0%})"),
        (f"{label}: classes / integer columns / LP rounds", f"{last.classes} / {last.pairs} / {last.pricing_rounds}",
         ""),
        (f"{label}: verify_placement violations", str(len(violations)), "must be 0"),
        (f"{label}: baseline columns (binaries)", f"{base.columns:,}", ""),
        (f"{label}: baseline build / solve seconds", f"{base.build_seconds:.2f} / {base.solve_seconds:.2f}",
         f"limit {args.baseline_seconds:g} s"),
        (f"{label}: baseline status / objective / gap to LP bound",
         f"{base.status} / {base.objective if base.objective is None else round(base.objective, 2)} / {base_gap}", ""),
        (f"{label}: ratio baseline solve / `place` solver seconds", f"{base.solve_seconds / solve_s:.1f}×", ""),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--households", type=int, default=14000)
    parser.add_argument("--persons", type=int, default=35000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    machine = common.Machine(PACKAGES)
    municipalities, travel = national_inputs()
    population, source = refugee_population(municipalities)
    params = PlaceParams()
    solvers = make_solvers(SolverConfig(presolve=False))
    rows = []
    for label, households in (("national", args.households), ("small", args.small)):
        persons = round(args.persons * households / args.households)
        inputs = PlaceInputs(synthetic_arrivals(population, households, args.seed),
                             rooms(municipalities["population"], persons), travel)
        rows += measure(label, inputs, params, solvers, args)
    print(f"Machine: {machine.describe()}; `os.cpu_count()` = {os.cpu_count()}.")
    print(f"Ties drawn from {source}; solvers {', '.join(s.name for s in solvers)}, presolve off.")
    print("\n".join(common.table(("measure", "value", "target"), rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
