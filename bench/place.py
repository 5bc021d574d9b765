"""Benchmark: placing a national year of households against the March 2022
re-plan (``make place PLAN=2022-03 ARRIVALS=...``).

The instance is the pipeline's own:

plan          ``python -m pipeline reallocate --plan 2022-03`` run once
              (untimed) into a scratch out dir; the room per municipality by
              ``optimiser.place_room`` from its inputs and published
              allocation, travel minutes from its network
households    ``data/inputs/2022-03/arrivals-synthetic.csv`` (``--arrivals``):
              14,000 SYNTHETIC households, 34,954 persons, ties in
              proportion to the refugee population; all of them placed as one
              batch (``make place`` leaves out those registered after new
              year; the year rows below follow the counting rules)

Measures, median of ``--runs`` (3): ``optimiser.place`` end to end and its
solver seconds (every LP round and integer model, passing the model to
HiGHS included), the objective, the LP bound and the gap; the fill-rate
spread; ``verify_placement`` must find nothing (every tied household with
room left in reach of its tie is within 90 minutes of it).

Baseline in the same run: the one-binary-per-(household, municipality)
formulation with the same objective and rows, built as arrays straight into
highspy (PuLP cannot build it in minutes) and solved with a time limit of
``--baseline-seconds``; its gap is measured against the same LP bound.  At
national scale it needs about 6 GB and many minutes, so by default
(``--baseline sample``) it runs on a ``--sample`` share of the households
(every 10th) with room, extra room, decision and settled scaled down alike
(rounded up; complex-health and EM room as they are, or families would not
fit), and
``optimiser.place`` is measured on that same sample beside it;
``--baseline national`` runs it on the whole batch, ``--baseline off`` skips it.

A year week by week (``--year``, on by default; ``--no-year`` skips it,
several minutes): one cold ``python -m pipeline place-year`` on the same
file; its manifest gives the weekly year against hindsight.

Prints the machine and a table; ``--write`` replaces the "Placement"
section of BENCHMARKS.md.

    .venv/bin/python bench/place.py [--runs 3] [--write] [--baseline sample|national|off] [--no-year]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common
import highspy
import numpy as np
from common import median, verdict

from optimiser.place import (
    PlaceInputs,
    PlaceParams,
    PlaceResult,
    class_costs,
    fill_target,
    household_classes,
    place,
)
from optimiser.place_year import fill_spread
from optimiser.verify_place import verify_placement
from pipeline.graph.placement import placement_setting
from pipeline.plans.placement import placement_params, placement_solver, resolve_batch
from pipeline.plans.resolve import resolve_plan
from pipeline.publish.manifest import MANIFEST
from pipeline.publish.network import network_from_json
from pipeline.publish.placement import placement_counts, year_folder
from pipeline.solvers import make_solvers

SECTION = "## Placement"
PACKAGES = ("pulp", "highspy", "pandas", "numpy")
PLAN = "2022-03"
ARRIVALS = Path("data/inputs/2022-03/arrivals-synthetic.csv")
TARGET_SECONDS = 10.0
TARGET_GAP = 0.01
TARGET_REACH = 0.95
# Scaled in the sample; complex-health and EM room are not: a tenth of a municipality's
# three complex-health places cannot hold a family of five, and the sample would have no placement.
SCALED = ("room", "extra_room", "decision", "already")


@dataclass
class Baseline:
    build_seconds: float
    solve_seconds: float
    status: str
    objective: float | None
    columns: int


def baseline(inputs: PlaceInputs, params: PlaceParams, seconds: float) -> Baseline:
    """One binary per hostable (household, municipality), the same objective
    and rows as ``optimiser.place`` (room with extra tier, needs rooms, fill
    bands with the free rounding of the target), straight into highspy."""
    start = time.perf_counter()
    h, m = inputs.households.reset_index(drop=True), inputs.municipalities.sort_index()
    classes, class_of = household_classes(h)
    costs = class_costs(classes, PlaceInputs(h, m, inputs.travel), params)
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
                    info.objective_function_value if has else None, n_x)


def sample(inputs: PlaceInputs, share: float) -> PlaceInputs:
    """Every (1/share)-th household; room, extra room, decision and settled
    scaled by ``share`` and rounded up (``SCALED``)."""
    step = max(1, round(1 / share))
    h = inputs.households.iloc[::step].reset_index(drop=True)
    m = inputs.municipalities.assign(**{c: np.ceil(inputs.municipalities[c] * share).astype(int) for c in SCALED})
    return PlaceInputs(h, m, inputs.travel)


def place_runs(inputs: PlaceInputs, params: PlaceParams, solvers: list, runs: int) -> list[PlaceResult]:
    return [place(inputs, params, solvers) for _ in range(runs)]


def national_rows(inputs: PlaceInputs, params: PlaceParams, results: list[PlaceResult]) -> list[tuple]:
    last = results[-1]
    h = inputs.households
    violations = verify_placement(h, inputs.municipalities, inputs.travel, last.placements, params.reasonable_minutes)
    counts = placement_counts(last, params)
    within, tied = counts["tied_within_reach"], counts["tied"]
    solve_s = median(r.solve_seconds for r in results)
    spread_before, spread_after = fill_spread(last.fill["fill_before"]), fill_spread(last.fill["fill_after"])
    over = sum(v.rule == "room" for v in violations)
    return [
        ("households / persons / base room / extra room",
         f"{len(h):,} / {int(h['persons'].sum()):,} / {int(inputs.municipalities['room'].sum()):,} / "
         f"{int(inputs.municipalities['extra_room'].sum()):,}", ""),
        (f"`place` solver seconds (median of {len(results)})", f"{solve_s:.2f}",
         f"≤ {TARGET_SECONDS:g} s: {verdict(solve_s, TARGET_SECONDS)}"),
        ("`place` end to end seconds (median)", f"{median(r.seconds for r in results):.2f}", ""),
        ("objective / LP bound / gap", f"{last.objective:.2f} / {last.lp_bound:.2f} / {last.gap:.3%}",
         f"≤ {TARGET_GAP:.0%}: {verdict(last.gap, TARGET_GAP)}"),
        ("classes / integer columns / LP rounds", f"{last.classes} / {last.pairs} / {last.pricing_rounds}", ""),
        ("tied households within 90 minutes of their tie", f"{within:,} of {tied:,}",
         f"the {tied - within} others had no room left in reach (verify)"),
        ("`verify_placement` violations", str(len(violations)), "must be 0: " + verdict(len(violations), 0)),
        ("municipalities above decision + extra", str(int(over)), "must be 0"),
        ("persons in the extra tier / municipalities",
         f"{counts['extra_tier_persons']:,} / {counts['extra_tier_municipalities']}", ""),
        ("fill-rate spread (sd) before / after; after min-max",
         f"{spread_before['std']:.2%} / {spread_after['std']:.2%}; "
         f"{spread_after['min']:.1%}-{spread_after['max']:.1%}", f"national rate {last.national_fill_rate:.1%}"),
    ]


def baseline_rows(label: str, inputs: PlaceInputs, params: PlaceParams, solvers: list, runs: int,
                  seconds: float) -> list[tuple]:
    results = place_runs(inputs, params, solvers, runs)
    last = results[-1]
    base = baseline(inputs, params, seconds)
    solve_s = median(r.solve_seconds for r in results)
    gap = f"{(base.objective - last.lp_bound) / base.objective:.2%}" if base.objective else "no solution"
    return [
        (f"{label}: households / persons / base room", f"{len(inputs.households):,} / "
         f"{int(inputs.households['persons'].sum()):,} / {int(inputs.municipalities['room'].sum()):,}", ""),
        (f"{label}: `place` solver seconds (median) / gap", f"{solve_s:.2f} / {last.gap:.3%}", ""),
        (f"{label}: baseline binaries", f"{base.columns:,}", ""),
        (f"{label}: baseline build / solve seconds", f"{base.build_seconds:.2f} / {base.solve_seconds:.2f}",
         f"limit {seconds:g} s"),
        (f"{label}: baseline status / gap to the LP bound", f"{base.status} / {gap}", ""),
        (f"{label}: baseline solve / `place` solver seconds", f"{base.solve_seconds / solve_s:.1f}×", ""),
    ]


def year_rows(out: Path, arrivals: Path) -> list[tuple]:
    run = common.cold_run(["place-year", "--plan", PLAN, "--arrivals", str(arrivals), "--out", str(out)])
    m = json.loads((year_folder(out, PLAN, arrivals.stem) / MANIFEST).read_text(encoding="utf-8"))
    w, h = m["weekly"], m["hindsight"]
    return [
        (f"year week by week: {m['weeks']} weeks, {w['households']:,} households "
         f"({m['carried_households']:,} count on next year)", f"{run.wall:.0f} s wall", ""),
        ("&nbsp;&nbsp;total cost weekly / hindsight", f"{w['total_cost']:.2f} / {h['total_cost']:.2f}", ""),
        ("&nbsp;&nbsp;hindsight / weekly (share of the hindsight placement reached)", f"{m['reaches']:.2%}",
         f"≥ {TARGET_REACH:.0%}: {'met' if m['reaches'] >= TARGET_REACH else '**not met**'}"),
        ("&nbsp;&nbsp;hindsight's LP bound (no placement of the year costs less) / LP bound ÷ weekly",
         f"{m['hindsight_lp_bound']:.2f} / {m['reaches_bound']:.2%}", ""),
        ("&nbsp;&nbsp;the year's optimum lies between (LP bound; the better of the two placements)",
         f"{m['hindsight_lp_bound']:.2f}; {m['best_known']:.2f}", ""),
        ("&nbsp;&nbsp;fill spread (sd) weekly / hindsight", f"{w['fill_spread_std']:.2%} / {h['fill_spread_std']:.2%}",
         ""),
        ("&nbsp;&nbsp;households beyond reach weekly / hindsight", f"{w['beyond_reach']} / {h['beyond_reach']}", ""),
        ("&nbsp;&nbsp;person-minutes beyond reach weekly / hindsight",
         f"{w['person_minutes_beyond']:,.0f} / {h['person_minutes_beyond']:,.0f}", ""),
        ("&nbsp;&nbsp;cost by term weekly / hindsight: travel; even fill",
         f"{w['costs']['travel']:.1f} / {h['costs']['travel']:.1f}; {w['costs']['even_fill']:.0f} / "
         f"{h['costs']['even_fill']:.0f}", ""),
        ("&nbsp;&nbsp;households expected later that held room (all weeks; complex health needs, all in the "
         "last five weeks)",
         f"{m['look_ahead']['held_for_later_households']:,}", ""),
        ("&nbsp;&nbsp;solver seconds weekly (all weeks) / hindsight",
         f"{m['timings']['weekly_solve_seconds']:.1f} / {m['timings']['hindsight_solve_seconds']:.1f}", ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arrivals", type=Path, default=ARRIVALS)
    parser.add_argument("--baseline", choices=("sample", "national", "off"), default="sample")
    parser.add_argument("--sample", type=float, default=0.1, help="share of households in the baseline's sample")
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--year", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    machine = common.Machine(PACKAGES)
    with tempfile.TemporaryDirectory(prefix="bench-place-") as scratch:
        out = Path(scratch) / "out"
        common.cold_run(["reallocate", "--plan", PLAN, "--out", str(out)])
        resolved = resolve_plan(PLAN)
        batch = resolve_batch(resolved, args.arrivals)
        net = network_from_json(json.loads(next((out / ".cache" / "network").glob("*/network.json"))
                                           .read_text(encoding="utf-8")))
        travel = net.travel
        setting = placement_setting(batch, out / PLAN, net)
        inputs = PlaceInputs(batch.arrivals.households, setting.municipalities, travel)
        params, solvers = placement_params(resolved), make_solvers(placement_solver(resolved))
        rows = national_rows(inputs, params, place_runs(inputs, params, solvers, args.runs))
        if args.baseline != "off":
            label = "national" if args.baseline == "national" else f"1/{round(1 / args.sample)} sample"
            scaled = inputs if args.baseline == "national" else sample(inputs, args.sample)
            rows += baseline_rows(label, scaled, params, solvers, args.runs, args.baseline_seconds)
        if args.year:
            rows += year_rows(out, args.arrivals)
    text = section(args, machine.describe(), rows, batch.arrivals.synthetic)
    print(text)
    if args.write:
        common.write_section(SECTION, text)
    return 0


def section(args, machine: str, rows: list[tuple], synthetic: bool) -> str:
    baseline_note = {
        "sample": (f"The one-binary-per-pair baseline needs about 6 GB and many minutes at national scale; here it "
                   f"runs on a 1/{round(1 / args.sample)} sample (every {round(1 / args.sample)}th household; room, "
                   "extra room, decision and settled scaled alike, rounded up; complex-health and EM room as they "
                   "are), with `place` on the same sample beside it "
                   "(`--baseline national` runs it on the whole batch)."),
        "national": "The one-binary-per-pair baseline runs on the whole national batch.",
        "off": "The baseline was skipped (`--baseline off`).",
    }[args.baseline]
    lines = [
        SECTION,
        "",
        f"`bench/place.py` (`make bench` runs it; `--write` rewrites this section): `{args.arrivals}` "
        f"({'SYNTHETIC households' if synthetic else 'households'}) placed as one batch against the March 2022",
        f"re-plan {PLAN} as the pipeline builds it (room by `optimiser.place_room`, travel minutes from its",
        f"network), median of {args.runs} runs; solvers HiGHS without presolve, one thread. {baseline_note}",
        "The year rows are one cold `python -m pipeline place-year` on the same file (counting rules applied).",
        "",
        f"Machine: {machine}.",
        "",
        *common.table(("measure", "value", "target"), rows),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
