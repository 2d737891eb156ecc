"""The comparison families, without pandas or torch: which models belong to each (decided when the DAG
is built, from the specs and the variants), its title and the paper's finding it tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ineqbench.models.settings import Variant
from ineqbench.models.spec import ModelSpec
from ineqbench.registry import Registry


@dataclass(frozen=True)
class Family:
    title: str
    finding: str  # the paper's claim, in its words where they were recovered
    is_member: Callable[[ModelSpec, Variant], bool]
    shows_sparsity: bool = False


FAMILIES: Registry[Family] = Registry("comparison family")
FAMILIES.add(
    "l2",
    Family(
        "l2 adversarial training (Duan et al. A.5)",
        "l2-trained models are as equal as standard ones or more, yet more vulnerable to occlusion",
        lambda spec, variant: spec.is_plain and spec.norm == "l2" and not spec.is_standard,
    ),
)
FAMILIES.add(
    "sparsity",
    Family(
        "sparsity from pruning, fine-tuned from the standard model (Duan et al. A.6)",
        "pruned models show no inequality and are less vulnerable than l∞ models",
        # every fine-tuned standard model: the pruned ones and their comparator, fine-tuned the same way
        lambda spec, variant: spec.is_standard and spec.init_from is not None,
        shows_sparsity=True,
    ),
)
FAMILIES.add(
    "cutout",
    Family(
        "Cutout with l∞ adversarial training (Duan et al. A.9, Table 8)",
        "Cutout slightly lowers the inequality of l∞ adversarial training",
        lambda spec, variant: variant.cutout > 0,
    ),
)


def family_models(specs: list[ModelSpec], variants: dict[str, Variant]) -> dict[str, list[str]]:
    """{family: model ids} for every family with a member: its members and, per architecture of a member,
    the plain models of that architecture (the standard and l∞ references), in config order."""
    found = {}
    for name in FAMILIES:
        family = FAMILIES.get(name)
        members = [s for s in specs if family.is_member(s, variants.get(s.variant, Variant()))]
        archs = {s.arch for s in members}
        references = [s for s in specs if s.arch in archs and s.is_plain and (s.is_standard or s.norm == "linf")]
        chosen = {s.id for s in members + references}
        if members:
            found[name] = [s.id for s in specs if s.id in chosen]
    return found
