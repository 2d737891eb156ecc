"""The model grid expanded into model entries, and the checks on what the models are: timm
architecture names, the variants, and which model starts from which (`init_from`). No torch: the timm
names come from a cached list."""

from __future__ import annotations

import difflib
import itertools

from ineqbench.models.settings import BUILT_IN_VARIANTS, PRUNING, Variant
from ineqbench.models.spec import ModelSpec, default_model_id, parse_epsilon
from ineqbench.models.timm_names import timm_names
from ineqbench.settings import ConfigError, check_name


def check_arch(arch: str, where: str) -> None:
    """ConfigError naming `where` and the closest timm names when `arch` is not a timm architecture."""
    names = timm_names()
    if not names.is_model(arch):
        close = difflib.get_close_matches(arch, sorted(names.architectures), n=3)
        hint = f" Close timm names: {', '.join(close)}." if close else ""
        raise ConfigError(f"{where}: unknown timm architecture {arch!r}.{hint} See timm.list_models().")


def _grid_archs(row: dict) -> list[str]:
    """The row's architecture, or every timm name its fnmatch pattern matches (`convnext_*.fb_in1k`):
    pretrained `arch.tag` names for the timm hub, architecture names otherwise."""
    arch = row["arch"]
    if not any(c in arch for c in "*?["):
        return [arch]
    matches = timm_names().matching(arch, pretrained=row["source"] == "timm_hub")
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


def expand_grid(rows: list[dict]) -> list[dict]:
    """One model entry (the fields of a ModelSpec) per architecture, ε, seed and variant of each
    `model_grid` row; ValueError naming the row when a row cannot be expanded."""
    entries = []
    for index, row in enumerate(rows):
        try:
            entries += _expand_row(row)
        except ValueError as err:
            raise ValueError(f"row {index} ({row['dataset']}, {row['arch']}): {err}") from None
    return entries


def _expand_row(row: dict) -> list[dict]:
    entries = []
    for arch in _grid_archs(row):
        for eps, seed, variant in itertools.product(row["epsilons"], row["seeds"], row["variants"]):
            value = parse_epsilon(eps, row["norm"])
            init_from = row["init_from"].replace("{seed}", str(seed)) if row["init_from"] else None
            entries.append(
                {
                    "id": default_model_id(row["name"] or arch, row["norm"], value, seed, variant),
                    "dataset": row["dataset"],
                    "arch": arch,
                    "source": row["source"],
                    "norm": row["norm"],
                    "epsilon": value,
                    "seed": seed,
                    "recipe": row["recipe"],
                    "arch_kwargs": row["arch_kwargs"],
                    "source_options": row["source_options"],
                    "variant": variant,
                    "init_from": init_from,
                }
            )
    return entries


def resolve_variants(raw: dict) -> dict[str, Variant]:
    """The built-in variants with the config's added (or redefined), each checked."""
    variants = {}
    for name, fields_ in {**BUILT_IN_VARIANTS, **raw}.items():
        variant = Variant(**fields_)
        if variant.prune is not None:
            check_name(variant.prune, PRUNING, f"variants/{name}/prune")
        if (variant.prune is None) != (variant.amount == 0):
            raise ConfigError(
                f"variants/{name}: prune {variant.prune!r} with amount {variant.amount}; a pruning method "
                f"needs an amount in (0, 0.99], and an amount needs a method ({', '.join(PRUNING)})"
            )
        variants[name] = variant
    return variants


def check_lineage(models: dict[str, ModelSpec], variants: dict[str, Variant]) -> None:
    """Each model's variant exists; a model that starts from another (init_from) starts from a model of
    the same data set and architecture, is trained here and has a variant of its own, so it never
    shares a table column with one trained from scratch; pruning needs weights to prune; no cycles."""
    for spec in models.values():
        where = f"model {spec.id!r}"
        if spec.variant and spec.variant not in variants:
            raise ConfigError(f"{where}: unknown variant {spec.variant!r}; valid: {', '.join(sorted(variants))}")
        variant = variants.get(spec.variant, Variant())
        if variant.prune and spec.init_from is None:
            raise ConfigError(
                f"{where}: variant {spec.variant!r} prunes a trained model; give the model `init_from: <model id>`"
            )
        if spec.init_from is None:
            continue
        parent = models.get(spec.init_from)
        if parent is None:
            close = difflib.get_close_matches(spec.init_from, list(models), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: init_from {spec.init_from!r} is not a model of this config.{hint}")
        if (parent.dataset, parent.arch, parent.arch_kwargs) != (spec.dataset, spec.arch, spec.arch_kwargs):
            raise ConfigError(
                f"{where}: init_from {parent.id!r} is {parent.arch} on {parent.dataset}; a model starts only "
                f"from one of its own architecture ({spec.arch}) and data set ({spec.dataset})"
            )
        if spec.source != "train" or not spec.variant:
            raise ConfigError(
                f"{where}: a model with init_from is trained here (source: train) and names a variant "
                "(e.g. finetuned), so that it does not share a column with a model trained from scratch"
            )
    for spec in models.values():
        seen = [spec.id]
        while models[seen[-1]].init_from is not None:
            seen.append(models[seen[-1]].init_from)
            if seen[-1] in seen[:-1]:
                raise ConfigError(f"model {spec.id!r}: init_from forms a cycle: {' -> '.join(seen)}")
