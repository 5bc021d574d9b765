"""What a run depends on, hashed: plan files, input files, the engine's code
and, for a re-plan, the fingerprint of the plan it redoes.

The fingerprint names the cache folder of a run's intermediate steps and is
recorded in its manifest; ``Publish`` recomputes it before writing, so a run
whose inputs changed while it ran fails instead of mixing two states.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.config import extends_chain, included_files, plan_path
from pipeline.errors import InputError
from pipeline.inputs import input_files
from pipeline.letters import document_files
from pipeline.outputs import sha256_file

CODE_DIRS = ("optimiser", "pipeline")
ROOT = Path(__file__).resolve().parent.parent


def code_sha256() -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def base_plan_name(plan: str, config_dir: Path) -> str | None:
    """The plan a re-plan redoes (``replan.base_plan``), read from the plan file chain."""
    for _, raw in extends_chain(plan_path(plan, config_dir)):
        if isinstance(raw.get("replan"), dict) and "base_plan" in raw["replan"]:
            return str(raw["replan"]["base_plan"])
    return None


def plan_files(plan: str, config_dir: Path, data_dir: Path) -> list[Path]:
    """Every file one run of ``plan`` reads, in a stable order."""
    config = plan_path(plan, config_dir)
    files = [config] + included_files(config) + input_files(plan, data_dir)
    files += [p for p in document_files(plan, config_dir, data_dir) if p not in files]
    base = base_plan_name(plan, config_dir) if config.is_file() else None
    if base is not None:
        # A re-plan reads the base plan's submissions (counties, KS, answers).
        files += [p for p in input_files(base, data_dir) if p not in files]
    return files


def fingerprint(plan: str, config_dir: Path, data_dir: Path) -> tuple[str, dict, str]:
    """(fingerprint, {input path: sha256}, code sha256).  Missing files are input errors."""
    config = plan_path(plan, config_dir)
    hashes = {}
    for path in plan_files(plan, config_dir, data_dir):
        if not path.is_file():
            raise InputError(str(path), "file not found",
                             "check --plan and that data/ is complete" if path != config else "no such plan")
        hashes[str(path)] = sha256_file(path)
    code = code_sha256()
    base = base_plan_name(plan, config_dir)
    base_fp = fingerprint(base, config_dir, data_dir)[0] if base is not None else None
    text = json.dumps({"inputs": hashes, "code": code, "base": base_fp}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest(), hashes, code
