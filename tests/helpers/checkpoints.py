"""Checkpoints in the published formats and the fetch of one, for the fetch tests and the paper configs."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch

from ineqbench.fetch.job import fetch_checkpoint
from ineqbench.fetch.sources import IMAGENET_MEAN, IMAGENET_STD
from ineqbench.io import read_json
from ineqbench.models.checkpoint import load_model
from ineqbench.models.spec import ModelSpec


def rmt_checkpoint(network: torch.nn.Module, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> dict:
    """What MadryLab `robustness` saves: the AttackerModel's state dict under `model`, plus training state."""
    state = OrderedDict()
    for prefix in ("module.model.", "module.attacker.model."):
        state.update({prefix + k: v.clone() for k, v in network.state_dict().items()})
    for prefix in ("module.normalizer.", "module.attacker.normalize."):
        state[prefix + "new_mean"] = torch.tensor(mean).view(3, 1, 1)
        state[prefix + "new_std"] = torch.tensor(std).view(3, 1, 1)
    return {"model": state, "epoch": 90, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}


def fetch(tmp_path: Path, info: Path, **spec_fields) -> tuple[torch.nn.Module, dict]:
    spec = ModelSpec(id=spec_fields.pop("id", "m"), dataset="d", **spec_fields)
    weights, record = tmp_path / "out" / "m.safetensors", tmp_path / "out" / "m.json"
    fetch_checkpoint(
        spec=spec.as_dict(),
        info_path=str(info),
        download_dir=str(tmp_path / "downloads"),
        weights_path=str(weights),
        record_path=str(record),
    )
    return load_model(weights, record), read_json(record)


def same_logits(loaded: torch.nn.Module, network: torch.nn.Module, mean, std) -> None:
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), network((x - m) / s), rtol=0, atol=1e-5)
