"""Where a model's weights come from, by name. Each source turns a spec into a checkpoint.

`train` trains on the spot (embedded data). Download sources (robust-models-transfer, RobustBench,
timm hub, local files) register here too, writing the same safetensors + card pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.registry import Registry


@dataclass(frozen=True)
class ModelSource:
    rule: str  # the Snakemake rule that produces this source's checkpoints
    description: str
    needs_network: bool


SOURCES: Registry[ModelSource] = Registry("model source")
SOURCES.add("train", ModelSource(rule="train_model", description="trained on the spot from the data set's train split",
                                 needs_network=False))

