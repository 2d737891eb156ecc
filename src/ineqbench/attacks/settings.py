"""The attack stage's settings and names, without torch: the `attacks` config section (its defaults
and descriptions are written here once), the settings each family's jobs get, the names the settings
hold (noise types, distributions, rankings, colours, loop orders, centre rules), the attack families,
and `attack_config`, which turns the checked section into the experiment's `AttackConfig`.

An attack family is one `ATTACK_FAMILIES.add` line below: its settings class, whether attribution maps
guide it, the stage table its rows join, and where its code lives (imported when a job runs).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from ineqbench.models.spec import standard_and_strongest
from ineqbench.registry import Registry, load
from ineqbench.settings import CONFIG_SECTIONS, ConfigError, ConfigSection, check_name, setting

PAPER_BUDGETS = ("500/150528", "1000/150528", "5000/150528", "10000/150528", "20000/150528")


@dataclass(frozen=True)
class AttackContext:
    """The data set's side of an attack: what the family's own settings do not say."""

    region_size: int | None = None  # px; the regional blocks and occlusion patches
    budgets: tuple[dict, ...] = ()  # occlusion budgets [{regions, radius}]
    noise_budget: str | None = None  # the noise budget of Tables 3 and 4


@dataclass(frozen=True)
class NoiseType:
    ranked: bool  # mask from the attribution ranking; False: k random channel-elements
    replace: bool  # Type II replaces the masked elements; Type I and Random add to them
    label: str


NOISE_TYPES: Registry[NoiseType] = Registry("noise type")
NOISE_TYPES.add("random", NoiseType(ranked=False, replace=False, label="Random"))
NOISE_TYPES.add("type1", NoiseType(ranked=True, replace=False, label="Noise I"))
NOISE_TYPES.add("type2", NoiseType(ranked=True, replace=True, label="Noise II"))


def noise_label(noise_type: str) -> str:
    return NOISE_TYPES.get(noise_type).label


# Names whose code needs torch: declared here, added where they are implemented.
NOISE_DISTRIBUTIONS = Registry("noise distribution")
RANKINGS = Registry("attack ranking")
COLOURS = Registry("occlusion colour")
LOOP_ORDERS = Registry("occlusion loop order")
CENTRES = Registry("occlusion centre rule")
for _registry, _names, _module in (
    (NOISE_DISTRIBUTIONS, ("gaussian", "uniform"), "ineqbench.attacks.noise"),
    (RANKINGS, ("signed", "abs"), "ineqbench.attacks.ranking"),
    (COLOURS, ("black", "grey", "white", "image_min"), "ineqbench.attacks.occlusion"),
    (LOOP_ORDERS, ("regions_outer", "radius_outer"), "ineqbench.attacks.occlusion"),
    (CENTRES, ("regions", "pixels"), "ineqbench.attacks.occlusion"),
):
    for _name in _names:
        _registry.declare(_name, _module)


def parse_budget(value: int | float | str) -> int | float:
    """A count of channel-elements (an int >= 1) or a fraction of C x H x W in (0, 1]: a float or a
    fraction string such as "5000/150528" (the paper's thresholds at 224 px)."""
    if isinstance(value, bool):
        raise ValueError(f"noise budget {value!r} is not a count or a fraction")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"noise budget {value} must be a count >= 1 or a fraction in (0, 1]")
        return value
    try:
        fraction = float(Fraction(str(value).strip())) if isinstance(value, str) else float(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(
            f"noise budget {value!r} is not a count (e.g. 500) or a fraction (e.g. 0.0332 or '5000/150528')"
        ) from None
    if not 0 < fraction <= 1:
        raise ValueError(f"noise budget {value!r} = {fraction:g} must be a fraction in (0, 1] or an integer count")
    return fraction


@dataclass(frozen=True)
class NoiseSettings:
    """Inductive noise (Duan et al. 3.2.1): which noise, how much, and how it is drawn."""

    types: tuple[str, ...] = setting(("random", "type1", "type2"), "noise types: random, type1, type2", minItems=1)
    budgets: tuple[int | float | str, ...] = setting(
        PAPER_BUDGETS, "k per image: counts (integers) or fractions of C x H x W (numbers or 'a/b' strings)", minItems=1
    )
    ranking: str = setting("signed", "signed (released code) or abs")
    distribution: str = setting("gaussian", "gaussian (paper, N(0, sigma^2) normalised) or uniform (released code)")
    sigma: float = setting(1.0, "gaussian standard deviation, normalised units", exclusiveMinimum=0)
    seed: int = setting(0, "the experiment seed (per-image draws)", config=False)
    batch_size: int = setting(128, minimum=1)

    def check(self) -> None:
        """Every name against its registry and every budget parsed; ValueError names the bad key."""
        for noise_type in self.types:
            NOISE_TYPES.check(noise_type, "attacks/noise/types")
        RANKINGS.check(self.ranking, "attacks/noise/ranking")
        NOISE_DISTRIBUTIONS.check(self.distribution, "attacks/noise/distribution")
        for budget in self.budgets:
            try:
                parse_budget(budget)
            except ValueError as err:
                raise ValueError(f"attacks/noise: {err}") from None

    @classmethod
    def of_experiment(cls, attacks: dict, seed: int) -> NoiseSettings:
        """The `attacks/noise` section; the per-image seeds derive from the experiment seed."""
        return cls(**{k: v for k, v in attacks["noise"].items() if k != "table_budget"}, seed=seed)

    def as_dict(self) -> dict:
        return {**self.__dict__, "types": list(self.types), "budgets": list(self.budgets)}


@dataclass(frozen=True)
class NoiseSection(NoiseSettings):
    """The `attacks/noise` section: the noise family's settings and the budget its tables show."""

    table_budget: int | float | str = setting("5000/150528", "the budget of Tables 3 and 4")


@dataclass(frozen=True)
class OcclusionSettings:
    """Inductive occlusion (Duan et al. Algorithm 1): fills, search order, centres and batching."""

    colours: tuple[str, ...] = setting(("black", "grey", "white"), "fills: black, grey, white, image_min", minItems=1)
    loop: str = setting("regions_outer", "regions_outer (Algorithm 1) or radius_outer (released code)")
    centres: str = setting("regions", "regions (paper) or pixels (released code)")
    ranking: str = setting("signed", "signed (released code) or abs")
    chunk: int = setting(4, "candidates per image per batched round (benchmarks/bench_occlusion.py)", minimum=1)
    batch_size: int = setting(256, "images per forward pass", minimum=1)

    def check(self) -> None:
        for colour in self.colours:
            COLOURS.check(colour, "attacks/occlusion/colours")
        LOOP_ORDERS.check(self.loop, "attacks/occlusion/loop")
        CENTRES.check(self.centres, "attacks/occlusion/centres")
        RANKINGS.check(self.ranking, "attacks/occlusion/ranking")

    @classmethod
    def of_experiment(cls, attacks: dict, seed: int) -> OcclusionSettings:
        """The `attacks/occlusion` section (deterministic: no seed)."""
        return cls(**attacks["occlusion"])

    def as_dict(self) -> dict:
        return {**self.__dict__, "colours": list(self.colours)}


@dataclass(frozen=True)
class RandomOcclusionSettings:
    """Algorithm 1's search settings, taken from the `occlusion` section so that both families search
    alike, and the experiment seed of the draws; no ranking or centre rule: the regions are drawn."""

    colours: tuple[str, ...] = OcclusionSettings.colours  # the occlusion section's defaults, not copies
    loop: str = OcclusionSettings.loop
    chunk: int = OcclusionSettings.chunk
    batch_size: int = OcclusionSettings.batch_size
    seed: int = 0

    @classmethod
    def of_experiment(cls, attacks: dict, seed: int) -> RandomOcclusionSettings:
        occlusion = attacks["occlusion"]
        return cls(**{f.name: occlusion[f.name] for f in fields(cls) if f.name in occlusion}, seed=seed)

    def as_dict(self) -> dict:
        return {**self.__dict__, "colours": list(self.colours)}

    def check(self) -> None:
        self.search().check()

    def search(self) -> OcclusionSettings:
        return OcclusionSettings(
            colours=tuple(self.colours), loop=self.loop, chunk=self.chunk, batch_size=self.batch_size
        )


@dataclass(frozen=True)
class AttackFamily:
    """One attack family. What the config and the DAG read is here; its code (`FamilyCode` in
    `ineqbench.attacks.families`: the run, the rebuild of an attacked image, its labels and table rows)
    is imported from `implementation` ("module:attribute") when a job or a table needs it."""

    description: str
    context: tuple[str, ...]  # the AttackContext fields its run reads (its jobs get only those)
    guided: bool  # reads the attribution maps: one job per (model, method); else one per model
    table: str  # the stage table its rows join: "noise" or "occlusion"
    settings: type  # built from the rule's params (`settings(**params)`), with `as_dict`
    implementation: str

    @property
    def code(self) -> Any:
        return load(self.implementation)


ATTACK_FAMILIES: Registry[AttackFamily] = Registry("attack family")
ATTACK_FAMILIES.add(
    "noise",
    AttackFamily(
        description="inductive noise on the k channel-elements of largest attribution (Duan et al. 3.2.1)",
        context=(),
        guided=True,
        table="noise",
        settings=NoiseSettings,
        implementation="ineqbench.attacks.noise:NOISE",
    ),
)
ATTACK_FAMILIES.add(
    "occlusion",
    AttackFamily(
        description="inductive occlusion of the regions of largest attribution (Duan et al. Algorithm 1)",
        context=("region_size", "budgets"),
        guided=True,
        table="occlusion",
        settings=OcclusionSettings,
        implementation="ineqbench.attacks.occlusion:OCCLUSION",
    ),
)
ATTACK_FAMILIES.add(
    "random_occlusion",
    AttackFamily(
        description="occlusion of N regions drawn uniformly (the control of the attribution-guided occlusion)",
        context=("region_size", "budgets"),
        guided=False,
        table="occlusion",
        settings=RandomOcclusionSettings,
        implementation="ineqbench.attacks.random_occlusion:RANDOM_OCCLUSION",
    ),
)

_PAIR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "target"],
    "properties": {"source": {"type": "string"}, "target": {"type": "string"}},
}


