"""The `fetch` config section, without torch."""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting


@dataclass(frozen=True)
class FetchSection:
    """Where downloaded checkpoints are kept."""

    download_dir: str = setting(
        "resources/checkpoints",
        "downloaded and converted checkpoints, outside results/ so that deleting results never downloads again",
    )


CONFIG_SECTIONS.add("fetch", ConfigSection(FetchSection))
