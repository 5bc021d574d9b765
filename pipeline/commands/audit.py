"""``python -m pipeline audit --run out/2022``: re-check a stored run from its files alone.

The audit trusts nothing the run wrote about itself that it can recompute:

1. every file of the run folder and every input file against the SHA-256
   ``manifest.json`` records (relative input paths are read from the folder
   the audit runs in, as the run read them);
2. the code hash (a difference is a warning: code may be newer; ``--strict``
   makes it a failure);
3. ``allocation.csv`` against ``parameters.csv`` + ``county_minimum.csv``:
   one whole-number request per municipality, every hard rule re-checked by
   ``optimiser.verify``, the stored ``verify.json`` agreeing, ``county.csv``
   summing the allocation;
4. ``model.mps`` re-solved with HiGHS: each municipality's ``x_<kommunenummer>``
   must equal its request or, where HiGHS settles on another optimum, the
   stored requests fixed in the model must be feasible and score within the
   run's MIP gap of the re-solve; the manifest's objective must equal the
   stored allocation's score;
5. the run rebuilt from its recorded plan and inputs
   (``pipeline.commands.audit_rebuild``): parameters, county minimum and the
   model file must equal what the engine computes from them, the documents
   what it renders from ``allocation.csv``, and every number the manifest
   states what the rebuild gives.

Each check prints one line, ``audit: <what> ... ok`` or
``audit: FAIL <what>: <detail>``.  Exit status 0 when all pass, 1 on any
failure, 2 when the run folder or its manifest cannot be read.  Extra files
in the run folder are ignored.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from optimiser.model import MODEL_COLUMNS, ModelInputs
from optimiser.plan import SolverConfig
from optimiser.verify import verify
from pipeline.commands.audit_rebuild import check_documents, check_rebuild
from pipeline.errors import InputError
from pipeline.inputs.tables import CODE_RE, Column, fail_at, read_table
from pipeline.inputs.yamlfile import build_dataclass
from pipeline.plans.resolve import code_sha256
from pipeline.publish.files import sha256_file
from pipeline.publish.sweep import INFEASIBLE_RECORD
from pipeline.solvers import highs_options, silence_highs_banner

# Relative and absolute tolerance on the objective of the re-solve.
OBJECTIVE_TOLERANCE = 1e-6
# At most this many lines per check for per-municipality differences.
MAX_LINES = 20
# allocation.csv column -> the model.mps variable prefix holding the same number (x_0301, y_0301).
REQUEST_VARIABLES = {"request": "x", "em_request": "y"}
# Columns of parameters.csv that hold codes with leading zeros.
CODE_COLUMNS = ("kommunenummer", "fylke", "school_region")



def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", default="out/2022", help="run folder to re-check (default out/2022)")
    p.add_argument("--strict", action="store_true", help="a changed code hash is a failure, not a warning")


@dataclass
class Audit:
    """Collects one line per check; counts failures."""

    strict: bool = False
    failures: int = 0
    checks: int = 0

    def ok(self, what: str) -> None:
        self.checks += 1
        print(f"audit: {what} ... ok")

    def fail(self, what: str, detail: str) -> None:
        self.checks += 1
        self.failures += 1
        print(f"audit: FAIL {what}: {detail}")

    def warn(self, what: str, detail: str) -> None:
        print(f"audit: WARNING {what}: {detail}")

    def fail_many(self, what: str, details: list[str]) -> None:
        """One check, one FAIL line per problem (at most ``MAX_LINES``)."""
        self.checks += 1
        self.failures += 1
        for detail in details[:MAX_LINES]:
            print(f"audit: FAIL {what}: {detail}")
        if len(details) > MAX_LINES:
            print(f"audit: FAIL {what}: ... and {len(details) - MAX_LINES} more")


def run(args: argparse.Namespace) -> int:
    folder = Path(args.run)
    manifest = read_manifest(folder)
    audit = Audit(strict=args.strict)
    check_files(audit, folder, manifest)
    check_outputs(audit, folder, manifest)
    check_inputs(audit, manifest)
    check_code(audit, manifest)
    stored = read_tables(audit, folder, manifest)
    if stored is not None and not check_rows(audit, stored):
        stored = None
    if stored is not None:
        check_verify(audit, stored)
        check_county_table(audit, stored)
        check_resolve(audit, stored)
    rebuilt = check_rebuild(audit, folder, manifest, stored)
    if rebuilt is not None and stored is not None:
        check_documents(audit, folder, manifest, rebuilt)
    if audit.failures:
        print(f"audit: {folder} FAILED: {audit.failures} of {audit.checks} checks failed")
        return 1
    print(f"audit: {folder} passed ({audit.checks} checks)")
    return 0


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not folder.is_dir():
        raise InputError(str(folder), "run folder not found", "run `make allocate` or pass --run out/<plan>")
    if not path.is_file() and (folder / INFEASIBLE_RECORD).is_file():
        raise InputError(str(folder), "an infeasible scenario of a sweep: no allocation to audit",
                         f"{INFEASIBLE_RECORD} there holds the diagnosis")
    if not path.is_file():
        raise InputError(str(path), "manifest not found", "the run is incomplete; run `make allocate` again")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(str(path), f"cannot be read as JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise InputError(str(path), "expected a JSON object at the top level")
    return manifest


def check_files(audit: Audit, folder: Path, manifest: dict) -> None:
    missing = [name for name in manifest.get("files", []) if not (folder / name).exists()]
    if missing:
        audit.fail_many("run folder", [f"{folder / name} is listed in manifest.json but missing" for name in missing])
    else:
        audit.ok(f"run folder ({len(manifest.get('files', []))} files listed in manifest.json)")


def check_outputs(audit: Audit, folder: Path, manifest: dict) -> None:
    """Each file of the run folder as the manifest recorded it (SHA-256)."""
    outputs = manifest.get("outputs") or {}
    if not outputs:
        audit.fail("outputs", "manifest.json records no output hashes")
        return
    changed = [f"{name} has changed since the run (sha256 {sha256_file(folder / name)[:12]}..., manifest.json "
               f"records {expected[:12]}...)" for name, expected in sorted(outputs.items())
               if (folder / name).is_file() and sha256_file(folder / name) != expected]
    if changed:
        audit.fail_many("output", changed)
    else:
        audit.ok(f"output hashes ({len(outputs)} files)")


def check_inputs(audit: Audit, manifest: dict) -> None:
    """Each input's SHA-256 now on disk equals the one recorded at run time."""
    inputs = manifest.get("inputs") or {}
    if not inputs:
        audit.fail("inputs", "manifest.json records no input hashes")
        return
    problems = []
    for name, expected in sorted(inputs.items()):
        path = Path(name)
        if not path.is_file():
            problems.append(f"{name} is missing (looked in {path.resolve().parent})")
            continue
        found = sha256_file(path)
        if found != expected:
            problems.append(f"{name} has changed since the run (sha256 {found[:12]}..., manifest.json records "
                            f"{expected[:12]}...)")
    if problems:
        audit.fail_many("input", problems)
    else:
        audit.ok(f"input hashes ({len(inputs)} files)")


