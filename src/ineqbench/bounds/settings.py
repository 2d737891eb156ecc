"""The bounds stage's settings and names, without torch: the `bounds` config section (defaults and
descriptions written here once), the names it holds (bound attacks, differentiable kinds, σ_max
methods, declared here and added where they are implemented) and `bounds_config`, which turns the
checked section into the experiment's `BoundsConfig`."""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.attribution.settings import MethodSpec, resolve_methods
from ineqbench.bounds.formulas import EUCLIDEAN_RADII
from ineqbench.models.spec import ModelSpec, parse_epsilon, standard_and_strongest
from ineqbench.registry import Registry, UnknownNameError
from ineqbench.settings import CONFIG_SECTIONS, ConfigError, ConfigSection, check_name, setting

# Their order is the default `attacks` list's, which the bound jobs run in.
BOUND_ATTACK_NAMES = (
    "pgd_cross_entropy",
    "pgd_attribution_l2distance",
    "pgd_attribution_cosine",
    "ifia_topk",
    "sensitivity_max",
)
BOUND_ATTACKS = Registry("bound attack")
DIFFERENTIABLE_KINDS = Registry("differentiable attribution kind")
SIGMA_MAX_METHODS = Registry("sigma_max method")
for _registry, _names, _module in (
    (BOUND_ATTACKS, BOUND_ATTACK_NAMES, "ineqbench.bounds.attacks"),
    (DIFFERENTIABLE_KINDS, ("gradient", "integrated_gradients"), "ineqbench.bounds.differentiable"),
    (SIGMA_MAX_METHODS, ("power", "lanczos", "dense"), "ineqbench.bounds.spectral"),
):
    for _name in _names:
        _registry.declare(_name, _module)

_RADII = {"type": "array", "items": {"type": ["number", "string"]}}


@dataclass(frozen=True)
class SigmaMaxSection:
    method: str = setting("lanczos", "lanczos, power or dense (the full Jacobian and its SVD)")
    max_iters: int = setting(30, minimum=1)
    tol: float = setting(
        1.0e-4,
        "relative residual (lanczos) or relative change (power) at which the iteration stops",
        exclusiveMinimum=0,
    )


