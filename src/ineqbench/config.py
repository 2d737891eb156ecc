"""Typed, validated experiment configuration.

`load_experiment(config)` checks the raw mapping against the JSON schema, then every name against its
registry (data set builders, model sources, timm architectures, recipes, attribution methods,
inequality transforms), so a typo fails while the DAG is built, before any job runs, with the valid
choices listed. It returns an `Experiment`: the model grid expanded into `ModelSpec`s, and the
methods resolved into `MethodSpec`s.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

import jsonschema
import yaml

from ineqbench.attacks.pgd import THREAT_NORMS
from ineqbench.attribution.methods import MethodSpec, resolve_methods
from ineqbench.data import DATASETS
from ineqbench.inequality.transforms import TRANSFORMS
from ineqbench.models.sources import SOURCES
from ineqbench.models.spec import ModelSpec, default_model_id, parse_epsilon
from ineqbench.models.training import OPTIMIZERS, TrainingRecipe
from ineqbench.registry import UnknownNameError


class ConfigError(ValueError):
    """A configuration problem, reported before any job runs."""


def _schema() -> dict:
    text = resources.files("ineqbench.schemas").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _fill_defaults(validator_class):
    """A jsonschema validator that also writes `default:` values into the instance."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj`, first 16 hex digits: the config hash of provenance."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    builder: str
    options: dict
    pool_size: int
    n_images: int
    region_size: int
    eval_epsilons: tuple[float, ...]
    eval_pgd_steps: int
    eval_images: int

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Experiment:
    seed: int
    datasets: dict[str, DatasetConfig]
    models: dict[str, ModelSpec]
    recipes: dict[str, TrainingRecipe]
    methods: dict[str, MethodSpec]
    transforms: tuple[str, ...]
    attribution_options: dict
    report: dict
    raw: dict

    def models_of(self, dataset: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.dataset == dataset]

    def model_ids(self, dataset: str) -> list[str]:
        return [m.id for m in self.models_of(dataset)]


def _check(name: str, registry, where: str) -> None:
    if name not in registry:
        raise ConfigError(f"{where}: {registry.unknown_message(name)}")


def _check_arch(arch: str, where: str) -> None:
    import timm  # imported here: validating configs without models should stay fast

    if not timm.is_model(arch):
        import difflib

        close = difflib.get_close_matches(arch, timm.list_models(), n=3)
        hint = f" Close timm names: {', '.join(close)}." if close else ""
        raise ConfigError(f"{where}: unknown timm architecture {arch!r}.{hint} See timm.list_models().")


def _expand_grid(rows: list[dict]) -> list[dict]:
    entries = []
    for row in rows:
        for eps in row["epsilons"]:
            for seed in row["seeds"]:
                value = parse_epsilon(eps, row["norm"])
                entries.append({
                    "id": default_model_id(row["arch"], row["norm"], value, seed),
                    "dataset": row["dataset"], "arch": row["arch"], "source": row["source"],
                    "norm": row["norm"], "epsilon": value, "seed": seed, "recipe": row["recipe"],
                    "arch_kwargs": row["arch_kwargs"], "source_options": {},
                })
    return entries


def _recipe(name: str, raw: dict) -> TrainingRecipe:
    known = {f.name for f in fields(TrainingRecipe)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"recipe {name!r}: unknown fields {sorted(unknown)}; valid fields: {sorted(known)}")
    recipe = TrainingRecipe(**raw)
    if recipe.optimizer not in OPTIMIZERS:
        raise ConfigError(f"recipe {name!r}: unknown optimizer {recipe.optimizer!r}; valid: {sorted(OPTIMIZERS)}")
    return recipe


def load_experiment(config: dict, *, check_archs: bool = True) -> Experiment:
    """Validate `config` (a parsed config.yaml) and build the `Experiment`; raises ConfigError."""
    raw = copy.deepcopy(config)
    validator = _fill_defaults(jsonschema.Draft202012Validator)(_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at {'/'.join(map(str, e.path)) or '(top level)'}: {e.message}" for e in errors]
        raise ConfigError("config does not match the schema:\n" + "\n".join(lines))

    datasets = {}
    for name, d in raw["datasets"].items():
        _check(d["builder"], DATASETS, f"datasets/{name}/builder")
        try:
            eps = tuple(parse_epsilon(e) for e in d["eval_epsilons"])
        except ValueError as err:
            raise ConfigError(f"datasets/{name}/eval_epsilons: {err}") from None
        if d["n_images"] > d["pool_size"]:
            raise ConfigError(f"datasets/{name}: n_images {d['n_images']} exceeds pool_size {d['pool_size']}")
        datasets[name] = DatasetConfig(name, d["builder"], d["options"], d["pool_size"], d["n_images"],
                                       d["region_size"], eps, d["eval_pgd_steps"], d["eval_images"])
        image_size = DATASETS.get(d["builder"]).image_size(d["options"])
        if image_size % d["region_size"]:
            raise ConfigError(f"datasets/{name}/region_size {d['region_size']} does not divide the image size "
                              f"{image_size}; valid: divisors of {image_size}")

    recipes = {name: _recipe(name, r) for name, r in raw["recipes"].items()}

    models: dict[str, ModelSpec] = {}
    try:
        entries = _expand_grid(raw["model_grid"]) + raw["models"]
    except ValueError as err:
        raise ConfigError(f"model_grid: {err}") from None
    for entry in entries:
        where = f"model {entry['id']!r}"
        if entry["dataset"] not in datasets:
            raise ConfigError(f"{where}: unknown dataset {entry['dataset']!r}; valid: {sorted(datasets)}")
        _check(entry["source"], SOURCES, f"{where} source")
        if check_archs:
            _check_arch(entry["arch"], where)
        if entry["recipe"] not in recipes:
            raise ConfigError(f"{where}: unknown recipe {entry['recipe']!r}; valid: {sorted(recipes)}")
        _check(entry["norm"], THREAT_NORMS, f"{where} norm")
        try:
            spec = ModelSpec(**{**entry, "epsilon": parse_epsilon(entry["epsilon"], entry["norm"])})
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None
        if spec.id in models:
            raise ConfigError(f"duplicate model id {spec.id!r}; ids must be unique")
        models[spec.id] = spec

    try:
        methods = resolve_methods(raw["attribution"]["methods"], raw["attribution"]["custom"])
    except (UnknownNameError, ValueError) as err:
        raise ConfigError(f"attribution/methods: {err}") from None
    for t in raw["inequality"]["transforms"]:
        _check(t, TRANSFORMS, "inequality/transforms")
    if raw["report"]["table_method"] not in methods:
        raise ConfigError(f"report/table_method {raw['report']['table_method']!r} is not among the configured "
                          f"methods {sorted(methods)}")

    return Experiment(
        seed=raw["seed"], datasets=datasets, models=models, recipes=recipes, methods=methods,
        transforms=tuple(raw["inequality"]["transforms"]),
        attribution_options={k: raw["attribution"][k] for k in ("batch_size", "internal_batch_size", "dtype")},
        report=raw["report"], raw=raw,
    )


__all__ = ["ConfigError", "Experiment", "DatasetConfig", "load_experiment", "stable_hash"]
