"""Tables of a run for people: per county (the terminal, ``county.csv`` and the
report all use ``county_table``) and, in a re-plan, the changes by reason."""
from __future__ import annotations

import pandas as pd


def county_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """Per county: municipalities asked, requests, target, requests per 1,000
    inhabitants; where county recommendations exist their sum and the
    deviation of the requests from them (over the recommended municipalities);
    the unaccompanied-minor requests; in a re-plan the previous requests and
    the change."""
    has_rec = allocation["recommended"].notna() if "recommended" in allocation else None
    if has_rec is not None and not has_rec.any():
        has_rec = None  # no county recommended anything (a re-plan without its own recommendations)
    a = allocation.assign(asked=allocation["request"] > 0)
    if has_rec is not None:
        a = a.assign(rec=a["recommended"].fillna(0).astype(int), req_rec=a["request"].where(has_rec, 0))
    g = a.groupby(["fylke", "fylkesnavn"], sort=True)
    table = pd.DataFrame({
        "municipalities": g.size(),
        "asked": g["asked"].sum(),
        "population": g["population"].sum(),
        "target": g["target"].sum(),
        "request": g["request"].sum(),
    })
    if has_rec is not None:
        table["recommended"] = g["rec"].sum()
        table["deviation_from_recommended"] = g["req_rec"].sum() - table["recommended"]
    if "em_request" in a:
        table["em_request"] = g["em_request"].sum()
    if {"previous", "change"} <= set(a.columns):
        table["previous"] = g["previous"].sum().astype(int)
        table["change"] = g["change"].sum().astype(int)
    table = table.reset_index()
    table["per_1000"] = table["request"] / table["population"] * 1000.0
    return table


def format_county_table(table: pd.DataFrame) -> str:
    rec = "recommended" in table
    head = f"{'fylke':<24} {'asked':>9} {'request':>8} {'target':>8} {'per 1000':>8}"
    head += f" {'county rec':>10} {'deviation':>9}" if rec else ""
    head += f" {'EM':>4}" if "em_request" in table else ""
    lines = [head]
    total = table.sum(numeric_only=True)
    rows = [(f"{r.fylke} {r.fylkesnavn}", r) for r in table.itertuples()] + [("Norway", total)]
    for name, r in rows:
        per_1000 = r.request / r.population * 1000.0
        line = (f"{name:<24} {int(r.asked):>4}/{int(r.municipalities):<4} {int(r.request):>8} "
                f"{r.target:>8.1f} {per_1000:>8.2f}")
        if rec:
            line += f" {int(r.recommended):>10} {int(r.deviation_from_recommended):>+9}"
        if "em_request" in table:
            line += f" {int(r.em_request):>4}"
        lines.append(line)
    return "\n".join(lines)


def change_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """Re-plans: the change against the earlier plan split into its parts
    (``optimiser.reallocate.CHANGE_PARTS``): per part, the municipalities it
    touches and the persons; a last row for the whole change."""
    parts = [c.removeprefix("change_") for c in allocation.columns
             if c.startswith("change_") and c != "change_reason"]
    rows = [{"part": part.replace("_", " "), "municipalities": int((allocation[f"change_{part}"] != 0).sum()),
             "persons": int(allocation[f"change_{part}"].sum())} for part in parts]
    rows.append({"part": "change", "municipalities": int((allocation["change"] != 0).sum()),
                 "persons": int(allocation["change"].sum())})
    return pd.DataFrame(rows)


def format_change_table(table: pd.DataFrame) -> str:
    lines = [f"{'part of the change':<20} {'municipalities':>14} {'persons':>9}"]
    lines += [f"{r.part:<20} {r.municipalities:>14} {r.persons:>+9}" for r in table.itertuples()]
    return "\n".join(lines)
