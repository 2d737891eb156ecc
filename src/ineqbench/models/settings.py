"""The models' settings, without torch: a training recipe's fields, the `models` entries and
`model_grid` rows of the config, and the optimizers' names (added, with their code, in
`ineqbench.models.training`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ineqbench.registry import Registry
from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting

OPTIMIZERS = Registry("optimizer")
for _name in ("sgd", "adamw"):
    OPTIMIZERS.declare(_name, "ineqbench.models.training")

_ID = "^[A-Za-z0-9][A-Za-z0-9_.+-]*$"


@dataclass(frozen=True)
class TrainingRecipe:
    """The whole training procedure apart from the threat model (the model's norm and ε)."""

    epochs: int = setting(12, minimum=1)
    batch_size: int = setting(128, minimum=1)
    optimizer: str = setting("adamw", "adamw or sgd (Nesterov)")
    lr: float = setting(3e-3, "peak learning rate (one-cycle cosine)", exclusiveMinimum=0)
    momentum: float = setting(0.9, "SGD only", minimum=0, exclusiveMaximum=1)
    weight_decay: float = setting(0.05, minimum=0)
    label_smoothing: float = setting(0.0, minimum=0, maximum=1)
    crop_padding: int = setting(2, "random-translation augmentation, pixels", minimum=0)
    horizontal_flip: bool = setting(True)
    pgd_steps: int = setting(5, "PGD steps of adversarial training", minimum=1)
    pgd_step_ratio: float = setting(2.5, "PGD step = ratio * ε / steps", exclusiveMinimum=0)
    eps_warmup_epochs: int = setting(2, "epochs over which ε rises linearly to its value", minimum=0)
    grad_clip_norm: float | None = setting(
        None, "clip the global gradient norm (normaliser-free nets need it)", exclusiveMinimum=0
    )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelEntry:
    """One model, written out (the grid's rows expand into these)."""

    id: str = setting(doc="unique across data sets", pattern=_ID)
    dataset: str = setting(doc="a data set of `datasets`")
    arch: str = setting(doc="a timm architecture name (for timm_hub: arch.tag)")
    source: str = setting("train", "where the weights come from (docs/configuration.md: model sources)")
    norm: str = setting("linf", "threat norm of training: linf or l2")
    epsilon: float | str = setting(0, "training radius, pixel units (numbers or 'a/b' strings); 0: standard")
    seed: int = setting(0, "training seed")
    recipe: str = setting("default", "a recipe of `recipes` (trained models)")
    arch_kwargs: dict = setting({}, "keyword arguments of timm.create_model")
    source_options: dict = setting({}, "options of the source (url, sha256, path, layout, ...)")


@dataclass(frozen=True)
class GridRow:
    """A row of the model grid: one model per ε and seed (and per architecture an fnmatch pattern matches)."""

    dataset: str = setting(doc="a data set of `datasets`")
    arch: str = setting(doc="a timm name, or an fnmatch pattern (convnext_*.fb_in1k) expanded to every match")
    epsilons: list[float | str] = setting(doc="training radii, pixel units; 0: standard", minItems=1)
    name: str | None = setting(
        None,
        "first part of the ids (default: arch); ids must be unique across data sets",
        pattern="^[A-Za-z0-9][A-Za-z0-9_.+]*$",
    )
    source: str = setting("train", "where the weights come from")
    norm: str = setting("linf", "threat norm of training: linf or l2")
    seeds: list[int] = setting([0], "training seeds", minItems=1)
    recipe: str = setting("default", "a recipe of `recipes` (trained models)")
    arch_kwargs: dict = setting({}, "keyword arguments of timm.create_model")
    source_options: dict = setting({}, "given to every model of the row (e.g. base_url)")


CONFIG_SECTIONS.add(
    "recipes", ConfigSection(dict[str, TrainingRecipe], keywords={"description": "training recipes by name"})
)
CONFIG_SECTIONS.add("models", ConfigSection(list[ModelEntry], default=[]))
CONFIG_SECTIONS.add(
    "model_grid",
    ConfigSection(
        list[GridRow], default=[], keywords={"description": "rows expanded into one model per epsilon and seed"}
    ),
)
