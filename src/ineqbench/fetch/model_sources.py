"""Where a model's weights come from, by name. Each source turns a spec into a checkpoint.

`train` trains on the spot on the data set's train split. The download sources write the same
safetensors + card pair through the `fetch_checkpoint` rule (a local rule: compute nodes often have no
internet) and the `evaluate_model` rule (clean and PGD accuracy, on the GPU). `check` runs when the
config is loaded, so a checkpoint that was never published fails before any job runs. Declared
without torch: the download code is imported when a fetch job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ineqbench.fetch import checks
from ineqbench.models.spec import ModelSpec
from ineqbench.registry import Lazy, Registry


def _no_check(spec: ModelSpec) -> None:
    return None


@dataclass(frozen=True)
class ModelSource:
    rule: str  # the Snakemake rule that produces this source's weights
    description: str
    needs_network: bool
    obtain: Callable | None = None  # (spec, download_dir) -> Obtained; None: produced by training
    check: Callable[[ModelSpec], None] = _no_check  # raises ValueError for a spec this source cannot serve


SOURCES: Registry[ModelSource] = Registry("model source")
SOURCES.add(
    "train",
    ModelSource(
        rule="train_model", description="trained on the spot from the data set's train split", needs_network=False
    ),
)
SOURCES.add(
    "robust_models_transfer",
    ModelSource(
        rule="fetch_checkpoint",
        needs_network=True,
        obtain=Lazy("ineqbench.fetch.sources:obtain_rmt"),
        check=checks.rmt_filename,
        description="Salman et al. 2020 ImageNet checkpoints (resnet18/50, wide_resnet50_2; l∞ 0.5-8/255, l2 0-5), "
        "Hugging Face mirror by default (source_options.base_url or url to change)",
    ),
)
SOURCES.add(
    "robustbench",
    ModelSource(
        rule="fetch_checkpoint",
        needs_network=True,
        obtain=Lazy("ineqbench.fetch.sources:obtain_robustbench"),
        check=checks.check_robustbench,
        description="a RobustBench model file by source_options name, dataset, threat_model (placed, or url)",
    ),
)
SOURCES.add(
    "timm_hub",
    ModelSource(
        rule="fetch_checkpoint",
        needs_network=True,
        obtain=Lazy("ineqbench.fetch.sources:obtain_timm_hub"),
        check=checks.check_timm_hub,
        description="timm pretrained weights by full arch.tag name, through huggingface_hub",
    ),
)
SOURCES.add(
    "url",
    ModelSource(
        rule="fetch_checkpoint",
        needs_network=True,
        obtain=Lazy("ineqbench.fetch.sources:obtain_url"),
        check=checks.check_url,
        description="any checkpoint by source_options.url (+ sha256, layout)",
    ),
)
SOURCES.add(
    "file",
    ModelSource(
        rule="fetch_checkpoint",
        needs_network=False,
        obtain=Lazy("ineqbench.fetch.sources:obtain_file"),
        check=checks.check_file,
        description="a local checkpoint by source_options.path (safetensors or torch pickle, + layout)",
    ),
)
