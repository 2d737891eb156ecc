"""The `report` config section, without torch."""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting


@dataclass(frozen=True)
class ReportSection:
    """What the tables and figures show."""

    figure_images: int = setting(3, "images per example figure", minimum=1)
    bootstrap_samples: int = setting(2000, "bootstrap resamples of every interval", minimum=100)
    table_method: str = setting("ig", "the attribution method of the main tables")


CONFIG_SECTIONS.add("report", ConfigSection(ReportSection))
