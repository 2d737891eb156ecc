"""Typed, validated experiment configuration.

`load_experiment(config)` checks the raw mapping against the JSON schema, then every name against its
registry (data set builders, model sources, timm architectures, recipes, attribution methods,
inequality transforms), so a typo fails while the DAG is built, before any job runs, with the valid
choices listed. It returns an `Experiment`: the model grid expanded into `ModelSpec`s, and the
methods resolved into `MethodSpec`s.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

import jsonschema
import yaml

from ineqbench.attacks.families import ATTACK_FAMILIES
from ineqbench.attacks.noise import parse_budget
from ineqbench.attribution.methods import MethodSpec, resolve_methods
from ineqbench.bounds.attacks import BOUND_ATTACKS
from ineqbench.bounds.differentiable import DIFFERENTIABLE_KINDS
from ineqbench.bounds.formulas import EUCLIDEAN_RADII
from ineqbench.bounds.spectral import SIGMA_MAX_METHODS
from ineqbench.data import DATASETS
from ineqbench.fetch.model_sources import SOURCES
from ineqbench.inequality.transforms import TRANSFORMS
from ineqbench.models.spec import ModelSpec, default_model_id, parse_epsilon, standard_and_strongest
from ineqbench.models.training import OPTIMIZERS, TrainingRecipe
from ineqbench.registry import UnknownNameError
from ineqbench.threats import THREAT_NORMS


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
    occlusion_budgets: tuple[dict, ...]

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
    attacks: AttackConfig
    bounds: BoundsConfig
    report: dict
    fetch: dict
    raw: dict

    def models_of(self, dataset: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.dataset == dataset]

    def model_ids(self, dataset: str) -> list[str]:
        return [m.id for m in self.models_of(dataset)]


@dataclass(frozen=True)
class AttackConfig:
    """The attack stages: which methods guide them, the noise and occlusion settings (fields of
    NoiseSettings and OcclusionSettings, minus the seed), and the transfer pairs per data set."""

    methods: tuple[str, ...]
    noise: dict
    noise_table_budget: int | float | str
    occlusion: dict
    transfer_pairs: dict[str, tuple[tuple[str, str], ...]]
    transfer_methods: tuple[str, ...]
    families: dict[str, dict]  # enabled attack family -> its settings (`settings.as_dict()`), guided first


@dataclass(frozen=True)
class BoundsConfig:
    """The bounds stage: which methods and models, and the settings every bound job gets (`settings`:
    the fields of `ineqbench.bounds.job.BoundSettings` except the method)."""

    methods: dict[str, MethodSpec]
    models: dict[str, tuple[str, ...]]  # data set -> bounded model ids
    settings: dict

    def model_ids(self, dataset: str) -> list[str]:
        return list(self.models.get(dataset, ()))


def _bounds_models(choice: str | list[str], models: dict[str, ModelSpec], dataset: str) -> list[str]:
    specs = [m for m in models.values() if m.dataset == dataset]
    if choice == "all":
        return [m.id for m in specs]
    if choice == "auto":
        chosen = {m.id for pair in standard_and_strongest(specs) for m in pair}
        return [m.id for m in specs if m.id in chosen]
    return [m for m in choice if models[m].dataset == dataset]


def _bounds_config(
    raw: dict, custom_methods: dict, seed: int, datasets: dict[str, DatasetConfig], models: dict[str, ModelSpec]
) -> BoundsConfig:
    try:
        methods = resolve_methods(raw["methods"], custom_methods)
    except (UnknownNameError, ValueError) as err:
        raise ConfigError(f"bounds/methods: {err}") from None
    for spec in methods.values():
        if spec.kind not in DIFFERENTIABLE_KINDS:
            raise ConfigError(
                f"bounds/methods: {spec.id!r} is of kind {spec.kind!r}, which has no differentiable "
                f"form; valid kinds: {', '.join(DIFFERENTIABLE_KINDS.names())} (e.g. ig, ig_zero, gradient)"
            )
    if isinstance(raw["models"], list):
        for m in raw["models"]:
            if m not in models:
                raise ConfigError(f"bounds/models: unknown model {m!r}; valid: {sorted(models)}")
    for name in raw["attacks"]:
        _check(name, BOUND_ATTACKS, "bounds/attacks")
    _check(raw["sigma_max"]["method"], SIGMA_MAX_METHODS, "bounds/sigma_max/method")
    epsilons = {}
    for norm, values in raw["epsilons"].items():
        _check(norm, EUCLIDEAN_RADII, "bounds/epsilons")
        try:
            epsilons[norm] = [parse_epsilon(e, norm) for e in values]
        except ValueError as err:
            raise ConfigError(f"bounds/epsilons/{norm}: {err}") from None
    if methods and not any(epsilons.values()):
        raise ConfigError("bounds/epsilons: no radius given; list at least one, e.g. {l2: [0.5], linf: [2/255]}")
    settings = {
        "n_images": raw["n_images"],
        "epsilons": epsilons,
        "margin": raw["margin"],
        "surrogate_beta": raw["surrogate_beta"],
        "sigma_max": raw["sigma_max"],
        "dense_jacobian": raw["dense_jacobian"],
        "practical_samples": raw["practical_samples"],
        "attacks": raw["attacks"],
        "attack_steps": raw["attack_steps"],
        "ifia_k": raw["ifia_k"],
        "seed": seed,
    }
    chosen = {d: tuple(_bounds_models(raw["models"], models, d)) if methods else () for d in datasets}
    for d, ids in chosen.items():
        if ids and raw["n_images"] > datasets[d].pool_size:
            raise ConfigError(
                f"bounds/n_images {raw['n_images']} exceeds pool_size {datasets[d].pool_size} of "
                f"data set {d!r}; valid: at most {datasets[d].pool_size}"
            )
    return BoundsConfig(methods, chosen, settings)


def default_occlusion_budgets(image_size: int) -> list[dict]:
    """The paper's budgets: N=5,R=10 and N=10,R=20 at 224 px (from 64 px up), N=10,R=4 at 32 px."""
    if image_size >= 64:
        return [{"regions": 5, "radius": 10}, {"regions": 10, "radius": 20}]
    return [{"regions": 10, "radius": 4}]


