"""docs/settings.md is generated from the schema and the recipe fields, and kept in sync."""

from __future__ import annotations

from ineqbench.settings_reference import settings_reference
from tests.helpers.workflow import ROOT


def test_the_settings_page_is_the_generated_one():
    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == settings_reference(), "regenerate: python -m ineqbench.settings_reference > docs/settings.md"


def test_every_attack_setting_and_recipe_field_is_listed():
    page = settings_reference()
    for key in (
        "attacks/families",
        "attacks/occlusion/colours",
        "attacks/noise/table_budget",
        "bounds/epsilons",
        "recipes/<recipe>/epochs",
        "datasets/<name>/region_size",
    ):
        assert f"| `{key}` |" in page, key