def check_code(audit: Audit, manifest: dict) -> None:
    recorded = manifest.get("code_sha256")
    now = code_sha256()
    if recorded == now:
        audit.ok("code hash")
        return
    detail = (f"optimiser/ and pipeline/ hash to {now[:12]}..., the run recorded {str(recorded)[:12]}... "
              f"(the code changed since the run)")
    if audit.strict:
        audit.fail("code", detail)
    else:
        audit.warn("code", detail + "; --strict makes this a failure")


@dataclass(frozen=True)
class StoredRun:
    folder: Path
    manifest: dict
    allocation: pd.DataFrame  # index kommunenummer: kommune, fylke and the REQUEST_VARIABLES columns present
    params: pd.DataFrame  # ModelInputs.municipalities
    county_minimum: pd.Series

    def label(self, code: str) -> str:
        """"4631 Alver" (or the bare key for a county or "NO")."""
        name = self.allocation["kommune"].get(code)
        return f"{code} {name}" if isinstance(name, str) and name else str(code)


def read_tables(audit: Audit, folder: Path, manifest: dict) -> StoredRun | None:
    """The run's tables, or None after a FAIL line naming file:row:field."""
    path = folder / "allocation.csv"
    try:
        header = pd.read_csv(path, nrows=0).columns if path.is_file() else []
        requests = [Column(name, "int", minimum=None) for name in REQUEST_VARIABLES
                    if name in header or name == "request"]
        allocation = read_table(path, [Column("kommunenummer", "code"), Column("kommune", "text"),
                                       Column("fylke", "text"), *requests])
        params = read_parameters(folder / "parameters.csv")
        county = read_table(folder / "county_minimum.csv",
                            [Column("fylke", "text"), Column("minimum", "int")], key="fylke")
    except InputError as exc:
        audit.fail("run tables", str(exc))
        return None
    audit.ok("run tables (allocation.csv, parameters.csv, county_minimum.csv)")
    allocation = allocation.astype({col.name: "int64" for col in requests}).set_index("kommunenummer")
    return StoredRun(folder, manifest, allocation, params, county.set_index("fylke")["minimum"].astype("int64"))


