"""A data set's settings, without torch: one entry of the `datasets` config section."""

from __future__ import annotations

from dataclasses import MISSING, dataclass

from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting


@dataclass(frozen=True)
class OcclusionBudget:
    regions: int = setting(doc="N, the most regions occluded", minimum=1)
    radius: int = setting(doc="R, the largest patch half-size in pixels", minimum=1)


@dataclass(frozen=True)
class DatasetSection:
    """One data set: its builder, the candidate pool, N of the tables and the regional grid."""

    builder: str = setting(doc="a name in ineqbench.data.DATASETS")
    options: dict = setting({}, "keyword arguments of the builder")
    pool_size: int = setting(500, "seeded candidate images drawn from the test split", minimum=1)
    n_images: int = setting(200, "N of the tables: first N pool images correct for every model of the table", minimum=1)
    region_size: int = setting(4, "block side of the regional Gini, pixels", minimum=1)
    eval_epsilons: list[float | str] = setting([], "l∞ radii of the PGD robust accuracy recorded in every model card")
    eval_l2_epsilons: list[float | str] = setting(
        [], "l2 radii of that accuracy (pixel units, e.g. 0.5 at 32 px); an AT model's own norm and ε are always added"
    )
    eval_pgd_steps: int = setting(10, "PGD steps of that robust accuracy", minimum=1)
    eval_images: int = setting(500, "test images of the clean and robust accuracy in the model cards", minimum=1)
    occlusion_budgets: list[OcclusionBudget] | None = setting(
        None,
        "(N, R) budgets of the occlusion attack; null: the paper's, N=5,R=10 and N=10,R=20 from 64 px up, "
        "N=10,R=4 below",
        minItems=1,
    )


CONFIG_SECTIONS.add(
    "datasets", ConfigSection(dict[str, DatasetSection], default=MISSING, keywords={"minProperties": 1})
)