@dataclass(frozen=True)
class TransferSection:
    pairs: str | list[dict] = setting(
        "auto",
        "auto (per architecture and seed: standard and the largest l-inf epsilon, both ways) or a list of "
        "{source, target} model ids",
        oneOf=[{"const": "auto"}, {"type": "array", "items": _PAIR}],
    )
    methods: list[str] | None = setting(None, "method ids of the transfer table (null = report/table_method)")


@dataclass(frozen=True)
class AttacksSection:
    """The attack stage (Duan et al. 3.2): attribution-guided noise and occlusion, the random-region
    control, and the transfer between models."""

    methods: list[str] | None = setting(
        None, "attribution method ids whose maps guide the attacks (null = every configured method)"
    )
    families: list[str] | None = setting(
        None, f"attack families to run (null = every registered one: {', '.join(ATTACK_FAMILIES.names())})"
    )
    noise: NoiseSection = setting(NoiseSection(), "the noise family")
    occlusion: OcclusionSettings = setting(
        OcclusionSettings(), "the occlusion families (random_occlusion shares its search settings)"
    )
    transfer: TransferSection = setting(TransferSection(), "the transfer of attacked images between models")


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


def _families(raw: dict, seed: int) -> dict[str, dict]:
    """The enabled families (all registered ones by default), guided first, each with its settings
    built from the sections it reads and checked against its registries."""
    names = raw["families"] if raw["families"] is not None else ATTACK_FAMILIES.names()
    for name in names:
        check_name(name, ATTACK_FAMILIES, "attacks/families")
    settings = {}
    for name in sorted(dict.fromkeys(names), key=lambda n: (not ATTACK_FAMILIES.get(n).guided, n)):
        try:
            family = ATTACK_FAMILIES.get(name).settings.of_experiment(raw, seed)
            family.check()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{err}" if str(err).startswith("attacks/") else f"attacks ({name}): {err}") from None
        settings[name] = family.as_dict()
    return settings


