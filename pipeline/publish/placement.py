"""What a placement writes, and what the terminal shows after it.

One batch (``out/<plan>-placement-<batch>/``):

placements.csv  one row per household placed: where, how far from its tie,
                the rule that decided and one sentence why
carried.csv     households that count on next year's decision (registered
                after new year), not placed against this plan
fill.csv        per municipality: decision, settled and assigned before,
                room, persons placed, extra room used, fill before and after
verify.json     the independent check (``optimiser.verify_place``)
manifest.json   inputs and their SHA-256, the plan's fingerprint, solver
                status, objective, LP bound, gap, timings, counts, fill spread

A year, week by week (``out/<plan>-year-<batch>/``): ``year.csv`` (one row
per week), ``comparison.csv`` (week by week against hindsight),
``placements.csv`` (each household with its week), ``carried.csv`` and
``manifest.json``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.place import PlaceParams, PlaceResult
from optimiser.place_year import fill_spread
from optimiser.plan import SolverConfig
from optimiser.verify import report
from optimiser.verify_place import RULES as PLACE_RULES
from pipeline.plans.placement import PlacementBatch
from pipeline.plans.resolve import ResolvedPlan
from pipeline.publish.files import write_csv, write_json
from pipeline.publish.manifest import MANIFEST, git_commit, package_versions, write_manifest
from pipeline.solvers import solver_options

CARRIED_COLUMNS = ["household_id", "persons", "tie", "ready_date", "registered_date", "counts_in_year"]


def placement_folder(out: Path, plan: str, batch: str) -> Path:
    return Path(out) / f"{plan}-placement-{batch}"


def year_folder(out: Path, plan: str, batch: str) -> Path:
    return Path(out) / f"{plan}-year-{batch}"


def placement_counts(result: PlaceResult, params: PlaceParams) -> dict:
    """Households and persons placed, by tie and tier."""
    p = result.placements
    tied = p["tie"].notna()
    within = tied & (p["minutes_from_tie"] <= params.reasonable_minutes)
    return {"households": int(len(p)), "persons": int(p["persons"].sum()), "tied": int(tied.sum()),
            "tied_within_reach": int(within.sum()), "tied_beyond_reach": int((tied & ~within).sum()),
            "extra_tier_persons": int(result.fill["extra_used"].sum()),
            "extra_tier_municipalities": int((result.fill["extra_used"] > 0).sum()),
            "moved_into_reach": int(result.moved), "rules": p["rule"].value_counts().sort_index().to_dict()}


def placement_table(result: PlaceResult, names: pd.Series) -> pd.DataFrame:
    """placements.csv: ``optimiser.place``'s table with municipality names."""
    p = result.placements
    return p.assign(kommune=p["kommunenummer"].map(names), tie_kommune=p["tie"].map(names))[
        ["household_id", "kommunenummer", "kommune", "persons", "tie", "tie_kommune", "minutes_from_tie", "rule",
         "in_extra", "sentence"]]


