"""The 2022 case the letter and report tests share: the real plan, municipalities,
letter config and templates, and a run made here (not by the engine, and with no
figure of IMDi's): requests split by population, targets split by the plan's weights."""
from __future__ import annotations

import pandas as pd

from pipeline.plans.load import plan_to_dict
from pipeline.publish.run_folder import document_settings
from pipeline.publish.run_tables import RunTables
from tests.factories import real_inputs

ALVER = "4631"
KONGSVINGER = "3401"  # bokmål by its own choice (Innlandet)
ASKED_FROM_POPULATION = 5000  # municipalities this large are asked in the test allocation
LACKED = ("introduction_results", "employment")  # planner-supplied: no data for them in the shipped 2022 plan


def plan_2022():
    return real_inputs("2022").plan


def municipalities_2022(plan) -> pd.DataFrame:
    return real_inputs(plan.name).data.municipalities


def settings_for(plan, municipalities=None):
    return document_settings(real_inputs(plan.name))


def allocation_2022(plan, municipalities: pd.DataFrame) -> pd.DataFrame:
    """The need split by population (largest remainder) over the municipalities of at least
    5,000 inhabitants; the others are not asked."""
    m = municipalities
    asked = m.index[m["population"] >= ASKED_FROM_POPULATION]
    share = m.loc[asked, "population"] / m.loc[asked, "population"].sum() * plan.need_persons
    request = share.astype(int)
    remainder = (share - request).sort_values(ascending=False, kind="stable")
    request[remainder.index[: plan.need_persons - int(request.sum())]] += 1
    request = request.reindex(m.index, fill_value=0)
    return pd.DataFrame({
        "kommunenummer": m.index, "kommune": m["kommune"].to_numpy(), "fylke": m["fylke"].to_numpy(),
        "fylkesnavn": m["fylkesnavn"].to_numpy(), "population": m["population"].to_numpy(),
        "target": request.to_numpy().astype(float), "request": request.to_numpy(),
    }).reset_index(drop=True)


def used_criteria(plan) -> list[str]:
    return [n for n, w in plan.criteria.weights.items() if w > 0 and n not in LACKED]


def tables_for(plan, allocation: pd.DataFrame) -> RunTables:
    """The run's tables for ``allocation``: each target split over the used criteria by weight."""
    used = used_criteria(plan)
    total = sum(plan.criteria.weights[n] for n in used)
    target = allocation.set_index("kommunenummer")["target"]
    targets = pd.DataFrame({"target": target, **{f"contribution_{n}": target * plan.criteria.weights[n] / total
                                                 for n in used}})
    return RunTables(allocation=allocation, targets=targets, binding=pd.Series("", index=target.index))


def manifest_for(plan, allocation: pd.DataFrame, illustrative: bool = True) -> dict:
    weights = plan.criteria.weights
    return {
        "plan": plan.name, "fingerprint": "0123456789abcdef" * 4, "status": "optimal", "sol_status": 1, "gap": 0.0,
        "objective": 651.9, "solver": {"name": "HiGHS", "version": "1.16.0"}, "config": plan_to_dict(plan),
        "criteria": {"used": used_criteria(plan), "lacked": [n for n in LACKED if weights.get(n, 0) > 0],
                     "unused": [n for n, w in weights.items() if w == 0]},
        "submissions": {"illustrative": illustrative, "county_recommendations": 201, "municipal_answers": 356,
                        "ks": {"agrees": True, "reference": "test", "date": "2021-10-01", "caps": 0, "exclusions": 0,
                               "minimum_exceptions": 0}},
        "fairness": {"asked": int((allocation["request"] > 0).sum()), "not_asked": int((allocation["request"] == 0).sum()),
                     "at_minimum": 0, "largest_ratio": 1.0, "largest_ratio_municipality": "0301 Oslo",
                     "median_ratio": 1.0},
    }