def read_parameters(path: Path) -> pd.DataFrame:
    """``parameters.csv`` as ``ModelInputs.municipalities``, typed as the writer left it.

    Whole numbers, floats (empty cells NaN) and True/False are read back by
    pandas; ``MODEL_COLUMNS`` are required, other columns are kept as they are.
    """
    if not path.is_file():
        raise InputError(str(path), "file not found", "the run is incomplete; run it again")
    frame = pd.read_csv(path, dtype={name: str for name in CODE_COLUMNS}, keep_default_na=False,
                        na_values=[""])
    missing = [name for name in ("kommunenummer",) + MODEL_COLUMNS if name not in frame]
    if missing:
        raise InputError(f"{path}:1", f"missing column {missing[0]!r}", "the run was written by other code")
    codes = frame["kommunenummer"].fillna("")
    fail_at_first(path, frame, ~codes.str.match(CODE_RE), "kommunenummer", "not a 4-digit kommunenummer")
    fail_at_first(path, frame, codes.duplicated(), "kommunenummer", "duplicated kommunenummer")
    for name in MODEL_COLUMNS:
        if name != "fylke" and not pd.api.types.is_numeric_dtype(frame[name]):
            bad = pd.to_numeric(frame[name], errors="coerce").isna() & frame[name].notna()
            fail_at_first(path, frame, bad, name, "not a number or true/false")
    return frame.set_index("kommunenummer")


def fail_at_first(path: Path, frame: pd.DataFrame, mask: pd.Series, column: str, what: str) -> None:
    if mask.any():
        fail_at(path, frame, mask, column, f"{what}: {frame[column][mask].iloc[0]!r}")


def check_rows(audit: Audit, run: StoredRun) -> bool:
    """allocation.csv has exactly the municipalities of parameters.csv."""
    codes = run.allocation.index
    problems = [f"no row for {code} (parameters.csv has one)" for code in run.params.index.difference(codes)]
    problems += [f"row for {run.label(code)} is not in parameters.csv" for code in codes.difference(run.params.index)]
    if problems:
        audit.fail_many("allocation.csv", problems)
        return False
    audit.ok(f"allocation.csv rows ({len(codes)} municipalities, whole-number requests)")
    return True


