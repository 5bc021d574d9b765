"""Fairness figures of an allocation: what a planner checks before signing.

From the allocation table alone (``optimiser.allocate.allocation_table``):

largest_ratio, median_ratio  request / target among the municipalities asked
                             (and who has the largest)
at_minimum                   municipalities asked for exactly their minimum
not_asked                    municipalities asked for nothing
em_by_county                 per county: EM requested, the county's EM
                             recommendation, and the share of it requested
newly_asked                  in a re-plan, municipalities asked that were not before
"""
from __future__ import annotations

import pandas as pd


def fairness(allocation: pd.DataFrame, minimum: pd.Series) -> dict:
    """``allocation``: one row per municipality (kommunenummer, kommune, fylke,
    fylkesnavn, target, request, and where present em_request, recommended_em,
    previous); ``minimum``: each municipality's minimum request, by kommunenummer."""
    a = allocation.set_index("kommunenummer")
    asked = a[a["request"] > 0]
    ratio = (asked["request"] / asked["target"].where(asked["target"] > 0)).dropna()
    out = {
        "asked": int(len(asked)),
        "not_asked": int((a["request"] == 0).sum()),
        "at_minimum": int((asked["request"] == minimum.reindex(asked.index)).sum()),
        "largest_ratio": round(float(ratio.max()), 3) if len(ratio) else None,
        "largest_ratio_municipality": f"{ratio.idxmax()} {a.at[ratio.idxmax(), 'kommune']}" if len(ratio) else None,
        "median_ratio": round(float(ratio.median()), 3) if len(ratio) else None,
    }
    if "em_request" in a and "recommended_em" in a:
        by_county = a.groupby(["fylke", "fylkesnavn"], sort=True).agg(
            em_request=("em_request", "sum"), recommended_em=("recommended_em", "sum"))
        out["em_by_county"] = [
            {"fylke": fylke, "fylkesnavn": name, "em_request": int(row.em_request),
             "recommended_em": int(row.recommended_em),
             "share": round(row.em_request / row.recommended_em, 3) if row.recommended_em > 0 else None}
            for (fylke, name), row in by_county.iterrows()]
    if "previous" in a:
        out["newly_asked"] = int(((a["previous"] == 0) & (a["request"] > 0)).sum())
    return out


def fairness_line(figures: dict) -> str:
    """One line for the terminal."""
    text = (f"fairness: {figures['asked']} asked, {figures['not_asked']} not asked, {figures['at_minimum']} at exactly "
            f"the minimum; request / target median {figures['median_ratio']}, largest {figures['largest_ratio']} "
            f"({figures['largest_ratio_municipality']})")
    shares = [c["share"] for c in figures.get("em_by_county", []) if c["share"] is not None]
    if shares:
        text += f"; EM share of county recommendations {min(shares):.0%}-{max(shares):.0%}"
    if "newly_asked" in figures:
        text += f"; newly asked {figures['newly_asked']}"
    return text
