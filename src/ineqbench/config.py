"""Typed, validated experiment configuration.

`load_experiment(config)` checks the raw mapping against the JSON schema, which is composed from the
sections the stages register (`ineqbench.settings.CONFIG_SECTIONS`; each section's defaults and
descriptions are written once, in its settings class), then every name against its registry (data set
builders, model sources, timm architectures, recipes, attribution methods, inequality transforms, attack
families), so a typo fails while the DAG is built, before any job runs, with the valid choices listed.
It returns an `Experiment`: the model grid expanded into `ModelSpec`s, the methods resolved into
`MethodSpec`s, and each stage's part (`experiment.attacks`, `experiment.bounds`). Nothing here imports
torch: the names are declared without it, and the timm names come from a cached list.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import jsonschema

# Each import registers its sections in CONFIG_SECTIONS: one line per stage.
from ineqbench.attacks import settings as _attacks  # noqa: F401
from ineqbench.attribution.settings import MethodSpec, resolve_methods
from ineqbench.bounds import settings as _bounds  # noqa: F401
from ineqbench.config_file import read_config_file
from ineqbench.data import DATASETS
from ineqbench.data import settings as _data  # noqa: F401
from ineqbench.fetch import settings as _fetch  # noqa: F401
from ineqbench.fetch.model_sources import SOURCES
from ineqbench.inequality.settings import TRANSFORMS
from ineqbench.models.grid import check_arch, check_lineage, expand_grid, resolve_variants
from ineqbench.models.settings import OPTIMIZERS, TrainingRecipe, Variant
from ineqbench.models.spec import ModelSpec, parse_epsilon
from ineqbench.registry import UnknownNameError
from ineqbench.reporting import settings as _report  # noqa: F401
from ineqbench.settings import CONFIG_SECTIONS, ConfigError, ConfigSection, check_name, schema_of
from ineqbench.threat_norms import THREAT_NORMS

CONFIG_SECTIONS.add(
    "seed",
    ConfigSection(
        int, default=0, keywords={"description": "seed of the candidate pool and the stochastic attributions"}
    ),
)


def config_schema() -> dict:
    """The JSON schema of a config file, composed from the registered sections."""
    sections = {name: CONFIG_SECTIONS.get(name) for name in CONFIG_SECTIONS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "ineqbench experiment configuration (docs/configuration.md; every key: docs/settings.md)",
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, section in sections.items() if section.default is MISSING],
        "properties": {name: section.schema() for name, section in sections.items()},
    }


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
    eval_l2_epsilons: tuple[float, ...]
    eval_pgd_steps: int
    eval_images: int
    occlusion_budgets: tuple[dict, ...]

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Shared:
    """What every stage's section is resolved against."""

    seed: int
    datasets: dict[str, DatasetConfig]
    models: dict[str, ModelSpec]
    methods: dict[str, MethodSpec]
    raw: dict


