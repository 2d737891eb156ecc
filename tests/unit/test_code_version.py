"""A rule's code version: its script and every package module the script reaches, by syntax tree, so
a comment, docstring or formatting edit changes nothing and any other edit changes exactly the rules
that reach the module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ineqbench.code_version import closure, script_of
from tests.helpers.workflow import ROOT

RULES = ["train_model", "attribute", "score_inequality", "attack_noise", "attack_occlusion", "transfer_attacks"]


@pytest.fixture()
def package_copy(tmp_path) -> Path:
    """A scratch copy of the package and the scripts, to edit."""
    shutil.copytree(ROOT / "src" / "ineqbench", tmp_path / "src" / "ineqbench")
    shutil.copytree(ROOT / "workflow_scripts", tmp_path / "workflow_scripts")
    return tmp_path


def versions(copy: Path) -> dict[str, str]:
    """Each rule's version as the copy computes it (a fresh interpreter importing the copy)."""
    code = (
        "import json; from ineqbench.code_version import code_version, script_of; "
        f"print(json.dumps({{r: code_version(script_of(r, 'workflow_scripts')) for r in {RULES!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env={"PYTHONPATH": str(copy / "src")}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def edit(copy: Path, module: str, old: str, new: str) -> None:
    path = copy / "src" / "ineqbench" / module
    text = path.read_text()
    assert old in text, f"{old!r} not in {module}"
    path.write_text(text.replace(old, new, 1))


def changed(before: dict, after: dict) -> set[str]:
    return {rule for rule in before if before[rule] != after[rule]}


def test_the_closure_follows_imports_and_lazy_registry_targets():
    scoring = closure(script_of("score_inequality", ROOT / "workflow_scripts"))
    assert "ineqbench.gini" in scoring and "ineqbench.attacks.occlusion" not in scoring
    training = closure(script_of("train_model", ROOT / "workflow_scripts"))
    assert "ineqbench.gini" not in training and "ineqbench.models.training" in training
    # the transfer rebuilds every family's images through the family registry's lazy targets
    assert "ineqbench.attacks.random_occlusion" in closure(script_of("transfer_attacks", ROOT / "workflow_scripts"))


def test_editing_the_gini_changes_scoring_only(package_copy):
    before = versions(package_copy)
    edit(package_copy, "gini.py", "return ", "return 0.5 * ")
    assert changed(before, versions(package_copy)) == {"score_inequality"}


def test_editing_the_occlusion_search_changes_the_attacks_only(package_copy):
    before = versions(package_copy)
    edit(package_copy, "attacks/occlusion.py", "def ", "def _unused():\n    return 1\n\n\ndef ")
    assert changed(before, versions(package_copy)) <= {"attack_noise", "attack_occlusion", "transfer_attacks"}
    assert {"attack_occlusion", "transfer_attacks"} <= changed(before, versions(package_copy))


def test_comments_docstrings_and_formatting_change_nothing(package_copy):
    before = versions(package_copy)
    edit(package_copy, "gini.py", '"""', '"""A new first line of the docstring.\n\n')
    path = package_copy / "src" / "ineqbench" / "gini.py"
    path.write_text("# a new comment\n" + path.read_text().replace("\n\n\n", "\n\n\n\n"))
    assert versions(package_copy) == before
