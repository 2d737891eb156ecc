"""The inequality stage's settings, without torch: the `inequality` config section and the names of
the transforms (added, with their code, in `ineqbench.inequality.transforms`)."""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.registry import Registry
from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting

TRANSFORMS = Registry("inequality transform")
for _name in ("abs", "relu"):
    TRANSFORMS.declare(_name, "ineqbench.inequality.transforms")


@dataclass(frozen=True)
class PerClassSection:
    """Per-class inequality (Duan et al. A.7): over which images its class means are taken."""

    images: str = setting(
        "pool",
        "pool: the candidate pool's images (their cached maps); all: the whole test split, attributed and "
        "scored as the maps go by, a shard at a time (A.7: all 50,000 ImageNet validation images)",
        enum=["pool", "all"],
    )
    shard_images: int = setting(1000, "images per shard of the all-images scoring (its unit of resume)", minimum=1)


@dataclass(frozen=True)
class InequalitySection:
    """The Gini index of the attribution maps, global and regional (Duan et al. 3.1)."""

    transforms: list[str] = setting(
        ["abs"], "how a signed map becomes the Gini's population: abs (paper) or relu (released code)", minItems=1
    )
    per_class: PerClassSection = setting(PerClassSection(), "per-class inequality (A.7, Tables 6 and 7)")


CONFIG_SECTIONS.add("inequality", ConfigSection(InequalitySection))
