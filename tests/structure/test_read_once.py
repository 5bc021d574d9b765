"""A re-plan run resolves its plan once: every YAML file parsed once, every
input file read and hashed once, the plan and its base included."""
from __future__ import annotations

import sys
from collections import Counter

from pipeline.__main__ import main
from pipeline.inputs import yamlfile
from pipeline.inputs.source import Source
from pipeline.plans import inputs as plan_inputs


def test_replan_parses_each_yaml_once_and_reads_each_file_once(tmp_path, monkeypatch):
    parsed, read = Counter(), Counter()
    original_yaml, original_read = yamlfile.read_yaml, Source.read.__func__

    def counting_yaml(source):
        parsed[str(source.path)] += 1
        return original_yaml(source)

    def counting_read(cls, path, *args, **kwargs):
        read[str(path)] += 1
        return original_read(cls, path, *args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "read_yaml", None) is original_yaml:
            monkeypatch.setattr(module, "read_yaml", counting_yaml)
    monkeypatch.setattr(Source, "read", classmethod(counting_read))
    # Start from a process that has parsed nothing (other tests in it may have parsed these files).
    monkeypatch.setattr(plan_inputs, "_PARSED", {})
    plan_inputs.read_inputs.cache_clear()

    assert main(["reallocate", "--plan", "2022-03", "--out", str(tmp_path / "out")]) == 0
    assert parsed, "no YAML was parsed through the reader"
    assert {"config/2022.yaml", "config/2022-03.yaml", "config/letters/2022-03.yaml", "config/letters/2022.yaml",
            "data/inputs/2022/ks.yaml", "data/inputs/2022-03/ks.yaml"} <= set(parsed)
    assert max(parsed.values()) == 1, [name for name, n in parsed.items() if n > 1]
    assert "data/population_kommune_2020_2023.csv" in read
    assert max(read.values()) == 1, [name for name, n in read.items() if n > 1]
