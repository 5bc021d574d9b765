"""Read what the counties, KS and the municipalities send for a plan.

Files under ``data/inputs/<plan>/`` (all optional; a plan without them uses
the plan's default capacity rule and no recommendations):

``counties/<fylkesnummer>.csv``  one per county authority (fylkeskommune):
    kommunenummer,kommune,year,recommended,recommended_em,reason
    ``recommended`` empty = no recommendation for that municipality.
``ks.yaml``  KS's input: agreement, reference, date, caps, exclusions and
    exceptions to the minimum request (see ``KsFile``).
``answers.csv``  the municipalities' answers:
    kommunenummer,kommune,year,decision,base_capacity,extra_capacity,
    complex_health_capacity,em_capacity

CSV files may start with ``#`` comment lines; a file whose first comment
line starts with ``# ILLUSTRATIVE`` is an illustrative stand-in, and so is a
``ks.yaml`` with ``illustrative: true``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimiser.assemble import locked_municipalities
from optimiser.data import KsInput, Submissions
from optimiser.plan import Plan
from pipeline.errors import InputError
from pipeline.inputs.source import FileSet, Source, as_source
from pipeline.inputs.tables import MAX_PERSONS, Column, check_codes, fail_at, first_line, read_table
from pipeline.inputs.yamlfile import build_dataclass, read_yaml

# First line of a CSV file that is an illustrative stand-in, not a real submission.
ILLUSTRATIVE_LINE = "# ILLUSTRATIVE"
FIRST_YEAR, LAST_YEAR = 2000, 2100
ANSWERS_FILE = "answers.csv"  # the municipal answers, in a plan's input folder


@dataclass(frozen=True)
class KsCap:
    kommunenummer: str
    max_persons: int
    reason: str = ""


@dataclass(frozen=True)
class KsExclusion:
    kommunenummer: str
    reason: str


@dataclass(frozen=True)
class KsMinimumException:
    kommunenummer: str
    minimum: int
    reason: str


@dataclass(frozen=True)
class KsFile:
    year: int
    agrees: bool
    reference: str
    date: str
    caps: tuple[KsCap, ...] = ()
    exclusions: tuple[KsExclusion, ...] = ()
    minimum_exceptions: tuple[KsMinimumException, ...] = ()
    illustrative: bool = False


def read_submissions(plan: Plan, municipalities: pd.DataFrame, files: FileSet, own: Path,
                     base: Path | None = None) -> Submissions:
    """The plan's submissions from ``own`` (``data/inputs/<plan>/``).  A re-plan
    reads its own files where it has them and the base plan's (``base``) for KS
    and the municipal answers; county recommendations are numbers for a plan's
    own need, so a re-plan uses only its own.  Of the plan it reads only the
    year, the need, the EM quota and the submission rules: the key under which
    ``pipeline.plans.inputs.plan_submissions`` shares the result between plans."""
    def pick(name: str) -> Path:
        return submission_path(name, files, own, base)

    recs, recs_illustrative = _read_counties(plan, files.under(own / "counties", ".csv"), municipalities)
    ks_path = pick("ks.yaml")
    ks, ks_illustrative = _read_ks(plan, files.get(str(ks_path)), municipalities.index)
    answers, answers_illustrative = _read_answers(plan, files.get(str(pick(ANSWERS_FILE))), municipalities.index)
    submissions = Submissions(recommendations=recs, ks=ks, answers=answers,
                              illustrative=recs_illustrative or ks_illustrative or answers_illustrative)
    _cross_check(plan, submissions, ks_path, municipalities["fylke"])
    return submissions


def submission_path(name: str, files: FileSet, own: Path, base: Path | None) -> Path:
    """Where a plan reads the submission file ``name``: its own folder, or a
    re-plan's base plan's folder where it has none of its own."""
    mine = own / name
    if base is None or files.has(mine) or files.under(mine):
        return mine
    return base / name


def _is_illustrative(source: Source) -> bool:
    return first_line(source).upper().startswith(ILLUSTRATIVE_LINE)


def _check_year(path: Path, frame: pd.DataFrame, plan: Plan) -> None:
    wrong = frame["year"] != plan.year
    if wrong.any():
        fail_at(path, frame, wrong, "year", f"file is for {frame['year'][wrong].iloc[0]}, the plan is for {plan.year}",
                "use the file sent for this plan year")


def _read_counties(plan: Plan, sources: list[Source], municipalities: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    columns = ["recommended", "recommended_em", "reason"]
    empty = pd.DataFrame({"recommended": pd.Series(dtype=float), "recommended_em": pd.Series(dtype=float),
                          "reason": pd.Series(dtype=str)}).rename_axis("kommunenummer")
    counties = set(municipalities["fylke"])
    frames, illustrative, seen = [], False, {}
    em_total = plan.unaccompanied_minors.total_persons if plan.unaccompanied_minors else plan.need_persons
    for source in sources:
        path = source.path
        if path.stem not in counties:
            raise InputError(str(path), f"no county with fylkesnummer {path.stem!r}",
                             f"name county files by fylkesnummer: {', '.join(sorted(counties))}")
        frame = read_table(source, [
            Column("kommunenummer", "code"), Column("year", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR),
            Column("recommended", "int", required=False, maximum=plan.need_persons),
            Column("recommended_em", "int", required=False, maximum=em_total),
            Column("reason", "text"),
        ], allow_empty=True)
        check_codes(frame, path, municipalities.index, complete=False)
        _check_year(path, frame, plan)
        wrong = municipalities.loc[frame["kommunenummer"], "fylke"].to_numpy() != path.stem
        if wrong.any():
            mask = pd.Series(wrong, index=frame.index)
            code = frame["kommunenummer"][mask].iloc[0]
            fail_at(path, frame, mask, "kommunenummer",
                    f"{code} belongs to county {municipalities.at[code, 'fylke']}, not {path.stem}",
                    "move the row to that county's file")
        again = frame["kommunenummer"].isin(seen)
        if again.any():
            code = frame["kommunenummer"][again].iloc[0]
            fail_at(path, frame, again, "kommunenummer", f"{code} is also recommended in {seen[code]}")
        seen.update(dict.fromkeys(frame["kommunenummer"], path.name))
        illustrative |= _is_illustrative(source)
        frames.append(frame.set_index("kommunenummer")[columns])
    if not frames:
        return empty, False
    recs = pd.concat(frames).sort_index()
    recs["recommended"] = recs["recommended"].astype(float)
    recs["recommended_em"] = recs["recommended_em"].astype(float)
    return recs, illustrative


def _read_ks(plan: Plan, source: Source | None, codes: pd.Index) -> tuple[KsInput | None, bool]:
    if source is None:
        return None, False
    path = source.path
    raw = read_yaml(source)
    ks = build_dataclass(KsFile, raw if raw is not None else {}, str(path), "")
    if ks.year != plan.year:
        raise InputError(f"{path}:year", f"KS input is for {ks.year}, the plan is for {plan.year}")
    for family in ("caps", "exclusions", "minimum_exceptions"):
        seen = set()
        for i, item in enumerate(getattr(ks, family)):
            where = f"{path}:{family}[{i}].kommunenummer"
            if item.kommunenummer not in codes:
                raise InputError(where, f"unknown kommunenummer {item.kommunenummer!r}",
                                 "use the 2020-2023 municipality codes as quoted text")
            if item.kommunenummer in seen:
                raise InputError(where, f"{item.kommunenummer} listed twice under {family}")
            seen.add(item.kommunenummer)
    for i, cap in enumerate(ks.caps):
        where = f"{path}:caps[{i}].max_persons"
        if cap.max_persons < 0:
            raise InputError(where, f"negative cap {cap.max_persons}")
        if cap.max_persons > MAX_PERSONS:
            raise InputError(where, f"cap {cap.max_persons} is above the plausible maximum {MAX_PERSONS}")
    for i, exc in enumerate(ks.minimum_exceptions):
        where = f"{path}:minimum_exceptions[{i}].minimum"
        if exc.minimum < 0:
            raise InputError(where, f"negative minimum {exc.minimum}")
        if exc.minimum > plan.need_persons:
            raise InputError(where, f"minimum {exc.minimum} is above the national need {plan.need_persons}")
    return KsInput(
        agrees=ks.agrees, reference=ks.reference, date=ks.date,
        caps=pd.Series({c.kommunenummer: c.max_persons for c in ks.caps}, dtype="int64"),
        exclusions=pd.Series({e.kommunenummer: e.reason for e in ks.exclusions}, dtype=str),
        minimum_exceptions=pd.Series({e.kommunenummer: e.minimum for e in ks.minimum_exceptions}, dtype="int64"),
    ), ks.illustrative


ANSWER_COLUMNS = ["decision", "base_capacity", "extra_capacity", "complex_health_capacity", "em_capacity"]


def _read_answers(plan: Plan, source: Source | None, codes: pd.Index) -> tuple[pd.DataFrame, bool]:
    if source is None:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ANSWER_COLUMNS}).rename_axis("kommunenummer"), False
    path = source.path
    most = MAX_PERSONS
    frame = read_table(source, [
        Column("kommunenummer", "code"), Column("year", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR),
        Column("decision", "int", required=False, maximum=most), Column("base_capacity", "int", maximum=most),
        Column("extra_capacity", "int", maximum=most),
        Column("complex_health_capacity", "int", required=False, maximum=most),
        Column("em_capacity", "int", required=False, maximum=most),
    ], allow_empty=True)
    check_codes(frame, path, codes, complete=False)
    _check_year(path, frame, plan)
    total = frame["base_capacity"] + frame["extra_capacity"]
    too_many = frame["em_capacity"].fillna(0) > total
    if too_many.any():
        fail_at(path, frame, too_many, "em_capacity",
                f"EM capacity {frame['em_capacity'][too_many].iloc[0]} is larger than the total capacity "
                f"{total[too_many].iloc[0]} (base + extra)", "EM requests count inside the total")
    answers = frame.set_index("kommunenummer")[ANSWER_COLUMNS].astype(float)
    return answers, _is_illustrative(source)


def _cross_check(plan: Plan, s: Submissions, ks_path: Path, fylke: pd.Series) -> None:
    """Contradictions between files that no single file shows."""
    if s.ks is None:
        return
    locked = locked_municipalities(plan, s.recommendations, fylke)
    for i, (code, cap) in enumerate(s.ks.caps.items()):
        if code in locked and s.recommendations.at[code, "recommended"] > cap:
            raise InputError(f"{ks_path}:caps[{i}].max_persons",
                             f"KS cap {cap} for {code} is below its locked county recommendation "
                             f"{int(s.recommendations.at[code, 'recommended'])}",
                             "unlock the recommendation or raise the cap")
    for i, code in enumerate(s.ks.exclusions.index):
        if code in locked and s.recommendations.at[code, "recommended"] > 0:
            raise InputError(f"{ks_path}:exclusions[{i}].kommunenummer",
                             f"{code} is excluded by KS but its county recommendation "
                             f"{int(s.recommendations.at[code, 'recommended'])} is locked",
                             "unlock the recommendation or lift the exclusion")


def submissions_summary(s: Submissions) -> dict:
    """What the manifest says about the submissions a run used."""
    return {
        "illustrative": bool(s.illustrative),
        "county_recommendations": int(s.recommendations["recommended"].notna().sum()),
        "municipal_answers": int(len(s.answers)),
        "ks": None if s.ks is None else {"agrees": s.ks.agrees, "reference": s.ks.reference, "date": s.ks.date,
                                         "caps": len(s.ks.caps), "exclusions": len(s.ks.exclusions),
                                         "minimum_exceptions": len(s.ks.minimum_exceptions)},
    }


def read_status(plan: Plan, municipalities: pd.DataFrame, source: Source | Path) -> tuple[pd.DataFrame, bool]:
    """A re-plan's status file: what is settled and decided so far this year.

    Columns: kommunenummer,kommune,year,settled,decision,extra_capacity,
    settled_above_decision (true where more are settled than decided, on
    purpose, e.g. family reunification counted in).  Municipalities without
    a row have settled 0 and no decision.
    """
    source = as_source(source)
    path = source.path
    most = MAX_PERSONS
    frame = read_table(source, [
        Column("kommunenummer", "code"), Column("year", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR),
        Column("settled", "int", maximum=most),
        Column("decision", "int", required=False, maximum=most),
        Column("extra_capacity", "int", required=False, maximum=most),
        Column("settled_above_decision", "bool", required=False),
    ], allow_empty=True)
    check_codes(frame, path, municipalities.index, complete=False)
    _check_year(path, frame, plan)
    above = frame["decision"].notna() & (frame["settled"] > frame["decision"].fillna(0)) & ~frame["settled_above_decision"]
    if above.any():
        fail_at(path, frame, above, "settled",
                f"{frame['kommunenummer'][above].iloc[0]} has settled {frame['settled'][above].iloc[0]}, more than its "
                f"decision {frame['decision'][above].iloc[0]}", "correct the figures or set settled_above_decision to true")
    settled = int(frame["settled"].sum())
    if settled > plan.need_persons:
        raise InputError(f"{path}:settled", f"{settled} persons are already settled nationally, more than the new "
                         f"need {plan.need_persons}", "the need cannot fall below what is settled")
    status = frame.set_index("kommunenummer")[["settled", "decision", "extra_capacity"]].astype(float)
    return status, _is_illustrative(source)