def stored_inputs(run: StoredRun) -> ModelInputs:
    """The model's parameters as the run stored them.

    Scalars come from the resolved config; a key of the same name at the top
    of the manifest (a re-plan records its own ``need``) or in its
    ``model_inputs`` wins.  Only fields ``ModelInputs`` has are passed.
    """
    manifest = run.manifest
    config = manifest.get("config") or {}
    minors = config.get("unaccompanied_minors") or {}
    scalars = {"need": config.get("need_persons"), "granularity": config.get("granularity_persons", 1),
               "school_region_cap": (config.get("network") or {}).get("school_region_cap_persons")}
    if minors:
        scalars["em_need"] = minors["total_persons"] - minors.get("placed_by_bufetat_persons", 0)
        scalars["em_minimum"] = minors.get("minimum_request", 0)
    scalars |= {key: manifest[key] for key in scalars if key in manifest}
    known = {f.name for f in fields(ModelInputs)}
    kwargs = {key: (None if value is None else int(value)) for key, value in scalars.items() if key in known}
    if "school_region" in run.params and "school_region" in known:
        kwargs["school_region"] = run.params["school_region"]
    return ModelInputs(name=str(manifest.get("plan", "")), municipalities=run.params,
                       county_minimum=run.county_minimum, **kwargs)


def check_verify(audit: Audit, run: StoredRun) -> None:
    """Re-run the independent checker on the stored requests; compare with verify.json."""
    extra = {"em_request": run.allocation["em_request"]} if "em_request" in run.allocation else {}
    violations = verify(stored_inputs(run), run.allocation["request"], **extra)
    if violations:
        audit.fail_many("verify", [f"{v.rule} at {run.label(v.key)}: {v.detail}" for v in violations])
    else:
        audit.ok("verify (every hard rule on allocation.csv)")
    try:
        stored_ok = json.loads((run.folder / "verify.json").read_text(encoding="utf-8")).get("ok")
    except (OSError, ValueError, AttributeError) as exc:
        audit.fail("verify.json", f"cannot be read: {exc}")
        return
    if stored_ok is not True:
        audit.fail("verify.json", f"records ok={stored_ok}; a published run must pass its own check")
    elif violations:
        audit.fail("verify.json", f"records ok=true but allocation.csv now breaks {len(violations)} rule(s)")
    else:
        audit.ok("verify.json agrees")


def check_county_table(audit: Audit, run: StoredRun) -> None:
    """county.csv requests equal the allocation summed by county."""
    path = run.folder / "county.csv"
    if not path.is_file():
        return
    stored = pd.read_csv(path, dtype={"fylke": str}).set_index("fylke")
    if "request" not in stored:
        return
    summed = run.allocation.groupby("fylke")["request"].sum()
    both = pd.concat({"stored": stored["request"], "summed": summed}, axis=1).fillna(0)
    diff = both[both["stored"] != both["summed"]]
    if len(diff):
        audit.fail_many("county.csv", [f"county {fylke} request {int(row.stored)} but allocation.csv sums to "
                                       f"{int(row.summed)}" for fylke, row in diff.iterrows()])
    else:
        audit.ok("county.csv sums")


@dataclass(frozen=True)
class Resolved:
    status: str
    objective: float | None
    values: dict  # variable prefix -> rounded values of <prefix>_<kommunenummer>, index kommunenummer


class StoredModel:
    """The stored model file in HiGHS, solved with the run's solver options, quietly."""

    def __init__(self, path: Path, solver: SolverConfig):
        silence_highs_banner()
        import highspy

        self.highspy = highspy
        self.h = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        for name, value in highs_options(solver).items():
            h.setOptionValue(name, value)
        if h.readModel(str(path)) != highspy.HighsStatus.kOk:
            raise InputError(str(path), "HiGHS cannot read the model file")
        self.columns = {name: i for i, name in enumerate(h.getLp().col_names_)}

    def solve(self) -> Resolved:
        h = self.h
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if h.getModelStatus() != self.highspy.HighsModelStatus.kOptimal:
            return Resolved(status, None, {})
        solution = dict(zip(self.columns, h.getSolution().col_value))
        values = {}
        for prefix in REQUEST_VARIABLES.values():
            head = prefix + "_"
            values[prefix] = pd.Series({name[len(head):]: int(round(value)) for name, value in solution.items()
                                        if name.startswith(head)}, dtype="int64")
        return Resolved(status, h.getInfo().objective_function_value, values)

    def solve_with(self, fixed: dict[str, int]) -> Resolved:
        """The optimum with the named columns fixed (how the model scores a stored allocation)."""
        for name, value in fixed.items():
            self.h.changeColBounds(self.columns[name], float(value), float(value))
        return self.solve()


