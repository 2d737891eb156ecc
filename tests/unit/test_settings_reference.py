"""docs/settings.md is generated from the schema and the recipe fields, and kept in sync."""

from __future__ import annotations

from dataclasses import MISSING, fields

import pytest

from ineqbench.attacks.noise import NoiseSettings
from ineqbench.attacks.occlusion import OcclusionSettings
from ineqbench.bounds.job import BoundSettings
from ineqbench.config import _schema
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


def _schema_defaults(section: dict) -> dict:
    return {key: node["default"] for key, node in section["properties"].items() if "default" in node}


def _field_defaults(cls) -> dict:
    found = {}
    for f in fields(cls):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return found


@pytest.mark.parametrize(
    ("section", "cls", "convert"),
    [
        (("attacks", "noise"), NoiseSettings, {"types": list, "budgets": list}),
        (("attacks", "occlusion"), OcclusionSettings, {"colours": list}),
    ],
)
def test_the_schema_and_the_settings_classes_default_alike(section, cls, convert):
    """Until the schema is generated from the settings classes, this keeps the two sources of defaults equal."""
    node = _schema()
    for key in section:
        node = node["properties"][key]
    schema = _schema_defaults(node)
    classes = {k: convert.get(k, lambda v: v)(v) for k, v in _field_defaults(cls).items() if k in schema}
    assert classes == {k: schema[k] for k in classes}
    assert set(schema) - set(classes) <= {"table_budget"}  # the tables' budget is not a setting of the run


def test_the_bounds_schema_and_bound_settings_default_alike():
    schema = _schema_defaults(_schema()["properties"]["bounds"])
    classes = _field_defaults(BoundSettings)
    for key in (
        "n_images",
        "margin",
        "surrogate_beta",
        "dense_jacobian",
        "practical_samples",
        "attacks",
        "attack_steps",
        "ifia_k",
    ):
        assert classes[key] == schema[key], key
    sigma = {
        k: v["default"] for k, v in _schema()["properties"]["bounds"]["properties"]["sigma_max"]["properties"].items()
    }
    assert classes["sigma_max"] == sigma
    assert classes["epsilons"] == {"l2": [0.5], "linf": [2 / 255]} and schema["epsilons"] == {
        "l2": [0.5],
        "linf": ["2/255"],
    }