def auto_transfer_pairs(models: list[ModelSpec]) -> list[tuple[str, str]]:
    """Per (architecture, seed): the standard model and the largest-ε l∞ model, both ways."""
    return [pair for std, top in standard_and_strongest(models) for pair in ((std.id, top.id), (top.id, std.id))]


def _check(name: str, registry, where: str) -> None:
    if name not in registry:
        raise ConfigError(f"{where}: {registry.unknown_message(name)}")


def _check_arch(arch: str, where: str) -> None:
    import timm  # imported here: validating configs without models should stay fast

    from ineqbench.models import cifar  # noqa: F401  (registers the CIFAR architectures with timm)

    if not timm.is_model(arch):
        import difflib

        close = difflib.get_close_matches(arch, timm.list_models(), n=3)
        hint = f" Close timm names: {', '.join(close)}." if close else ""
        raise ConfigError(f"{where}: unknown timm architecture {arch!r}.{hint} See timm.list_models().")


def _expand_env(value: Any, where: str) -> Any:
    """`${IMAGENET_VAL}` in a string option becomes the variable's value, so one config serves every
    cluster; an unset variable is an error here, before any job runs."""
    if not isinstance(value, str) or "$" not in value:
        return value
    expanded = os.path.expandvars(value)
    unset = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expanded)
    if unset:
        raise ConfigError(
            f"{where}: environment variable {', '.join(unset)} is not set (value {value!r}); "
            f"export it, e.g. `export {unset[0]}=/path/to/data`, or write the path in the config"
        )
    return expanded