def check_resolve(audit: Audit, run: StoredRun) -> None:
    """Re-solve model.mps: requests first (naming municipalities), then the optimum.

    A MIP can have several optima, and the run stops within ``mip_rel_gap`` of
    the best bound; HiGHS reading the file may settle on another of them.  So
    where the re-solve's requests differ, the stored requests are fixed in the
    model: they pass if that is feasible and scores within the run's gap of
    the re-solve, and fail (naming each municipality) otherwise.
    """
    manifest = run.manifest
    solver = build_dataclass(SolverConfig, (manifest.get("config") or {}).get("solver") or {},
                             str(run.folder / "manifest.json"), "config.solver")
    if manifest.get("status") != "optimal":
        audit.warn("status", f"the run recorded status {manifest.get('status')!r}, not a proven optimum; "
                             "the re-solve may find a better one")
    try:
        stored_model = StoredModel(run.folder / "model.mps", solver)
        resolved = stored_model.solve()
    except InputError as exc:
        audit.fail("model.mps", str(exc))
        return
    if resolved.objective is None:
        audit.fail("model.mps", f"HiGHS re-solve ends with status {resolved.status!r}, not optimal")
        return
    problems = []
    for column, prefix in REQUEST_VARIABLES.items():
        if column in run.allocation:
            problems += _differences(run, column, prefix, resolved.values[prefix])
    scored = resolved.objective
    if not problems:
        audit.ok("allocation.csv equals the re-solved model.mps")
    else:
        scored = _score_stored(stored_model, run)
        allowed = resolved.objective + _gap_allowance(resolved.objective, solver)
        if scored is not None and scored <= allowed:
            audit.ok(f"allocation.csv is an optimum of model.mps (objective {scored:.6f}, re-solve "
                     f"{resolved.objective:.6f}, within the run's gap; HiGHS chose an equally good "
                     f"alternative for {len(problems)} municipalities)")
        else:
            audit.fail_many("allocation.csv", problems)
            scored = resolved.objective
    recorded = manifest.get("objective")
    if recorded is None:
        audit.fail("objective", "manifest.json records no objective")
    elif not math.isclose(scored, recorded, rel_tol=OBJECTIVE_TOLERANCE, abs_tol=OBJECTIVE_TOLERANCE):
        audit.fail("objective", f"manifest.json records {recorded:.6f} but model.mps re-solves to {scored:.6f}")
    else:
        audit.ok(f"objective {scored:.6f} (re-solved with HiGHS)")


def _score_stored(model: StoredModel, run: StoredRun) -> float | None:
    """The model's objective with every request fixed at allocation.csv's (None: infeasible)."""
    fixed = {}
    for column, prefix in REQUEST_VARIABLES.items():
        if column not in run.allocation:
            continue
        for code, value in run.allocation[column].items():
            name = f"{prefix}_{code}"
            if name not in model.columns:
                if value != 0:
                    return None
                continue
            fixed[name] = int(value)
    return model.solve_with(fixed).objective


def _gap_allowance(objective: float, solver: SolverConfig) -> float:
    """How much worse than the re-solve a stored optimum may score: the run's relative gap."""
    return solver.mip_rel_gap * max(1.0, abs(objective)) + OBJECTIVE_TOLERANCE


def _differences(run: StoredRun, column: str, prefix: str, solved: pd.Series) -> list[str]:
    """One line per municipality whose stored number differs from the re-solve (no variable: 0)."""
    stored = run.allocation[column]
    out = []
    for code, value in stored.items():
        if code not in solved.index and value != 0:
            out.append(f"{run.label(code)} {column} {value} but model.mps has no variable {prefix}_{code}")
        elif value != solved.get(code, 0):
            out.append(f"{run.label(code)} {column} {value} but the stored model solves to {solved[code]}")
    out += [f"model.mps has {prefix}_{code} but allocation.csv has no row for it"
            for code in solved.index.difference(stored.index)]
    return out