def fill_file(result: PlaceResult, municipalities: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """fill.csv: the room rule's figures and the fill before and after, per municipality."""
    m, f = municipalities, result.fill
    return pd.DataFrame({
        "kommune": names.reindex(m.index), "decision": m["decision"], "decision_from": m["decision_from"],
        "settled": m["settled"], "assigned_before": m["assigned"], "room": m["room"], "extra_room": m["extra_room"],
        "health_room": m["health_room"], "em_room": m["em_room"], "placed": f["assigned"],
        "extra_used": f["extra_used"], "fill_before": f["fill_before"], "fill_after": f["fill_after"],
    }, index=m.index).rename_axis("kommunenummer").reset_index()


def carried_table(carried: pd.DataFrame) -> pd.DataFrame:
    c = carried.assign(ready_date=carried["ready_date"].dt.strftime("%Y-%m-%d"),
                       registered_date=carried["registered_date"].dt.strftime("%Y-%m-%d"))
    return c.reindex(columns=CARRIED_COLUMNS).sort_values("household_id")


def common_manifest(batch: PlacementBatch, kind: str, allocation: dict[str, str], params: PlaceParams,
                    solver: SolverConfig) -> dict:
    """What every placement manifest records: the plan, every input, the code and the settings."""
    resolved: ResolvedPlan = batch.resolved
    return {
        "kind": kind, "plan": resolved.name, "batch": batch.name, "fingerprint": batch.fingerprint,
        "plan_fingerprint": resolved.fingerprint, "arrivals": str(batch.arrivals_source.path),
        "synthetic": batch.arrivals.synthetic, "arrivals_note": batch.arrivals.note,
        "ledger": str(batch.ledger_source.path) if batch.ledger_source is not None else None,
        "inputs": {**resolved.input_hashes(), **allocation, **batch.input_hashes()},
        "code_sha256": resolved.code_sha256, "git_commit": git_commit(), "packages": package_versions(),
        "solver": {"names": [solver.name] + ([solver.fallback] if solver.fallback else []),
                   "options": solver_options(solver)},
        "params": json.loads(json.dumps(dataclasses.asdict(params), default=str)),
        "outcome": resolved.plan.placement.outcome if params.outcome_weight > 0 else None,
        "room_rule": "optimiser.place_room (README, Placing households)",
    }


def write_placement(folder: Path, batch: PlacementBatch, result: PlaceResult, municipalities: pd.DataFrame,
                    carried: pd.DataFrame, names: pd.Series, params: PlaceParams,
                    solver: SolverConfig, allocation: dict[str, str]) -> dict:
    """Write one batch's placement into ``folder`` (a staging folder), manifest last; the
    placement has passed the independent check (``pipeline.graph.placement.check``).
    ``allocation``: the plan's published allocation the room was read from, path -> SHA-256."""
    folder = Path(folder)
    write_csv(placement_table(result, names), folder / "placements.csv")
    write_csv(carried_table(carried), folder / "carried.csv")
    write_csv(fill_file(result, municipalities, names), folder / "fill.csv")
    write_json(report([], PLACE_RULES), folder / "verify.json")
    return write_manifest(folder, {
        **common_manifest(batch, "placement", allocation, params, solver),
        "status": result.status.name.lower(), "objective": result.objective,
        "lp_bound": result.lp_bound, "gap": result.gap, "lp_converged": result.converged,
        "pricing_rounds": result.pricing_rounds, "costs": result.costs,
        "timings": {"solve_seconds": result.solve_seconds, "place_seconds": result.seconds},
        "counts": {**placement_counts(result, params), "arrived_households": int(len(result.placements) + len(carried)),
                   "carried_households": int(len(carried)), "classes": result.classes,
                   "integer_columns": result.pairs},
        "fill": {"national_rate": result.national_fill_rate, "before": fill_spread(result.fill["fill_before"]),
                 "after": fill_spread(result.fill["fill_after"])},
        "verify": {"ok": True, "violations": 0},
    })


def percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def synthetic_line(manifest: dict) -> list[str]:
    """One line saying the arrivals were drawn, not observed, and how (the file's first line)."""
    if not manifest.get("synthetic"):
        return []
    first = (manifest.get("arrivals_note") or "").splitlines()[0].lstrip("# ")
    return [f"arrivals are SYNTHETIC, not real households: {first}"]


def placement_summary(folder: Path) -> str:
    """The terminal's summary of one placement (from its manifest)."""
    folder = Path(folder)
    m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    c, fill = m["counts"], m["fill"]
    minutes = m["params"]["reasonable_minutes"]
    lines = [
        f"placement of {m['batch']} against plan {m['plan']}: {c['households']:,} of {c['arrived_households']:,} "
        f"households placed ({c['persons']:,} persons); {c['carried_households']:,} count on next year's decision "
        "(carried.csv)",
        f"ties: {c['tied']:,} tied households, {c['tied_within_reach']:,} within {minutes:g} minutes of their tie, "
        f"{c['tied_beyond_reach']:,} beyond (no room in reach: verify.json)",
        f"extra tier: {c['extra_tier_persons']:,} persons in volunteered extra room, "
        f"{c['extra_tier_municipalities']} municipalities",
        f"fill rate: national {percent(fill['national_rate'])}; spread (sd) {percent(fill['before']['std'])} before, "
        f"{percent(fill['after']['std'])} after; after {percent(fill['after']['min'])} to "
        f"{percent(fill['after']['max'])}",
        f"solver: {m['status']}, objective {m['objective']:.2f}, LP bound {m['lp_bound']:.2f}, gap {m['gap']:.2%}, "
        f"solve {m['timings']['solve_seconds']:.1f} s (placement {m['timings']['place_seconds']:.1f} s)",
        f"verify: {'ok' if m['verify']['ok'] else 'FAIL'} ({m['verify']['violations']} violations)",
        *synthetic_line(m),
        f"outputs in {folder}/: {', '.join(f for f in m['files'])}",
    ]
    return "\n".join(lines)


def week_rows(weeks: pd.DataFrame) -> pd.DataFrame:
    return weeks.assign(week_start=weeks["week_start"].dt.strftime("%Y-%m-%d"))


def write_year(folder: Path, batch: PlacementBatch, weeks: pd.DataFrame, comparison: pd.DataFrame, runs: dict,
               params: PlaceParams, solver: SolverConfig, allocation: dict[str, str]) -> dict:
    """Write a simulated year into ``folder`` (a staging folder), manifest last.
    ``runs``: ``weekly`` and ``hindsight``, ``optimiser.place_year.YearResult``."""
    folder = Path(folder)
    weekly, all_at_once = runs["weekly"], runs["hindsight"]
    write_csv(week_rows(weeks), folder / "year.csv")
    write_csv(comparison.rename_axis("measure").reset_index(), folder / "comparison.csv")
    write_csv(weekly.placements, folder / "placements.csv")
    write_csv(carried_table(batch.carried()), folder / "carried.csv")
    cost = ratio(weekly.summary["total_cost"], all_at_once.summary["total_cost"])
    bound = next((w.result.lp_bound for w in all_at_once.weeks if w.year == all_at_once.summary["year"]), 0.0)
    return write_manifest(folder, {
        **common_manifest(batch, "year", allocation, params, solver),
        "weeks": int(len(weeks)), "carried_households": int(len(batch.carried())),
        "weekly": weekly.summary, "hindsight": all_at_once.summary,
        "objective_ratio": cost, "reaches": 1.0 / cost if cost > 0 else 1.0,
        # The hindsight placement stops at its gap or time limit; its LP bound
        # bounds every placement of the year's households, the weekly one too.
        "hindsight_lp_bound": bound,
        "reaches_bound": bound / weekly.summary["total_cost"] if weekly.summary["total_cost"] > 0 else 1.0,
        "best_known": min(weekly.summary["total_cost"], all_at_once.summary["total_cost"]),
        "look_ahead": {"rule": "optimiser.place_year.expected_later, optimiser.place.health_fit and "
                               "optimiser.place_year.expected_risk (README, Placing households)",
                       "held_for_later_households": int(weeks["held_for_later"].sum()) if len(weeks) else 0},
        "timings": {"weekly_solve_seconds": float(weeks["solve_seconds"].sum()),
                    "hindsight_solve_seconds": float(sum(w.result.solve_seconds for w in all_at_once.weeks))},
        "verify": {"ok": True, "violations": 0},
    })


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """``optimiser.place_year.compare`` with the ratio weekly / hindsight of each measure."""
    return compared.assign(ratio=(compared["weekly"] / compared["hindsight"].where(compared["hindsight"] != 0)))


def year_summary_text(folder: Path) -> str:
    """The terminal's summary of a simulated year (from its manifest)."""
    folder = Path(folder)
    m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    w, h = m["weekly"], m["hindsight"]
    gap = 1 - m["hindsight_lp_bound"] / h["total_cost"] if h["total_cost"] else 0.0
    lines = [
        f"year of {m['batch']} against plan {m['plan']}: {m['weeks']} weeks, {w['households']:,} households placed, "
        f"{m['carried_households']:,} count on next year's decision (carried.csv)",
        f"{'':<28} {'weekly':>12} {'hindsight':>12}",
        *(f"{label:<28} {fmt.format(w[key]):>12} {fmt.format(h[key]):>12}" for label, key, fmt in (
            ("total cost", "total_cost", "{:,.2f}"), ("fill spread (sd)", "fill_spread_std", "{:.4f}"),
            ("fill spread (max - min)", "fill_spread_range", "{:.4f}"), ("households beyond reach", "beyond_reach",
                                                                         "{:,}"),
            ("person-minutes beyond reach", "person_minutes_beyond", "{:,.0f}"))),
        f"objective ratio weekly / hindsight {m['objective_ratio']:.4f}: the weekly year reaches "
        f"{percent(m['reaches'])} of the hindsight placement (all at once)",
        f"the hindsight placement's gap to its LP bound is {percent(gap)} "
        f"(bound {m['hindsight_lp_bound']:,.2f}, which no placement of the year can beat); against it "
        f"the weekly year reaches {percent(m['reaches_bound'])}",
        f"both are placements of the whole year: its optimum costs between {m['hindsight_lp_bound']:,.2f} "
        f"and {m['best_known']:,.2f}",
        f"each week held room for the households expected later in the year (with complex health needs; "
        f"every household in the last five weeks), and priced the complex-health room each household left: "
        f"{m['look_ahead']['held_for_later_households']:,} expected over all weeks",
        f"solve {m['timings']['weekly_solve_seconds']:.1f} s week by week, {m['timings']['hindsight_solve_seconds']:.1f} s "
        "in hindsight",
        *synthetic_line(m),
        f"outputs in {folder}/: {', '.join(m['files'])}",
    ]
    return "\n".join(lines)


def ratio(weekly: float, hindsight: float) -> float:
    """weekly / hindsight, 1 where both are 0."""
    if hindsight == 0:
        return 1.0 if weekly == 0 else float(np.inf)
    return weekly / hindsight
