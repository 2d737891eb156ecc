"""The models' settings, without torch: a training recipe's fields, the variants of the comparison
families, the `models` entries and `model_grid` rows of the config, and the names of the optimizers
(added, with their code, in `ineqbench.models.training`) and of the pruning methods (in
`ineqbench.models.variants`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ineqbench.registry import Registry
from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting

OPTIMIZERS = Registry("optimizer")
for _name in ("sgd", "adamw"):
    OPTIMIZERS.declare(_name, "ineqbench.models.training")

PRUNING = Registry("pruning method")
for _name in ("l1_filter", "magnitude"):
    PRUNING.declare(_name, "ineqbench.models.variants")

_ID = "^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
_VARIANT = "^[a-z0-9][a-z0-9_]*$"


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
class Variant:
    """How a comparison family's model differs from plain training with its recipe and threat model.
    A model names its variant (`variant: cutout`): tables, pairings and ids key on the name, so a Cutout
    model never shares a column with a plain one."""

    cutout: float = setting(
        0.0,
        "Cutout (DeVries & Taylor 2017): side of the square filled with the mean pixel in every training "
        "image, as a share of the image side (their CIFAR-10 16 px of 32 is 0.5); 0: none",
        minimum=0,
        maximum=1,
    )
    prune: str | None = setting(
        None,
        "prune the init_from model before training: l1_filter (Li et al. 2017, whole conv filters of "
        "smallest l1 norm, per layer) or magnitude (Han et al. 2015, weights of smallest magnitude)",
    )
    amount: float = setting(0.0, "share of filters (l1_filter) or weights (magnitude) pruned", minimum=0, maximum=0.99)

    def as_dict(self) -> dict:
        return asdict(self)


# The inequality paper's comparison families (A.6 sparsity, A.9 Cutout): a config's `variants` adds to
# these or redefines one. `finetuned` is the pruned models' comparator: the same fine-tuning, no pruning.
BUILT_IN_VARIANTS = {
    "cutout": {"cutout": 0.5},
    "finetuned": {},
    "prune_filters_30": {"prune": "l1_filter", "amount": 0.3},
    "prune_filters_60": {"prune": "l1_filter", "amount": 0.6},
    "prune_weights_50": {"prune": "magnitude", "amount": 0.5},
    "prune_weights_90": {"prune": "magnitude", "amount": 0.9},
}


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
    variant: str = setting(
        "", "a name of `variants` (built-in: cutout, finetuned, prune_*); '': plain", pattern="^$|" + _VARIANT
    )
    init_from: str | None = setting(None, "id of a model of the same data set and architecture to start from")


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
    variants: list[str] = setting([""], "names of `variants`, one model each; '': plain", minItems=1)
    init_from: str | None = setting(
        None, "id of the model to start from; {seed} stands for the row's seed (test_resnet-std-s{seed})"
    )


CONFIG_SECTIONS.add(
    "recipes", ConfigSection(dict[str, TrainingRecipe], keywords={"description": "training recipes by name"})
)
AUTOATTACK_ATTACKS = ("apgd-ce", "apgd-t", "fab-t", "square", "apgd-dlr", "fab")


@dataclass(frozen=True)
class AutoAttackSettings:
    """Robust accuracy in the model cards under AutoAttack (Croce & Hein 2020, the reference code as the
    `pyautoattack` package). The defaults are its standard version; a cheaper one for a CPU lists fewer
    attacks, target classes or images. A point counts as robust only if every attack fails on it."""

    attacks: list[str] = setting(
        ["apgd-ce", "apgd-t", "fab-t", "square"],
        "run in this order, each on the points the ones before left robust (default: the standard version)",
        minItems=1,
        items={"enum": list(AUTOATTACK_ATTACKS)},
    )
    n_images: int = setting(1000, "the first test images attacked; 0: no AutoAttack", minimum=0)
    n_target_classes: int = setting(9, "target classes of APGD-T and FAB-T (standard: 9)", minimum=1)
    square_queries: int = setting(5000, "queries of the Square attack (standard: 5000)", minimum=1)
    batch_size: int = setting(250, minimum=1)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def is_standard(self) -> bool:
        """AutoAttack's standard version (the number of images aside)."""
        reference = AutoAttackSettings()
        return (self.attacks, self.n_target_classes, self.square_queries) == (
            reference.attacks,
            reference.n_target_classes,
            reference.square_queries,
        )


CONFIG_SECTIONS.add(
    "autoattack", ConfigSection(AutoAttackSettings, resolve=lambda raw, shared: AutoAttackSettings(**raw))
)
CONFIG_SECTIONS.add(
    "variants",
    ConfigSection(
        dict[str, Variant],
        keywords={
            "description": "variants of the comparison families, added to the built-in ones: "
            + ", ".join(BUILT_IN_VARIANTS),
            "propertyNames": {"pattern": _VARIANT},
        },
    ),
)
CONFIG_SECTIONS.add("models", ConfigSection(list[ModelEntry], default=[]))
CONFIG_SECTIONS.add(
    "model_grid",
    ConfigSection(
        list[GridRow], default=[], keywords={"description": "rows expanded into one model per epsilon and seed"}
    ),
)
