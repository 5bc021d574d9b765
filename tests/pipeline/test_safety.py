"""Nothing outside the output folder, no foreign or stale result used.

A hostile or careless name never leads a run to read or write outside its
folders: plan names are plain names, every path a config gives stays inside
the folder it belongs to, and a link where the run folder should be is
replaced, never written through.  The cache holds data only, so a file
planted there cannot run code; every file a run reads is in its fingerprint,
so changing one is never ignored.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from pipeline.__main__ import main

SENTINEL_TEXT = "do not touch\n"


@pytest.fixture
def tree(tmp_path) -> Path:
    shutil.copytree("data", tmp_path / "data")
    shutil.copytree("config", tmp_path / "config")
    return tmp_path


def run(tree: Path, capsys, *args: str, command: str = "allocate") -> tuple[int, str]:
    status = main([command, *args, "--config-dir", str(tree / "config"), "--data-dir", str(tree / "data"),
                   "--out", str(tree / "out")])
    return status, capsys.readouterr().err


def sentinel(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SENTINEL_TEXT)
    return path


def untouched(path: Path) -> bool:
    return path.is_file() and path.read_text() == SENTINEL_TEXT


@pytest.mark.parametrize("name", ["../victim", "/tmp/victim", ".hidden", "a/b", "..", "x y"])
def test_plan_name_that_is_not_plain_is_refused_before_anything_is_read(tree, capsys, name):
    victim = sentinel(tree / "victim" / "manifest.json")
    shutil.copy(tree / "config" / "2022.yaml", tree / "victim.yaml")
    status, err = run(tree, capsys, "--plan", name)
    assert status == 2, err
    assert "is not a plain name" in err and "Traceback" not in err
    assert untouched(victim)
    assert not (tree / "out").exists()


@pytest.mark.parametrize("key, value, where", [
    ("name", "../victim", "name"),
    ("extends", "../victim", "extends"),
])
def test_plan_keys_cannot_lead_outside_the_config_folder(tree, capsys, key, value, where):
    victim = sentinel(tree / "victim" / "allocation.csv")
    path = tree / "config" / "2022.yaml"
    path.write_text(f"{key}: \"{value}\"\n" + "\n".join(line for line in path.read_text().splitlines()
                                                         if not line.startswith("name:")) + "\n")
    status, err = run(tree, capsys, "--plan", "2022")
    assert status == 2, err
    assert f"{path}:{where}" in err
    assert untouched(victim)


def test_calibration_name_cannot_lead_outside_the_config_folder(tree, capsys):
    path = tree / "config" / "2022.yaml"
    text = path.read_text()
    assert "calibration: calibrated-2015-2021" in text
    path.write_text(text.replace("calibration: calibrated-2015-2021", "calibration: ../victim"))
    status, err = run(tree, capsys, "--plan", "2022")
    assert status == 2, err
    assert "criteria.calibration" in err and "not a plain name" in err


@pytest.mark.parametrize("status_file", ["../2022/answers.csv", "/etc/passwd", "sub/../../2022/answers.csv"])
def test_status_file_must_lie_in_the_replans_own_input_folder(tree, capsys, status_file):
    path = tree / "config" / "2022-03.yaml"
    path.write_text(path.read_text().replace("status_file: status.csv", f"status_file: {status_file}"))
    status, err = run(tree, capsys, "--plan", "2022-03", command="reallocate")
    assert status == 2, err
    assert f"{path}:replan.status_file" in err
    assert not (tree / "out").exists()


def test_a_link_at_the_run_folder_is_replaced_never_written_through(tree, capsys):
    outside = tree / "elsewhere"
    victim = sentinel(outside / "allocation.csv")
    (tree / "out").mkdir()
    os.symlink(outside, tree / "out" / "2022")
    status, err = run(tree, capsys, "--plan", "2022")
    assert status == 0, err
    assert untouched(victim) and sorted(p.name for p in outside.iterdir()) == ["allocation.csv"]
    assert not (tree / "out" / "2022").is_symlink()
    assert (tree / "out" / "2022" / "manifest.json").is_file()


class Planted:
    """Unpickling this writes a file: proof that a pickle was executed."""

    def __init__(self, proof: Path):
        self.proof = proof

    def __reduce__(self):
        return (Path.write_text, (self.proof, "executed"))


def test_a_pickle_planted_in_the_cache_is_never_executed(tree, capsys):
    status, err = run(tree, capsys, "--plan", "2022")
    assert status == 0, err
    cache = tree / "out" / ".cache"
    assert not [p for p in cache.rglob("*") if p.suffix in (".pkl", ".pickle")], "the cache holds pickles"
    proof = tree / "executed"
    for folder in [p for p in cache.rglob("*") if p.is_dir()]:
        for name in ("inputs.pkl", "solution.pkl", "access.pkl", "explain.pkl"):
            (folder / name).write_bytes(pickle.dumps(Planted(proof)))
    shutil.rmtree(tree / "out" / "2022")
    status, err = run(tree, capsys, "--plan", "2022")
    assert status == 0, err
    assert not proof.exists()


def test_a_changed_submission_is_never_ignored_on_a_rerun(tree, capsys):
    assert run(tree, capsys, "--plan", "2022")[0] == 0
    manifest = json.loads((tree / "out" / "2022" / "manifest.json").read_text())
    answers = tree / "data" / "inputs" / "2022" / "answers.csv"
    assert str(answers) in manifest["inputs"]
    answers.write_text(answers.read_text().replace("0301,Oslo,2022,,1395,", "0301,Oslo,2022,,1300,"))
    assert run(tree, capsys, "--plan", "2022")[0] == 0
    again = json.loads((tree / "out" / "2022" / "manifest.json").read_text())
    assert again["fingerprint"] != manifest["fingerprint"]
    assert again["inputs"][str(answers)] != manifest["inputs"][str(answers)]


def test_every_file_a_replan_reads_is_in_its_manifest(tree, capsys):
    assert run(tree, capsys, "--plan", "2022-03", command="reallocate")[0] == 0
    inputs = json.loads((tree / "out" / "2022-03" / "manifest.json").read_text())["inputs"]
    data = tree / "data"
    for name in ("inputs/2022-03/status.csv", "inputs/2022-03/ks.yaml", "inputs/2022/answers.csv",
                 "inputs/2022/counties/46.csv", "population_kommune_2020_2023.csv"):
        assert str(data / name) in inputs, name
    assert str(tree / "config" / "2022.yaml") in inputs and str(tree / "config" / "2022-03.yaml") in inputs
    assert str(tree / "out" / "2022" / "allocation.csv") in inputs


def test_published_files_get_ordinary_permissions_not_private_temporary_ones(tmp_path):
    from pipeline.publish.files import atomic_file, atomic_folder
    mask = os.umask(0o022)
    try:
        atomic_file(tmp_path, tmp_path / "one.txt", "x")
        atomic_folder(tmp_path, tmp_path / "run", lambda staging: (staging / "two.txt").write_text("y"))
    finally:
        os.umask(mask)
    assert (tmp_path / "one.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