@dataclass(frozen=True)
class BoundsSection:
    """Worst-case attribution deviation bounds and the attacks that check them (Wang & Kong;
    docs/attribution_bounds.md)."""

    methods: list[str] = setting(
        [],
        "method ids (built-in or attribution/custom) of a kind with a differentiable form: integrated_gradients "
        "or gradient; empty: no bounds stage",
    )
    models: str | list[str] = setting(
        "all",
        "all, auto (per architecture and seed: the standard model and the largest l-inf epsilon) or a list of "
        "model ids",
        oneOf=[{"enum": ["all", "auto"]}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
    )
    n_images: int = setting(16, "the first n pool images are bounded (the same images for every model)", minimum=1)
    epsilons: dict[str, list[float | str]] = setting(
        {"l2": [0.5], "linf": ["2/255"]},
        "radii per threat norm, pixel units (numbers or 'a/b' strings); a norm left out is not bounded",
        additionalProperties=False,
        properties={norm: _RADII for norm in EUCLIDEAN_RADII.names()},
    )
    margin: float = setting(
        1.0, "multiplicative safety margin on every Euclidean bound, fixed before evaluation (1: none)", minimum=1
    )
    surrogate_beta: float = setting(
        10.0, "softplus(beta) replaces every ReLU for the bound and the attacks' gradients", exclusiveMinimum=0
    )
    sigma_max: SigmaMaxSection = setting(SigmaMaxSection(), "the spectral norm of the attribution's input Jacobian")
    dense_jacobian: bool = setting(
        False,
        "also form the full Jacobian at every bounded point: its exact sigma_max (used by the bounds) and the "
        "column-norm l-inf bound (32 px: seconds per point)",
    )
    practical_samples: int = setting(
        2,
        "random points of the ball from which the practical bound's ascent also starts (besides x and the most "
        "deviating attack iterate)",
        minimum=0,
    )
    practical_ascent_steps: int = setting(
        5,
        "projected ascent steps on sigma_max from each start (0: sigma_max at the starts only)",
        minimum=0,
    )
    attacks: list[str] = setting(list(BOUND_ATTACK_NAMES), "the attacks that check the bounds", minItems=1)
    attack_steps: int = setting(10, "steps of every attack (samples of sensitivity_max)", minimum=1)
    ifia_k: int | None = setting(None, "IFIA's top-k pixels (null: 10% of the pixels)", minimum=1)


@dataclass(frozen=True)
class BoundsConfig:
    """The bounds stage: which methods and models, and the settings every bound job gets (`settings`:
    the fields of `ineqbench.bounds.job.BoundSettings` except the method)."""

    methods: dict[str, MethodSpec]
    models: dict[str, tuple[str, ...]]  # data set -> bounded model ids
    settings: dict

    def model_ids(self, dataset: str) -> list[str]:
        return list(self.models.get(dataset, ()))


def _models(choice: str | list[str], models: dict[str, ModelSpec], dataset: str) -> list[str]:
    specs = [m for m in models.values() if m.dataset == dataset]
    if choice == "all":
        return [m.id for m in specs]
    if choice == "auto":
        chosen = {m.id for pair in standard_and_strongest(specs) for m in pair}
        return [m.id for m in specs if m.id in chosen]
    return [m for m in choice if models[m].dataset == dataset]


def bounds_config(raw: dict, shared) -> BoundsConfig:
    """The checked `bounds` section (defaults filled) as the experiment's BoundsConfig; ConfigError
    names the bad key."""
    datasets, models = shared.datasets, shared.models
    try:
        methods = resolve_methods(raw["methods"], shared.raw["attribution"]["custom"])
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
        check_name(name, BOUND_ATTACKS, "bounds/attacks")
    check_name(raw["sigma_max"]["method"], SIGMA_MAX_METHODS, "bounds/sigma_max/method")
    epsilons = {}
    for norm, values in raw["epsilons"].items():
        check_name(norm, EUCLIDEAN_RADII, "bounds/epsilons")
        try:
            epsilons[norm] = [parse_epsilon(e, norm) for e in values]
        except ValueError as err:
            raise ConfigError(f"bounds/epsilons/{norm}: {err}") from None
    if methods and not any(epsilons.values()):
        raise ConfigError("bounds/epsilons: no radius given; list at least one, e.g. {l2: [0.5], linf: [2/255]}")
    settings = {
        **{k: raw[k] for k in raw if k not in ("methods", "models", "epsilons")},
        "epsilons": epsilons,
        "seed": shared.seed,
    }
    chosen = {d: tuple(_models(raw["models"], models, d)) if methods else () for d in datasets}
    if methods and isinstance(raw["models"], str):
        for d, ids in chosen.items():
            if not ids:
                raise ConfigError(
                    f'bounds/models: {raw["models"]!r} selects no model of data set {d!r} ("auto" needs a '
                    "standard and an adversarially trained model of one architecture and seed); list the "
                    "models to bound, or set bounds/methods: [] to bound none"
                )
    elif methods and not any(chosen.values()):
        raise ConfigError("bounds/models: the list selects no model; list at least one model id")
    for d, ids in chosen.items():
        if ids and raw["n_images"] > datasets[d].pool_size:
            raise ConfigError(
                f"bounds/n_images {raw['n_images']} exceeds pool_size {datasets[d].pool_size} of "
                f"data set {d!r}; valid: at most {datasets[d].pool_size}"
            )
    return BoundsConfig(methods, chosen, settings)


CONFIG_SECTIONS.add("bounds", ConfigSection(BoundsSection, resolve=bounds_config))
