"""Why each municipality got its number.

Per municipality: the target and each criterion's contribution, the county
recommendation and the deviation from it, the limits that bound, and the
marginal value of one more place of capacity: in the LP that fixes every
integer decision at its solved value, how much the objective falls when the
municipality's capacity limits are raised by one place (0 when capacity did
not bind).  The duals of those limits pick the municipalities to try.
"""
from __future__ import annotations

import pandas as pd
import pulp

from optimiser import rules
from optimiser.criteria import Targets
from optimiser.model import ModelInputs, build_model
from optimiser.plan import Plan
from optimiser.solve import solve

MARGINAL_TOLERANCE = 1e-6
# Smallest marginal value a sentence mentions: below it the gain is the tie-break's.
MARGINAL_SHOWN = 0.005
LABELS = {
    "population": "population", "centrality": "centrality", "upper_secondary": "upper-secondary access",
    "labour_market": "labour market", "refugees_per_inhabitant": "refugees living there",
    "settled_per_inhabitant": "settled recently", "completion": "decisions settled",
    "request_last": "last year's request", "request_recent": "recent requests",
    "decided_recent": "recent decisions", "settled_recent": "recently settled",
    "introduction_results": "introduction results", "employment": "employment",
}


def binding_limits(inputs: ModelInputs, request: pd.Series, em_request: pd.Series) -> pd.Series:
    """Semicolon-separated names of the limits that hold with equality."""
    m = inputs.municipalities
    x = request.reindex(m.index).fillna(0)
    asked = x > 0
    # A re-plan may make an excluded municipality eligible (it must keep what is settled).
    excluded_by = m["excluded_by"].where(~m["eligible"], "") if "excluded_by" in m else pd.Series("", index=m.index)
    label = {name: rule.binds_as for name, rule in rules.RULES.items()}
    binding = {
        "access rule": (excluded_by == "access"),
        "KS exclusion": (excluded_by == "ks_exclusion"),
        "not eligible": ~m["eligible"] & (excluded_by == ""),
        label["minimum_size"]: asked & (x == m["min_request"]),
        label["base_capacity"]: asked & (x == m["base_capacity"]),
        label["capacity"]: asked & (m["extra_capacity"] > 0) & (x == m["base_capacity"] + m["extra_capacity"]),
        label["ks_cap"]: m["cap"].notna() & (x == m["cap"]),
        label["complex_health"]: m["health_cap"].notna() & (x == m["health_cap"]),
        label["lower_bound"]: (m["lower_bound"] > 0) & (x == m["lower_bound"]),
        label["lock"]: m["locked"],
        label["em_capacity"]: (m["em_capacity"] > 0) & (em_request.reindex(m.index).fillna(0) == m["em_capacity"]),
    }
    frame = pd.DataFrame(binding)
    return frame.apply(lambda row: "; ".join(name for name, hit in row.items() if hit), axis=1)


def capacity_marginal_value(inputs: ModelInputs, request: pd.Series, em_request: pd.Series,
                            solvers: list) -> pd.Series:
    """Objective decrease per extra place of capacity, with integer decisions fixed."""
    prob, v = build_model(inputs)
    asked = request.reindex(inputs.municipalities.index).fillna(0) > 0
    for c, var in v.s.items():
        var.cat = pulp.LpContinuous
        var.lowBound = var.upBound = int(asked[c])
    for var in list(v.x) + list(v.y) + list(v.z) + (list(v.k) if v.k is not None else []):
        var.cat = pulp.LpContinuous
    for var in list(v.x) + list(v.e):
        # These bounds repeat the capacity rows; left in place, the solver may
        # put the dual on the bound instead of the row and report 0.
        var.upBound = None
    em_asked = em_request.reindex(v.z.index).fillna(0) > 0
    for c, var in v.z.items():
        var.lowBound = var.upBound = int(em_asked[c])
    if v.k is not None:
        for c, var in v.k.items():
            var.lowBound = var.upBound = int(request[c]) // inputs.granularity
    result = solve(prob, solvers)
    value = pd.Series(0.0, index=inputs.municipalities.index)
    if not result.status.has_solution:
        return value * float("nan")
    rows: dict[str, list] = {}
    for con in prob.constraints():
        rule, _, key = con.name.partition(":")
        if rule in rules.CAPACITY and asked[key]:
            rows.setdefault(key, []).append(con)
    objective_with = _raised_objective(prob, solvers)
    base = objective_with([])
    for key, limits in rows.items():
        # A <= limit in a minimisation has pi <= 0, and -pi never understates
        # the fall of the objective per place; but at a degenerate optimum it
        # can be positive although one more place changes nothing.  So the
        # dual only picks the candidates, and one more place is then tried.
        if sum(-(con.pi or 0.0) for con in limits) <= MARGINAL_TOLERANCE:
            continue
        raised = objective_with(limits)
        if raised is not None:
            value[key] = max(0.0, base - raised)
    return value.round(6) + 0.0