def _grid_archs(row: dict) -> list[str]:
    """The row's architecture, or every timm name its fnmatch pattern matches (`convnext_*.fb_in1k`):
    pretrained `arch.tag` names for the timm hub, architecture names otherwise."""
    arch = row["arch"]
    if not any(c in arch for c in "*?["):
        return [arch]
    import timm

    matches = sorted(timm.list_pretrained(arch) if row["source"] == "timm_hub" else timm.list_models(arch))
    if not matches:
        raise ValueError(
            f"arch pattern {arch!r} matches no timm {'pretrained weights' if row['source'] == 'timm_hub' else 'model'}"
            " (see timm.list_models(pattern, pretrained=True))"
        )
    if row["name"]:
        raise ValueError(
            f"arch pattern {arch!r} expands to {len(matches)} architectures: leave `name` empty, the "
            "ids start with each architecture's name"
        )
    return matches


def _expand_grid(rows: list[dict]) -> list[dict]:
    entries = []
    for row in rows:
        for arch in _grid_archs(row):
            for eps in row["epsilons"]:
                for seed in row["seeds"]:
                    value = parse_epsilon(eps, row["norm"])
                    entries.append(
                        {
                            "id": default_model_id(row["name"] or arch, row["norm"], value, seed),
                            "dataset": row["dataset"],
                            "arch": arch,
                            "source": row["source"],
                            "norm": row["norm"],
                            "epsilon": value,
                            "seed": seed,
                            "recipe": row["recipe"],
                            "arch_kwargs": row["arch_kwargs"],
                            "source_options": row["source_options"],
                        }
                    )
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


def _attack_families(raw: dict, seed: int) -> dict[str, dict]:
    """The enabled families (all registered ones by default), guided first, each with its settings
    built from the sections it reads and checked against its registries."""
    names = raw["families"] if raw["families"] is not None else ATTACK_FAMILIES.names()
    for name in names:
        _check(name, ATTACK_FAMILIES, "attacks/families")
    settings = {}
    for name in sorted(dict.fromkeys(names), key=lambda n: (not ATTACK_FAMILIES.get(n).guided, n)):
        try:
            family = ATTACK_FAMILIES.get(name).settings.of_experiment(raw, seed)
            family.check()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{err}" if str(err).startswith("attacks/") else f"attacks ({name}): {err}") from None
        settings[name] = family.as_dict()
    return settings


