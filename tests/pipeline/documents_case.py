"""The 2022 case the letter and report tests share: the real plan and municipalities,
and an allocation built here (not by the engine) with Alver's request fixed to 28."""
from __future__ import annotations

import pandas as pd

from pipeline.publish.run_folder import document_settings
from tests.factories import real_inputs

ALVER = "4631"
ALVER_REQUEST = 28
ASKED_FROM_POPULATION = 5000  # municipalities this large are asked in the test allocation


def plan_2022():
    return real_inputs("2022").plan


def municipalities_2022(plan) -> pd.DataFrame:
    return real_inputs(plan.name).data.municipalities


def settings_for(plan, municipalities):
    return document_settings(real_inputs(plan.name))


def allocation_2022(plan, municipalities: pd.DataFrame) -> pd.DataFrame:
    """Alver 28; the rest of the need split by population (largest remainder) over
    municipalities of at least 5,000 inhabitants; the others are not asked."""
    m = municipalities
    others = m.index[(m["population"] >= ASKED_FROM_POPULATION) & (m.index != ALVER)]
    rest = plan.need_persons - ALVER_REQUEST
    share = m.loc[others, "population"] / m.loc[others, "population"].sum() * rest
    request = share.astype(int)
    remainder = (share - request).sort_values(ascending=False, kind="stable")
    request[remainder.index[: rest - int(request.sum())]] += 1
    request = request.reindex(m.index, fill_value=0)
    request[ALVER] = ALVER_REQUEST
    return pd.DataFrame({
        "kommunenummer": m.index, "kommune": m["kommune"].to_numpy(), "fylke": m["fylke"].to_numpy(),
        "fylkesnavn": m["fylkesnavn"].to_numpy(), "population": m["population"].to_numpy(),
        "target": request.to_numpy().astype(float), "request": request.to_numpy(),
    }).reset_index(drop=True)