def auto_transfer_pairs(models: list) -> list[tuple[str, str]]:
    """Per (architecture, seed): the standard model and the largest-ε l∞ model, both ways."""
    return [pair for std, top in standard_and_strongest(models) for pair in ((std.id, top.id), (top.id, std.id))]


def _transfer_pairs(transfer: dict, shared) -> dict[str, tuple[tuple[str, str], ...]]:
    models = shared.models
    pairs: dict[str, list[tuple[str, str]]] = {d: [] for d in shared.datasets}
    if transfer["pairs"] == "auto":
        for d in shared.datasets:
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
    return {d: tuple(p) for d, p in pairs.items()}


def attack_config(raw: dict, shared) -> AttackConfig:
    """The checked `attacks` section (defaults filled) as the experiment's AttackConfig; ConfigError
    names the bad key. `shared`: the experiment's data sets, models, methods, seed and report section."""
    methods, table_method = shared.methods, shared.raw["report"]["table_method"]
    noise, transfer = raw["noise"], raw["transfer"]
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
    families = _families(raw, shared.seed)
    try:
        parsed = [parse_budget(b) for b in noise["budgets"]]
        table = parse_budget(noise.pop("table_budget"))
    except ValueError as err:
        raise ConfigError(f"attacks/noise: {err}") from None
    if table not in parsed:
        raise ConfigError(f"attacks/noise/table_budget {table!r} is not one of the budgets {noise['budgets']}")
    return AttackConfig(
        tuple(attack_methods),
        noise,
        noise["budgets"][parsed.index(table)],
        raw["occlusion"],
        _transfer_pairs(transfer, shared),
        tuple(transfer["methods"]),
        families,
    )


CONFIG_SECTIONS.add("attacks", ConfigSection(AttacksSection, resolve=attack_config))
