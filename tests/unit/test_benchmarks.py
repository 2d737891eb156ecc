"""Every benchmark script still imports against the current package (their timings are run by hand,
never in tests; a stale import would only show when someone runs one)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers.workflow import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_script_imports(script):
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # each script runs its measurement only under __main__
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"
