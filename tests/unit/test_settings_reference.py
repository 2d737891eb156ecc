"""Settings classes are the one source of defaults: the config schema is generated from them, the
settings page from the schema, and each attack family's job settings agree with its config section."""

from __future__ import annotations

from dataclasses import dataclass

import jsonschema
import pytest

from ineqbench.attacks.settings import ATTACK_FAMILIES, AttacksSection
from ineqbench.bounds.settings import BoundsSection
from ineqbench.config import config_schema
from ineqbench.settings import CONFIG_SECTIONS, defaults_of, schema_of, setting
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
        "bounds/sigma_max/tol",
        "recipes/<recipe>/epochs",
        "datasets/<name>/region_size",
        "model_grid[]/arch",
    ):
        assert f"| `{key}` |" in page, key


@dataclass(frozen=True)
class _Inner:
    depth: int = setting(3, "how deep", minimum=1)


@dataclass(frozen=True)
class _Section:
    """A section for the test.

    Its second paragraph is not in the schema."""

    name: str = setting(doc="required: no default")
    sizes: tuple[int, ...] = setting((1, 2), "a tuple default becomes a list", minItems=1)
    choice: str | list[str] = setting("all", "oneOf replaces the type", oneOf=[{"const": "all"}, {"type": "array"}])
    limit: int | None = setting(None, "nullable")
    inner: _Inner = setting(_Inner(), "a nested section")
    seed: int = setting(0, "set by the experiment", config=False)


def test_a_settings_class_becomes_its_section_schema():
    schema = schema_of(_Section)
    assert schema["description"] == "A section for the test."
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    props = schema["properties"]
    assert set(props) == {"name", "sizes", "choice", "limit", "inner"}  # seed is not a config key
    assert props["sizes"] == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "default": [1, 2],
        "description": "a tuple default becomes a list",
    }
    assert "type" not in props["choice"] and props["choice"]["oneOf"][0] == {"const": "all"}
    assert props["limit"]["type"] == ["integer", "null"] and props["limit"]["default"] is None
    assert props["inner"]["properties"]["depth"] == {
        "type": "integer",
        "minimum": 1,
        "default": 3,
        "description": "how deep",
    }
    assert defaults_of(_Section) == {"sizes": [1, 2], "choice": "all", "limit": None, "inner": {"depth": 3}}


def test_the_schema_rejects_a_wrong_type_and_an_unknown_key_of_a_generated_section():
    validator = jsonschema.Draft202012Validator(schema_of(_Section))
    assert not list(validator.iter_errors({"name": "x", "inner": {"depth": 2}}))
    assert list(validator.iter_errors({"name": "x", "inner": {"depth": 0}}))  # minimum
    assert list(validator.iter_errors({"name": "x", "limit": "many"}))  # type
    assert list(validator.iter_errors({"name": "x", "colour": "red"}))  # unknown key


def test_the_config_schema_is_composed_from_every_registered_section():
    schema = config_schema()
    assert set(schema["properties"]) == set(CONFIG_SECTIONS)
    assert {"attacks", "bounds", "datasets", "attribution", "recipes", "report"} <= set(CONFIG_SECTIONS)
    assert schema["required"] == ["attribution", "datasets"]
    assert schema["properties"]["bounds"]["properties"]["sigma_max"]["default"] == {}


@pytest.mark.parametrize("family", ATTACK_FAMILIES.names())
def test_each_family_built_from_the_default_section_has_its_settings_class_defaults(family):
    """The job settings (`settings(**params)`) and the config section (`of_experiment`) cannot drift apart."""
    settings = ATTACK_FAMILIES.get(family).settings
    from_section = settings.of_experiment(defaults_of(AttacksSection), seed=0).as_dict()
    assert settings(**from_section).as_dict() == from_section  # what a job rebuilds from its params
    assert from_section == settings().as_dict()


def test_the_bounds_section_defaults_fill_every_bound_setting():
    from ineqbench.bounds.job import BoundSettings

    section = {k: v for k, v in defaults_of(BoundsSection).items() if k not in ("methods", "models")}
    assert set(section) | {"seed"} == set(BoundSettings.__dataclass_fields__)
    assert section["sigma_max"] == {"method": "lanczos", "max_iters": 30, "tol": 1e-4}