@dataclass(frozen=True)
class Experiment:
    name: str  # every output lies under results/<name>/ (`experiment_name`)
    seed: int
    datasets: dict[str, DatasetConfig]
    models: dict[str, ModelSpec]
    recipes: dict[str, TrainingRecipe]
    variants: dict[str, Variant]
    methods: dict[str, MethodSpec]
    transforms: tuple[str, ...]
    attribution_options: dict
    stages: dict[str, Any]  # a stage's part, by its section name: `experiment.attacks`, `experiment.bounds`
    report: dict
    fetch: dict
    raw: dict

    def __getattr__(self, name: str) -> Any:
        stages = self.__dict__.get("stages", {})
        if name in stages:
            return stages[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute or stage {name!r}")

    @property
    def results(self) -> str:
        """The experiment's own folder: no other config reads or writes it."""
        return f"results/{self.name}"

    def models_of(self, dataset: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.dataset == dataset]

    def methods_of(self, model: str) -> tuple[str, ...]:
        """The attribution methods a model's maps are made with: all for a model of the ε ladder; for a
        comparison family's model, the table method only unless attribution/family_methods is "all"."""
        if self.models[model].on_the_ladder or self.attribution_options["family_methods"] == "all":
            return tuple(self.methods)
        return (self.report["table_method"],)

    def model_ids(self, dataset: str, method: str | None = None) -> list[str]:
        """The data set's models; with `method`, those whose maps are made with it."""
        return [m.id for m in self.models_of(dataset) if method is None or method in self.methods_of(m.id)]


DEFAULT_CONFIG = "config.yaml"
DEFAULT_EXPERIMENT = "default"
_EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def experiment_name(configfiles: list[str], root: str | os.PathLike = ".") -> str:
    """The experiment a run belongs to, named after its config file(s): `config/paper_cifar10.yaml` is
    `paper_cifar10`, the repository's `config.yaml` (used when no --configfile is given) is `default`,
    several files layered on each other are joined with `+`. Each experiment has its own results folder."""
    default = (Path(root) / DEFAULT_CONFIG).resolve()
    stems = [DEFAULT_EXPERIMENT if Path(f).resolve() == default else Path(f).stem for f in configfiles]
    name = "+".join(dict.fromkeys(stems)) or DEFAULT_EXPERIMENT
    if not _EXPERIMENT_NAME.fullmatch(name):
        raise ConfigError(
            f"config file name(s) {configfiles} give the experiment name {name!r}; valid names: letters, "
            "digits and _.+- (the name is the results folder)"
        )
    return name


def default_occlusion_budgets(image_size: int) -> list[dict]:
    """The paper's budgets: N=5,R=10 and N=10,R=20 at 224 px (from 64 px up), N=10,R=4 at 32 px."""
    if image_size >= 64:
        return [{"regions": 5, "radius": 10}, {"regions": 10, "radius": 20}]
    return [{"regions": 10, "radius": 4}]


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


def _builder_options(builder, options: dict, where: str):
    """The builder's options checked against its settings class: names, types, ranges."""
    validator = jsonschema.Draft202012Validator(schema_of(builder.options))
    errors = sorted(validator.iter_errors(options), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at {'/'.join([where, *map(str, e.path)])}: {_schema_message(e)}" for e in errors]
        raise ConfigError("data set options do not match the builder's:\n" + "\n".join(lines))
    return builder.options(**options)


def _recipe(name: str, raw: dict) -> TrainingRecipe:
    recipe = TrainingRecipe(**raw)
    if recipe.optimizer not in OPTIMIZERS:
        raise ConfigError(f"recipe {name!r}: {OPTIMIZERS.unknown_message(recipe.optimizer)}")
    return recipe


def _schema_message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, with the valid keys where a key is unknown."""
    known = error.schema.get("properties") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties" and known:
        return f"{error.message}; valid keys: {', '.join(known)}"
    return error.message


def load_experiment(config: dict, *, name: str = DEFAULT_EXPERIMENT, check_archs: bool = True) -> Experiment:
    """Validate `config` (a parsed config file) and build the `Experiment` called `name` (its results
    folder, see `experiment_name`); raises ConfigError."""
    raw = copy.deepcopy(config)
    validator = _fill_defaults(jsonschema.Draft202012Validator)(config_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        lines = [f"  at {'/'.join(map(str, e.path)) or '(top level)'}: {_schema_message(e)}" for e in errors]
        raise ConfigError("config does not match the schema:\n" + "\n".join(lines))

    datasets = {}
    for dataset, d in raw["datasets"].items():
        check_name(d["builder"], DATASETS, f"datasets/{dataset}/builder")
        d["options"] = {k: _expand_env(v, f"datasets/{dataset}/options/{k}") for k, v in d["options"].items()}
        options = _builder_options(DATASETS.get(d["builder"]), d["options"], f"datasets/{dataset}/options")
        n_test = options.test_images()
        if n_test is not None and d["pool_size"] > n_test:
            raise ConfigError(
                f"datasets/{dataset}/pool_size {d['pool_size']} exceeds the {n_test} test images its options "
                f"give; valid: at most {n_test} (or more test images)"
            )
        eval_radii = {}
        for key, norm in (("eval_epsilons", "linf"), ("eval_l2_epsilons", "l2")):
            try:
                eval_radii[key] = tuple(parse_epsilon(e, norm) for e in d[key])
            except ValueError as err:
                raise ConfigError(f"datasets/{dataset}/{key}: {err}") from None
        if d["n_images"] > d["pool_size"]:
            raise ConfigError(f"datasets/{dataset}: n_images {d['n_images']} exceeds pool_size {d['pool_size']}")
        try:
            image_size = DATASETS.get(d["builder"]).image_size(d["options"])
        except (ValueError, KeyError, RuntimeError) as err:
            raise ConfigError(f"datasets/{dataset}/options: {err}") from None
        if image_size % d["region_size"]:
            raise ConfigError(
                f"datasets/{dataset}/region_size {d['region_size']} does not divide the image size "
                f"{image_size}; valid: divisors of {image_size}"
            )
        budgets = d["occlusion_budgets"] or default_occlusion_budgets(image_size)
        n_regions = (image_size // d["region_size"]) ** 2
        for b in budgets:
            if b["regions"] > n_regions:
                raise ConfigError(
                    f"datasets/{dataset}/occlusion_budgets: N = {b['regions']} exceeds the {n_regions} "
                    f"regions of {d['region_size']} px in a {image_size} px image"
                )
        datasets[dataset] = DatasetConfig(
            dataset,
            d["builder"],
            d["options"],
            d["pool_size"],
            d["n_images"],
            d["region_size"],
            eval_radii["eval_epsilons"],
            eval_radii["eval_l2_epsilons"],
            d["eval_pgd_steps"],
            d["eval_images"],
            tuple(budgets),
        )

    recipes = {name: _recipe(name, r) for name, r in raw["recipes"].items()}

    models: dict[str, ModelSpec] = {}
    try:
        entries = expand_grid(raw["model_grid"]) + raw["models"]
    except ValueError as err:
        raise ConfigError(f"model_grid: {err}") from None
    for entry in entries:
        where = f"model {entry['id']!r}"
        if entry["dataset"] not in datasets:
            raise ConfigError(f"{where}: unknown dataset {entry['dataset']!r}; valid: {sorted(datasets)}")
        check_name(entry["source"], SOURCES, f"{where} source")
        if check_archs:
            check_arch(entry["arch"], where)
        if SOURCES.get(entry["source"]).obtain is None and entry["recipe"] not in recipes:  # trained here
            raise ConfigError(f"{where}: unknown recipe {entry['recipe']!r}; valid: {sorted(recipes)}")
        check_name(entry["norm"], THREAT_NORMS, f"{where} norm")
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
    variants = resolve_variants(raw["variants"])
    check_lineage(models, variants)
    for dataset in datasets:
        if not any(m.dataset == dataset for m in models.values()):
            raise ConfigError(
                f"datasets/{dataset}: no model of this data set; add a model_grid row or a models entry "
                f"with `dataset: {dataset}`, or remove the data set"
            )

    try:
        methods = resolve_methods(raw["attribution"]["methods"], raw["attribution"]["custom"])
    except (UnknownNameError, ValueError) as err:
        raise ConfigError(f"attribution/methods: {err}") from None
    for t in raw["inequality"]["transforms"]:
        check_name(t, TRANSFORMS, "inequality/transforms")
    if raw["report"]["table_method"] not in methods:
        raise ConfigError(
            f"report/table_method {raw['report']['table_method']!r} is not among the configured "
            f"methods {sorted(methods)}"
        )
    shared = Shared(raw["seed"], datasets, models, methods, raw)
    stages = {
        name: CONFIG_SECTIONS.get(name).resolve(copy.deepcopy(raw[name]), shared)
        for name in CONFIG_SECTIONS
        if CONFIG_SECTIONS.get(name).resolve is not None
    }

    return Experiment(
        name=name,
        seed=raw["seed"],
        datasets=datasets,
        models=models,
        recipes=recipes,
        variants=variants,
        methods=methods,
        transforms=tuple(raw["inequality"]["transforms"]),
        attribution_options={
            k: raw["attribution"][k]
            for k in ("batch_size", "internal_batch_size", "dtype", "shard_images", "precision", "family_methods")
        },
        stages=stages,
        report=raw["report"],
        fetch=raw["fetch"],
        raw=raw,
    )


def _layered(base: dict, over: dict) -> dict:
    """`over` merged into `base` key by key, as Snakemake layers several --configfile files."""
    merged = dict(base)
    for key, value in over.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _layered(merged[key], value) if both_maps else value
    return merged


def check_files(paths: list[str]) -> Experiment:
    """Read and validate config files as `snakemake --configfile PATHS...` would use them; ConfigError
    naming the file, line and column of a YAML mistake, or the key of a bad setting."""
    config: dict = {}
    for path in paths:
        config = _layered(config, read_config_file(path))
    return load_experiment(config, name=experiment_name(paths))


def main(argv: list[str] | None = None) -> int:
    """`python -m ineqbench.config [FILE...]`: check config files (default config.yaml) without Snakemake."""
    import sys

    paths = (sys.argv[1:] if argv is None else argv) or [DEFAULT_CONFIG]
    try:
        experiment = check_files(paths)
    except ConfigError as error:
        print(f"ineqbench: invalid configuration: {error}", file=sys.stderr)
        return 1
    print(
        f"{' '.join(paths)}: valid; experiment {experiment.name!r} (results/{experiment.name}), "
        f"{len(experiment.datasets)} data set(s), {len(experiment.models)} model(s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "ConfigError",
    "Experiment",
    "DatasetConfig",
    "load_experiment",
]