def _raised_objective(prob: pulp.LpProblem, solvers: list):
    """A function: capacity rows -> the LP optimum with each of them one place higher.

    With HiGHS the solved model is kept (PuLP leaves it in ``prob.solverModel``,
    each constraint's row in ``con.index``): a changed bound and a re-run
    start from the last basis, a few simplex steps instead of a rebuild.
    Otherwise (CBC) the problem is solved again through PuLP.
    """
    highs = getattr(prob, "solverModel", None)
    if highs is not None and hasattr(highs, "changeRowBounds"):
        def objective_with(limits) -> float | None:
            lp = highs.getLp()
            saved = [(con.index, lp.row_lower_[con.index], lp.row_upper_[con.index]) for con in limits]
            for row, lower, upper in saved:
                highs.changeRowBounds(row, lower, upper + 1)
            highs.run()
            optimal = highs.getModelStatus() == type(highs.getModelStatus()).kOptimal
            objective = highs.getInfo().objective_function_value if optimal else None
            for row, lower, upper in saved:
                highs.changeRowBounds(row, lower, upper)
            return objective
        return objective_with

    def resolve_with(limits) -> float | None:
        for con in limits:
            con.constant -= 1
        raised = solve(prob, solvers)
        for con in limits:
            con.constant += 1
        return raised.objective if raised.status.has_solution else None
    return resolve_with


def explain(plan: Plan, targets: Targets, inputs: ModelInputs, allocation: pd.DataFrame,
            marginal: pd.Series) -> pd.DataFrame:
    """explain.csv: one row per municipality with a plain sentence."""
    a = allocation.set_index("kommunenummer")
    m = inputs.municipalities
    contributions = targets.frame[[c for c in targets.frame.columns if c.startswith("contribution_")]]
    binding = binding_limits(inputs, a["request"], a["em_request"])
    frame = pd.DataFrame({
        "kommune": a["kommune"],
        "request": a["request"],
        "em_request": a["em_request"],
        "target": targets.frame["target"].round(3),
    }).join(contributions.round(3))
    frame["recommended"] = m["recommended"].astype("Int64")
    frame["deviation_from_recommended"] = (a["request"] - m["recommended"]).astype("Int64")
    frame["binding"] = binding
    frame["capacity_marginal_value"] = marginal.reindex(frame.index)
    frame["sentence"] = [
        _sentence(code, row, plan, contributions.loc[code]) for code, row in frame.iterrows()
    ]
    return frame.reset_index()


def _sentence(code: str, row: pd.Series, plan: Plan, contributions: pd.Series) -> str:
    name = f"{row['kommune']} ({code})"
    parts = sorted(((value, key.removeprefix("contribution_")) for key, value in contributions.items()), reverse=True)
    why = ", ".join(f"{LABELS.get(key, key)} {value:.1f}" for value, key in parts if value >= 0.05)
    target = f"target {row['target']:.1f} persons ({why})"
    if row["request"] == 0:
        reason = row["binding"] or "its target is too small to justify the minimum request"
        reason = reason.replace("access rule", f"no upper-secondary school within "
                                f"{plan.network.reasonable_travel_minutes:g} minutes (access rule)")
        return f"{name} is not asked: {reason}; {target}."
    text = f"{name} is asked to settle {row['request']} persons"
    if row["em_request"] > 0:
        text += f", of whom {row['em_request']} unaccompanied minors"
    text += f"; {target}"
    if pd.notna(row["recommended"]):
        text += f"; the county recommended {row['recommended']} ({row['deviation_from_recommended']:+d})"
    text += f"; bound by: {row['binding']}" if row["binding"] else "; no limit bound"
    if row["capacity_marginal_value"] >= MARGINAL_SHOWN:
        text += f"; one more place of capacity would improve the plan by {row['capacity_marginal_value']:.2f}"
    return text + "."


def markdown(frame: pd.DataFrame, plan: Plan) -> str:
    """explain.md: a heading and one sentence per municipality, in code order."""
    lines = [f"# Why each municipality got its number: plan {plan.name}", "",
             f"National need {plan.need_persons} persons. Targets are in persons; each criterion's "
             "contribution is in brackets. 'Bound by' names the limits that hold with equality.", ""]
    lines += [f"- {sentence}" for sentence in frame["sentence"]]
    return "\n".join(lines) + "\n"
