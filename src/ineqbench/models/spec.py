"""The model spec: one schema for a model entry, shared by every source of models.

A spec names a trained or fetched classifier completely: a wildcard-safe id, the timm architecture
(plus keyword arguments for timm.create_model), where the weights come from, the threat model it was
trained against (norm and ε, in pixel units), the seed and the training recipe, and, for a member of a
comparison family, its variant (Cutout, pruning, fine-tuning; `ineqbench.models.variants`) and the model
it starts from (`init_from`). Every later source (checkpoint download, RobustBench, timm hub) fills in the
same fields.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # no '/', safe as a Snakemake wildcard


def parse_epsilon(value: float | int | str, norm: str = "linf") -> float:
    """ε in pixel units from a number or a fraction string such as "8/255" or "0.5/255".

    An l∞ radius lies in [0, 1] (pixels are in [0, 1]); an l2 radius may exceed 1 (e.g. 3.0 on ImageNet)."""
    if isinstance(value, (int, float)):
        eps = float(value)
    else:
        text = str(value).strip()
        try:
            if "/" in text:
                num, den = text.split("/")
                eps = float(num) / float(den)
            else:
                eps = float(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"epsilon {value!r} is not a number or a fraction like '8/255'") from None
    if eps < 0:
        raise ValueError(f"epsilon {value!r} is negative")
    if norm == "linf" and eps > 1:
        raise ValueError(f"epsilon {value!r} = {eps} is outside [0, 1]; pixels are in [0, 1], so write 8/255, not 8")
    return eps


def epsilon_label(eps: float, norm: str = "linf") -> str:
    """8/255 for an l∞ 0.031372..., else a short decimal (always for l2): how tables name an ε."""
    if norm != "linf":
        return f"{eps:g}"
    frac = Fraction(eps * 255).limit_denominator(4)
    if abs(float(frac) - eps * 255) < 1e-6:
        num = f"{float(frac):g}"
        return "0" if eps == 0 else f"{num}/255"
    return f"{eps:.4g}"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    dataset: str
    arch: str  # a timm model name
    source: str = "train"  # a name in ineqbench.fetch.model_sources.SOURCES
    norm: str = "linf"  # threat model of training: linf | l2 (ignored when epsilon == 0)
    epsilon: float = 0.0  # pixel units
    seed: int = 0
    recipe: str = "default"  # a key of the config's `recipes`
    arch_kwargs: dict = field(default_factory=dict)  # extra timm.create_model keyword arguments
    source_options: dict = field(default_factory=dict)  # e.g. a URL or a file path, per source
    variant: str = ""  # a name of the config's `variants`; "" is plain training from scratch
    init_from: str | None = None  # the id of the model whose weights this one starts from

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise ValueError(
                f"model id {self.id!r} is not wildcard-safe: use letters, digits and _ . + - (no '/' or spaces)"
            )

    @property
    def arch_name(self) -> str:
        """The architecture without a timm pretrained tag: resnet50.tv_in1k and resnet50 are one architecture."""
        return self.arch.split(".", 1)[0]

    @property
    def is_standard(self) -> bool:
        """Trained without adversarial examples (whatever the variant)."""
        return self.epsilon == 0

    @property
    def is_plain(self) -> bool:
        """No variant: the paper's standard and adversarially trained models, the pairings' members."""
        return self.variant == ""

    @property
    def on_the_ladder(self) -> bool:
        """A model of the paper's ε ladder (Table 1): plain, standard or l∞; the others are comparisons."""
        return self.is_plain and (self.is_standard or self.norm == "linf")

    @property
    def epsilon_label(self) -> str:
        return epsilon_label(self.epsilon, self.norm)

    @property
    def training_label(self) -> str:
        threat = "standard" if self.is_standard else f"{self.norm} {self.epsilon_label}"
        return f"{threat}, {self.variant}" if self.variant else threat

    def as_dict(self) -> dict:
        """The spec's fields; `variant` and `init_from` only when set, so that a plain model's spec (a
        job param) reads as it did before they existed and nothing reruns for them alone."""
        spec = asdict(self)
        for name in _OPTIONAL:
            if spec[name] == _OPTIONAL[name]:
                del spec[name]
        return spec


_OPTIONAL = {"variant": "", "init_from": None}


def default_model_id(arch: str, norm: str, epsilon: float, seed: int, variant: str = "") -> str:
    """`test_resnet-std-s0`, `test_resnet-linf8-s0`, `resnet50-l2eps3-s0`, `test_resnet-linf4-cutout-s0`:
    ids a grid expands to."""
    if epsilon == 0:
        threat = "std"
    else:
        value = epsilon * 255 if norm == "linf" else epsilon
        threat = f"{norm}{value:g}" if norm == "linf" else f"{norm}eps{value:g}"
    return f"{arch}-{threat}-{variant}-s{seed}" if variant else f"{arch}-{threat}-s{seed}"


def standard_and_strongest(specs: list[ModelSpec]) -> list[tuple[ModelSpec, ModelSpec]]:
    """Per (architecture, seed): the plain standard model and the plain l∞ model of the largest ε, the
    comparison of the paper's Tables 3 and 4 (a pruned or Cutout model is never one of them).
    Architectures without both are left out; timm tags are ignored, so resnet50.tv_in1k pairs with a
    robust resnet50 checkpoint."""
    plain = [m for m in specs if m.is_plain]
    pairs = []
    for std in (m for m in plain if m.is_standard):
        robust = [
            m
            for m in plain
            if m.arch_name == std.arch_name and m.seed == std.seed and m.norm == "linf" and not m.is_standard
        ]
        if robust:
            pairs.append((std, max(robust, key=lambda m: m.epsilon)))
    return pairs
