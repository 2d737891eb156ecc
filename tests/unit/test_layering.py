"""Validating a config and building the DAG never import torch (the names are declared without it),
and every declared name resolves to the object its module adds."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys

import pytest

import ineqbench
from ineqbench.registry import Registry
from tests.helpers.workflow import ROOT

DAG_MODULES = (
    "ineqbench.config",
    "ineqbench.fetch.model_sources",
    "ineqbench.workflow_rules",
    "ineqbench.attacks.workflow",
    "ineqbench.bounds.workflow",
    "ineqbench.paper.workflow",
)

CHECK = f"""
import sys, yaml
{"; ".join(f"import {m}" for m in DAG_MODULES)}
from ineqbench.config import load_experiment
for path in ("config.yaml", "config/tiny.yaml", "config/embedded_full.yaml"):
    load_experiment(yaml.safe_load(open(path)))
print(sorted(m for m in ("torch", "timm", "captum", "pandas", "matplotlib") if m in sys.modules))
"""


def test_loading_the_configs_and_the_dag_modules_imports_no_torch(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.strip() == "['timm', 'torch']"  # the first run lists timm's names once
    assert list(tmp_path.glob("ineqbench/timm-names-*.json"))
    assert runs[1].stdout.strip() == "[]", runs[1].stdout


def _registries() -> dict[str, Registry]:
    found = {}
    for info in pkgutil.walk_packages(ineqbench.__path__, "ineqbench."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Registry):
                found.setdefault(f"{value.kind}", value)
    return found


@pytest.mark.parametrize("kind", sorted(_registries()))
def test_every_declared_name_resolves(kind):
    from ineqbench.registry import _Declared

    registry = _registries()[kind]
    assert len(registry) > 0
    for name in registry:
        assert not isinstance(registry.get(name), _Declared), name
