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
class InequalitySection:
    """The Gini index of the attribution maps, global and regional (Duan et al. 3.1)."""

    transforms: list[str] = setting(
        ["abs"], "how a signed map becomes the Gini's population: abs (paper) or relu (released code)", minItems=1
    )


CONFIG_SECTIONS.add("inequality", ConfigSection(InequalitySection))
