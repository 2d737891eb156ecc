"""The `fetch_checkpoint` stage for published weights.

fetch_checkpoint (a local rule, on a node with internet): get the file through the spec's source,
read it untrusted, load it into the architecture with strict key and shape checks, and write the
suite's checkpoint (safetensors of the wrapped classifier) plus a fetch record. A wrong architecture,
class count or layout fails here, on the login node, not in a GPU job.

The model card is then made by `evaluate_model` (ineqbench.models.train_job), as for a trained model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from ineqbench.fetch.model_sources import SOURCES
from ineqbench.io import read_json, sha256_file
from ineqbench.models.architectures import build_classifier
from ineqbench.models.checkpoint import save_checkpoint
from ineqbench.models.spec import ModelSpec
from ineqbench.provenance import provenance

log = logging.getLogger(__name__)


def load_strictly(backbone: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """load_state_dict(strict=True), with a message that says what differs and what to try."""
    own = backbone.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if own[k].shape != state[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{len(missing)} missing (e.g. {missing[:4]})" if missing else "",
            f"{len(unexpected)} unexpected (e.g. {unexpected[:4]})" if unexpected else "",
            f"{len(shapes)} of another shape (e.g. {shapes[:2]})" if shapes else "",
        ]
        raise ValueError(
            f"{what}: the weights do not fit the architecture: {'; '.join(p for p in parts if p)}. "
            "Check the spec's arch (and arch_kwargs), the data set's class count, and "
            "source_options.layout"
        )
    backbone.load_state_dict(state, strict=True)


def fetch_checkpoint(*, spec: dict, info_path: str, download_dir: str, weights_path: str, record_path: str) -> None:
    model_spec = ModelSpec(**spec)
    source = SOURCES.get(model_spec.source)
    info = read_json(info_path)
    obtained = source.obtain(model_spec, Path(download_dir))
    options = model_spec.source_options

    def normalisation(key: str) -> list[float]:
        # config first, then the file, then the source's convention, then the data set's statistics
        return [
            float(v)
            for v in (
                options.get(key)
                or getattr(obtained.weights, key)
                or getattr(obtained, key)
                or info[f"train_pixel_{key}"]
            )
        ]

    mean, std = normalisation("mean"), normalisation("std")
    model = build_classifier(model_spec, len(info["class_names"]), mean, std)
    load_strictly(model.backbone, obtained.weights.state, f"model {model_spec.id} ({model_spec.arch})")
    record = {
        "spec": spec,
        "num_classes": len(info["class_names"]),
        "class_names": info["class_names"],
        "image_shape": info["image_shape"],
        "mean": mean,
        "std": std,
        "fetch": obtained.record,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "provenance": provenance({"spec": spec}, seed=model_spec.seed),
    }
    save_checkpoint(model, weights_path, record, record_path)
    log.info(
        "%s: %s weights (%s) -> %s, sha256 %s",
        model_spec.id,
        model_spec.source,
        obtained.record.get("layout", "timm"),
        weights_path,
        sha256_file(weights_path)[:16],
    )
