"""Settlement-history criteria: hand-made frames, answers worked out in the comments.

Municipalities are ``0001``..``0004``; every frame is small enough to check
on paper.  No figure here is computed by ``optimiser.history`` itself.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimiser import history

A, B, C, D = "0001", "0002", "0003", "0004"


def rows(*records, **defaults) -> pd.DataFrame:
    """History rows from (kommunenummer, year, requested, decided, settled) and keyword columns."""
    frame = pd.DataFrame(records, columns=["kommunenummer", "year", "requested", "decided", "settled"])
    for column in ("requested_hidden", "decided_hidden", "settled_hidden"):
        frame[column] = defaults.get(column, 0)
    return frame


def population(years, **by_code) -> pd.DataFrame:
    """Population rows: the same inhabitants every year unless a list is given."""
    out = []
    for code, values in by_code.items():
        values = values if isinstance(values, list) else [values] * len(years)
        out += [{"kommunenummer": code, "year": y, "population": v} for y, v in zip(years, values)]
    return pd.DataFrame(out)


def counted_row(frame: pd.DataFrame, code: str, year: int) -> pd.Series:
    counted = history.counted_history(frame, year + 1)
    return counted[(counted["kommunenummer"] == code) & (counted["year"] == year)].iloc[0]


# --- weights of recent years ----------------------------------------------------

def recency_frame() -> pd.DataFrame:
    # Requests (A, B): 2015 (90, 10), 2016 (0, 20), 2017 (10, 10), 2018 (30, 10).
    # Shares of A: 2015 0.9, 2016 0, 2017 0.5, 2018 0.75.
    return rows((A, 2015, 90, 90, 90), (B, 2015, 10, 10, 10),
                (A, 2016, 0, 0, 0), (B, 2016, 20, 20, 20),
                (A, 2017, 10, 10, 10), (B, 2017, 10, 10, 10),
                (A, 2018, 30, 30, 30), (B, 2018, 10, 10, 10))


def test_recent_share_weighs_the_latest_three_years_three_two_one():
    counted = history.counted_history(recency_frame(), 2019)
    share = history.recent_share(counted, 2019, "requested", pd.Index([A, B]))
    # A: (3 * 0.75 + 2 * 0.5 + 1 * 0) / 6 = 3.25 / 6; 2015 is older than three years and ignored.
    assert share[A] == pytest.approx(3.25 / 6)
    assert share[B] == pytest.approx(2.75 / 6)


def test_recent_share_with_two_years_uses_the_first_two_weights():
    frame = recency_frame()
    counted = history.counted_history(frame[frame["year"] < 2017], 2017)
    share = history.recent_share(counted, 2017, "requested", pd.Index([A, B]))
    # Years 2016 (weight 3, A 0) and 2015 (weight 2, A 0.9): A = 1.8 / 5.
    assert share[A] == pytest.approx(1.8 / 5)


def test_recent_share_treats_years_of_different_need_alike():
    # The same split (A 3/4) in a year of 400 and a year of 4 gives A 3/4.
    frame = rows((A, 2017, 300, 0, 0), (B, 2017, 100, 0, 0), (A, 2018, 3, 0, 0), (B, 2018, 1, 0, 0))
    counted = history.counted_history(frame, 2019)
    assert history.recent_share(counted, 2019, "requested", pd.Index([A, B]))[A] == pytest.approx(0.75)


def test_request_last_is_the_latest_year_before_the_plan_even_across_a_gap():
    # Plan 2023 with no 2022 row: the latest available year, 2021, is "last year".
    frame = rows((A, 2020, 10, 10, 10), (B, 2020, 30, 30, 30), (A, 2021, 40, 40, 40), (B, 2021, 10, 10, 10))
    crit = history.history_criteria(frame, population([2020, 2021], **{A: 1000, B: 1000}), 2023)
    assert crit.years == (2021, 2020)
    assert crit.last_need == 50
    assert crit.shares.loc[A, "request_last"] == pytest.approx(0.8)


def test_shares_sum_to_one_and_indicators_peak_at_one():
    crit = history.history_criteria(recency_frame(), population([2017, 2018], **{A: 4000, B: 1000}), 2019)
    assert crit.shares.sum().to_numpy() == pytest.approx([1.0] * len(history.SHARES))
    assert crit.indicators.max().to_numpy() == pytest.approx([1.0] * crit.indicators.shape[1])


def test_settled_per_inhabitant_divides_the_recent_settled_share_by_population():
    # Settled shares 2018, 2017, 2016: A 0.75, 0.5, 0 -> recent 3.25/6; B 2.75/6.
    # Per inhabitant: A 3.25/6/4000, B 2.75/6/1000; B is the largest (1), A = 3.25/(2.75*4).
    crit = history.history_criteria(recency_frame(), population([2017, 2018], **{A: 4000, B: 1000}), 2019)
    assert crit.indicators.loc[B, "settled_per_inhabitant"] == pytest.approx(1.0)
    assert crit.indicators.loc[A, "settled_per_inhabitant"] == pytest.approx(3.25 / (2.75 * 4))


def test_population_is_the_latest_before_the_plan_year():
    crit = history.history_criteria(recency_frame(), population([2017, 2018], **{A: [10, 20], B: [30, 40]}), 2019)
    assert crit.population_year == 2018
    assert crit.population.to_dict() == {A: 20.0, B: 40.0}


# --- hidden cells -----------------------------------------------------------------

def test_hidden_settled_cell_counts_two_and_a_half_persons():
    frame = rows((A, 2018, 10, 10, 0), (B, 2018, 20, 20, 7))
    frame["settled_hidden"] = [1, 2]  # B: a merged municipality, 7 visible plus two hidden cells
    assert counted_row(frame, A, 2018)["settled"] == 2.5
    assert counted_row(frame, B, 2018)["settled"] == 12.0


def test_hidden_settled_cell_is_never_read_as_zero():
    frame = rows((A, 2018, 10, 10, 0))
    frame["settled_hidden"] = 1
    assert counted_row(frame, A, 2018)["settled"] > 0


def test_hidden_request_means_not_asked_and_its_hidden_settled_counts_a_quarter():
    # IMDi's 2020 table: ':' also hides 0 and "not asked".
    frame = rows((A, 2020, 0, 0, 0), (B, 2020, 10, 10, 10))
    frame.loc[0, ["requested_hidden", "decided_hidden", "settled_hidden"]] = 1
    row = counted_row(frame, A, 2020)
    assert (row["requested"], row["decided"], row["settled"]) == (0.0, 0.0, 0.25)


def test_hidden_decision_where_a_request_was_made_counts_two_and_a_half():
    frame = rows((A, 2020, 10, 0, 7))
    frame["decided_hidden"] = 1
    assert counted_row(frame, A, 2020)["decided"] == 2.5


def test_figure_printed_as_dot_counts_zero():
    frame = rows((A, 2016, 12, np.nan, 0), (B, 2016, 10, 10, 10))
    assert counted_row(frame, A, 2016)["decided"] == 0.0


def test_original_request_replaces_the_lowered_one():
    frame = rows((A, 2020, 10, 15, 8), (B, 2020, 20, 30, 20), (A, 2019, 5, 5, 5), (B, 2019, 5, 5, 5))
    frame["requested_original"] = [15, 30, np.nan, np.nan]
    counted = history.counted_history(frame, 2021).set_index(["kommunenummer", "year"])["requested"]
    assert counted[(A, 2020)] == 15
    assert counted[(A, 2019)] == 5


# --- settled / decided ----------------------------------------------------------------

def test_completion_is_settled_over_decided_relative_to_the_national_pace():
    # One year.  Decided A 20, B 20, C 0; settled A 20, B 10, C 0: pace 30/40 = 0.75.
    # Expected at the pace: A 15, B 15, C 0.  With the prior of 10 persons:
    # A (20+10)/(15+10) = 1.2, B (10+10)/(15+10) = 0.8, C (0+10)/(0+10) = 1.
    frame = rows((A, 2018, 20, 20, 20), (B, 2018, 20, 20, 10), (C, 2018, 0, 0, 0))
    counted = history.counted_history(frame, 2019)
    ratio = history.completion(counted, 2019, pd.Index([A, B, C]))
    assert ratio.to_dict() == pytest.approx({A: 1.2, B: 0.8, C: 1.0})


def test_completion_with_a_small_denominator_stays_near_one():
    # Pace 1 (settled = decided nationally, D carries it).  A decided 2 and settled 0:
    # (0+10)/(2+10) = 5/6.  B decided 200 and settled 0: 10/210.  Raw ratios would both be 0.
    frame = rows((A, 2018, 10, 2, 0), (B, 2018, 200, 200, 0), (D, 2018, 400, 198, 400))
    counted = history.counted_history(frame, 2019)
    ratio = history.completion(counted, 2019, pd.Index([A, B, D]))
    assert ratio[A] == pytest.approx(10 / 12)
    assert ratio[B] == pytest.approx(10 / 210)


def test_completion_weighs_recent_years_three_two():
    # 2017: A decided 10 settled 0, B decided 30 settled 40 (pace 1).
    # 2018: A decided 10 settled 10, B decided 10 settled 10 (pace 1).
    # Weights 3/5 (2018) and 2/5 (2017):
    # A: (0.6*10 + 0.4*0 + 10) / (0.6*10 + 0.4*10 + 10) = 16/20;
    # B: (0.6*10 + 0.4*40 + 10) / (0.6*10 + 0.4*30 + 10) = 32/28.
    frame = rows((A, 2017, 10, 10, 0), (B, 2017, 30, 30, 40), (A, 2018, 10, 10, 10), (B, 2018, 10, 10, 10))
    counted = history.counted_history(frame, 2019)
    ratio = history.completion(counted, 2019, pd.Index([A, B]))
    assert ratio.to_dict() == pytest.approx({A: 16 / 20, B: 32 / 28})


def test_completion_of_a_year_counted_part_way_is_judged_at_that_year_s_pace():
    # 2018 settled counted to September: everyone settled half of what they decided.
    # Relative to the year's pace of 0.5 both settle at the national pace: 1.
    frame = rows((A, 2018, 100, 100, 50), (B, 2018, 20, 20, 10))
    counted = history.counted_history(frame, 2019)
    assert history.completion(counted, 2019, pd.Index([A, B])).to_dict() == pytest.approx({A: 1.0, B: 1.0})


# --- refugees per inhabitant ---------------------------------------------------------

def test_refugees_per_inhabitant_uses_the_latest_year_both_frames_hold():
    refugees = pd.DataFrame({"kommunenummer": [A, B, A, B], "year": [2016, 2016, 2017, 2017],
                             "refugees": [10, 30, 20, 40]})
    pop = population([2016, 2017, 2018], **{A: [100, 200, 400], B: [100, 400, 800]})
    year, ratio = history.refugees_per_inhabitant(refugees, pop, 2019)
    # 2018 has population but no refugee figure: 2017 is used, A 20/200, B 40/400.
    assert year == 2017
    assert ratio.to_dict() == pytest.approx({A: 0.1, B: 0.1})


# --- refusal of the plan year and later --------------------------------------------------

def test_every_function_refuses_a_history_row_of_the_plan_year():
    frame = recency_frame()
    pop = population([2018], **{A: 100, B: 100})
    calls = [
        lambda: history.counted_history(frame, 2018),
        lambda: history.recent_years(frame, 2018),
        lambda: history.recent_share(frame, 2018, "requested", pd.Index([A, B])),
        lambda: history.completion(frame, 2018, pd.Index([A, B])),
        lambda: history.history_criteria(frame, population([2017], **{A: 100, B: 100}), 2018),
        lambda: history.latest_before(pop, 2018, "population", "population"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="2018"):
            call()


def test_history_criteria_refuses_a_later_row_even_when_the_plan_year_is_absent():
    frame = rows((A, 2017, 10, 10, 10), (B, 2017, 10, 10, 10), (A, 2020, 10, 10, 10), (B, 2020, 10, 10, 10))
    with pytest.raises(ValueError, match="2020.*2019|2019.*2020"):
        history.history_criteria(frame, population([2017], **{A: 100, B: 100}), 2019)


@pytest.mark.parametrize("late", ["population", "refugees"])
def test_history_criteria_refuses_population_or_refugees_dated_in_the_plan_year(late):
    pop = population([2017, 2018, 2019] if late == "population" else [2017, 2018], **{A: 100, B: 100})
    year_of_refugees = 2019 if late == "refugees" else 2018
    refugees = pd.DataFrame({"kommunenummer": [A, B], "year": [year_of_refugees] * 2, "refugees": [1, 2]})
    with pytest.raises(ValueError, match="2019"):
        history.history_criteria(recency_frame(), pop, 2019, refugees)


def test_kommunenummer_must_be_a_four_character_string():
    frame = recency_frame().assign(kommunenummer=lambda f: f["kommunenummer"].astype(int))
    with pytest.raises(ValueError, match="kommunenummer"):
        history.counted_history(frame, 2019)


# --- purity ----------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["optimiser/history.py", "optimiser/calibrate.py"])
def test_module_reads_no_files(module):
    tree = ast.parse(Path(module).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert not imported & {"pathlib", "yaml", "luigi", "os", "io"}
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not called & {"open", "read_csv", "read_excel", "read_text", "read_parquet"}