def _attack_config(
    raw: dict,
    methods: dict,
    table_method: str,
    datasets: dict[str, DatasetConfig],
    models: dict[str, ModelSpec],
    seed: int,
) -> AttackConfig:
    noise, occlusion, transfer = raw["noise"], raw["occlusion"], raw["transfer"]
    attack_methods = raw["methods"] if raw["methods"] is not None else list(methods)
    for m in attack_methods:
        if m not in methods:
            raise ConfigError(
                f"attacks/methods: {m!r} is not a configured attribution method; valid: {sorted(methods)}"
            )
    if transfer["methods"] is None:  # the table method, when it is attacked
        transfer["methods"] = [table_method if table_method in attack_methods else attack_methods[0]]
    for m in transfer["methods"]:
        if m not in attack_methods:
            raise ConfigError(f"attacks/transfer/methods: {m!r} is not among the attacked methods {attack_methods}")
    families = _attack_families(raw, seed)
    try:
        parsed = [parse_budget(b) for b in noise["budgets"]]
        table = parse_budget(noise.pop("table_budget"))
    except ValueError as err:
        raise ConfigError(f"attacks/noise: {err}") from None
    if table not in parsed:
        raise ConfigError(f"attacks/noise/table_budget {table!r} is not one of the budgets {noise['budgets']}")

    pairs: dict[str, list[tuple[str, str]]] = {d: [] for d in datasets}
    if transfer["pairs"] == "auto":
        for d in datasets:
            pairs[d] = auto_transfer_pairs([m for m in models.values() if m.dataset == d])
    else:
        for pair in transfer["pairs"]:
            src, tgt = pair["source"], pair["target"]
            for role, m in (("source", src), ("target", tgt)):
                if m not in models:
                    raise ConfigError(f"attacks/transfer/pairs: unknown {role} model {m!r}; valid: {sorted(models)}")
            if src == tgt or models[src].dataset != models[tgt].dataset:
                raise ConfigError(f"attacks/transfer/pairs: {src!r} -> {tgt!r} must be two models of one data set")
            pairs[models[src].dataset].append((src, tgt))
    return AttackConfig(
        tuple(attack_methods),
        noise,
        noise["budgets"][parsed.index(table)],
        occlusion,
        {d: tuple(p) for d, p in pairs.items()},
        tuple(transfer["methods"]),
        families,
    )


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
        d["options"] = {k: _expand_env(v, f"datasets/{name}/options/{k}") for k, v in d["options"].items()}
        try:
            eps = tuple(parse_epsilon(e) for e in d["eval_epsilons"])
        except ValueError as err:
            raise ConfigError(f"datasets/{name}/eval_epsilons: {err}") from None
        if d["n_images"] > d["pool_size"]:
            raise ConfigError(f"datasets/{name}: n_images {d['n_images']} exceeds pool_size {d['pool_size']}")
        try:
            image_size = DATASETS.get(d["builder"]).image_size(d["options"])
        except (ValueError, KeyError, RuntimeError) as err:
            raise ConfigError(f"datasets/{name}/options: {err}") from None
        if image_size % d["region_size"]:
            raise ConfigError(
                f"datasets/{name}/region_size {d['region_size']} does not divide the image size "
                f"{image_size}; valid: divisors of {image_size}"
            )
        budgets = d["occlusion_budgets"] or default_occlusion_budgets(image_size)
        n_regions = (image_size // d["region_size"]) ** 2
        for b in budgets:
            if b["regions"] > n_regions:
                raise ConfigError(
                    f"datasets/{name}/occlusion_budgets: N = {b['regions']} exceeds the {n_regions} "
                    f"regions of {d['region_size']} px in a {image_size} px image"
                )
        datasets[name] = DatasetConfig(
            name,
            d["builder"],
            d["options"],
            d["pool_size"],
            d["n_images"],
            d["region_size"],
            eps,
            d["eval_pgd_steps"],
            d["eval_images"],
            tuple(budgets),
        )

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
        if SOURCES.get(entry["source"]).obtain is None and entry["recipe"] not in recipes:  # trained here
            raise ConfigError(f"{where}: unknown recipe {entry['recipe']!r}; valid: {sorted(recipes)}")
        _check(entry["norm"], THREAT_NORMS, f"{where} norm")
        try:
            spec = ModelSpec(**{**entry, "epsilon": parse_epsilon(entry["epsilon"], entry["norm"])})
            SOURCES.get(spec.source).check(spec)
        except ValueError as err:
            raise ConfigError(f"{where}: {err}") from None
        if spec.id in models:
            raise ConfigError(
                f"duplicate model id {spec.id!r}; ids must be unique across data sets "
                "(give a model_grid row a `name`, the first part of its ids)"
            )
        models[spec.id] = spec

    try:
        methods = resolve_methods(raw["attribution"]["methods"], raw["attribution"]["custom"])
    except (UnknownNameError, ValueError) as err:
        raise ConfigError(f"attribution/methods: {err}") from None
    for t in raw["inequality"]["transforms"]:
        _check(t, TRANSFORMS, "inequality/transforms")
    if raw["report"]["table_method"] not in methods:
        raise ConfigError(
            f"report/table_method {raw['report']['table_method']!r} is not among the configured "
            f"methods {sorted(methods)}"
        )
    attacks = _attack_config(
        copy.deepcopy(raw["attacks"]), methods, raw["report"]["table_method"], datasets, models, raw["seed"]
    )
    bounds = _bounds_config(raw["bounds"], raw["attribution"]["custom"], raw["seed"], datasets, models)

    return Experiment(
        seed=raw["seed"],
        datasets=datasets,
        models=models,
        recipes=recipes,
        methods=methods,
        transforms=tuple(raw["inequality"]["transforms"]),
        attribution_options={
            k: raw["attribution"][k] for k in ("batch_size", "internal_batch_size", "dtype", "shard_images")
        },
        attacks=attacks,
        bounds=bounds,
        report=raw["report"],
        fetch=raw["fetch"],
        raw=raw,
    )


__all__ = [
    "AttackConfig",
    "BoundsConfig",
    "ConfigError",
    "Experiment",
    "DatasetConfig",
    "load_experiment",
]
