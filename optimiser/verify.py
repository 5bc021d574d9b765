"""Independent check of an allocation against the model's parameters.

Plain pandas, no solver and no code shared with ``optimiser.model``: if the
model builder has a bug, this is what notices.  Each check returns
violations naming the municipality (or county), the rule and the amount.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from optimiser.model import ModelInputs


@dataclass(frozen=True)
class Violation:
    rule: str
    key: str  # kommunenummer, fylke or "NO"
    amount: float  # by how many persons the rule is broken
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def verify(inputs: ModelInputs, request: pd.Series, em_request: pd.Series | None = None) -> list[Violation]:
    """All violations of the plan's hard rules by ``request`` and ``em_request``
    (unaccompanied minors), both indexed by kommunenummer."""
    m = inputs.municipalities
    x = request.reindex(m.index)
    out: list[Violation] = []
    missing = x.isna()
    for c in m.index[missing]:
        out.append(Violation("complete", c, 0, "no request for this municipality"))
    for c in request.index.difference(m.index):
        out.append(Violation("unknown_municipality", str(c), float(request[c]),
                             f"request {request[c]:g} for a municipality not in the plan"))
    x = x.fillna(0)
    non_integer = (x != x.round())
    for c in m.index[non_integer]:
        out.append(Violation("integer", c, float(abs(x[c] - round(x[c]))), f"request {x[c]} is not a whole number"))
    total = float(x.sum())
    if total != inputs.need:
        out.append(Violation("national_need", "NO", total - inputs.need,
                             f"requests sum to {total:g}, the need is {inputs.need}"))
    out += _each(x < 0, x, "non_negative", lambda c: -x[c], "request {x} is negative")
    asked = x > 0
    out += _each(asked & ~m["eligible"], x, "eligibility", lambda c: x[c], "asked {x} but may not be asked")
    small = asked & (x < m["min_request"])
    out += _each(small, x, "minimum_size", lambda c: m.at[c, "min_request"] - x[c],
                 "asked {x}, fewer than the minimum")
    cap = m["base_capacity"] + m["extra_capacity"]
    out += _each(x > cap, x, "capacity", lambda c: x[c] - cap[c], "request {x} above base + extra capacity")
    out += _each(m["cap"].notna() & (x > m["cap"]), x, "ks_cap", lambda c: x[c] - m.at[c, "cap"],
                 "request {x} above the KS cap")
    out += _each(m["health_cap"].notna() & (x > m["health_cap"]), x, "complex_health",
                 lambda c: x[c] - m.at[c, "health_cap"], "request {x} above what its complex-health capacity allows")
    out += _each((m["lower_bound"] > 0) & (x < m["lower_bound"]), x, "lower_bound", lambda c: m.at[c, "lower_bound"] - x[c],
                 "request {x} below what is settled or decided")
    locked = m["locked"] & (x != m["recommended"])
    out += _each(locked, x, "lock", lambda c: abs(x[c] - m.at[c, "recommended"]),
                 "request {x} differs from the locked recommendation")
    if inputs.granularity > 1:
        off = (x % inputs.granularity) != 0
        out += _each(off, x, "granularity", lambda c: x[c] % inputs.granularity,
                     f"request {{x}} is not a multiple of {inputs.granularity}")
    by_county = x.groupby(m["fylke"]).sum()
    for county, minimum in inputs.county_minimum.items():
        got = float(by_county.get(county, 0))
        if got < minimum:
            out.append(Violation("county_spread", str(county), minimum - got,
                                 f"county receives {got:g}, at least {minimum} required"))
    out += _verify_em(inputs, x, em_request)
    out += _verify_school_regions(inputs, x)
    return out


def _verify_school_regions(inputs: ModelInputs, x: pd.Series) -> list[Violation]:
    """Persons per school region never above the plan's cap."""
    cap = inputs.school_region_cap
    if inputs.school_region is None or cap is None:
        return []
    received = x.groupby(inputs.school_region.reindex(x.index)).sum()
    return [Violation("school_region_cap", str(r), float(got - cap), f"school region receives {got:g}, at most {cap}")
            for r, got in received.items() if got > cap]


def _verify_em(inputs: ModelInputs, x: pd.Series, em_request: pd.Series | None) -> list[Violation]:
    m = inputs.municipalities
    y = (em_request if em_request is not None else pd.Series(0, index=m.index)).reindex(m.index).fillna(0)
    out = []
    if float(y.sum()) != inputs.em_need:
        out.append(Violation("em_quota", "NO", float(y.sum()) - inputs.em_need,
                             f"EM requests sum to {y.sum():g}, the EM need is {inputs.em_need}"))
    asked = y > 0
    out += _each(asked & ~((m["em_capacity"] > 0) & m["eligible"]), y, "em_capable", lambda c: y[c],
                 "asked for {x} unaccompanied minors without EM capacity")
    out += _each(y > m["em_capacity"], y, "em_capacity", lambda c: y[c] - m.at[c, "em_capacity"],
                 "EM request {x} above its EM capacity")
    out += _each(asked & (y < inputs.em_minimum), y, "em_minimum", lambda c: inputs.em_minimum - y[c],
                 f"EM request {{x}} below the EM minimum {inputs.em_minimum}")
    out += _each(asked & (y > x), y, "em_inside_total", lambda c: y[c] - x[c], "EM request {x} larger than the total request")
    return out


def _each(mask: pd.Series, x: pd.Series, rule: str, amount, template: str) -> list[Violation]:
    return [Violation(rule, c, float(amount(c)), template.format(x=f"{x[c]:g}")) for c in mask.index[mask]]


def verify_ladder(table: pd.DataFrame) -> list[Violation]:
    """House monotonicity of a need ladder: no request falls when the need rises.

    ``table``: one row per municipality (index or column ``kommunenummer``),
    one column per need (numbers or their text, as in the ladder CSV).  Each
    fall between two consecutive needs is a violation naming the municipality,
    both needs and the persons lost.
    """
    if "kommunenummer" in table.columns:
        table = table.set_index("kommunenummer")
    needs = sorted(table.columns, key=int)
    out = []
    for low, high in zip(needs, needs[1:]):
        fall = table[low] - table[high]
        for c in table.index[fall > 0]:
            out.append(Violation("ladder_monotonicity", str(c), float(fall[c]),
                                 f"request falls from {table.at[c, low]:g} at need {int(low)} "
                                 f"to {table.at[c, high]:g} at need {int(high)}"))
    return out


def violations_line(violations: list[Violation]) -> str:
    """One line for an error message: how many violations, and the first."""
    first = violations[0]
    return f"{len(violations)} violation(s); first: {first.rule} at {first.key}: {first.detail}"


def report(violations: list[Violation], rules: list[str] | None = None) -> dict:
    """verify.json: ok, every violation, the rules checked (default: the allocation's)."""
    return {"ok": not violations, "violations": [v.as_dict() for v in violations],
            "rules_checked": rules if rules is not None else RULES}


RULES = ["complete", "unknown_municipality", "integer", "national_need", "non_negative", "eligibility", "minimum_size",
         "capacity", "ks_cap", "complex_health", "lower_bound", "lock", "granularity", "county_spread",
         "em_quota", "em_capable", "em_capacity", "em_minimum", "em_inside_total", "school_region_cap"]
