"""The paper's three ImageNet architectures load from robust-models-transfer files of the real size and
format (random weights, 1000 classes, both model copies and the normaliser in the file), served from
127.0.0.1: the key names of torchvision's checkpoints fit timm's architectures exactly."""

from __future__ import annotations

import pytest
import timm
import torch

from ineqbench.fetch.sources import IMAGENET_MEAN, IMAGENET_STD, rmt_filename
from ineqbench.io import write_json
from ineqbench.models.spec import ModelSpec
from tests.helpers.checkpoints import fetch, rmt_checkpoint, same_logits
from tests.helpers.loopback import LoopbackServer


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "wide_resnet50_2"])
def test_published_architecture_loads_with_the_sources_logits(tmp_path, arch):
    torch.manual_seed(0)
    network = timm.create_model(arch, num_classes=1000).eval()
    info = tmp_path / "dataset.json"
    write_json(
        info,
        {
            "class_names": [str(i) for i in range(1000)],
            "image_shape": [3, 32, 32],
            "train_pixel_mean": [0.5] * 3,
            "train_pixel_std": [0.25] * 3,
        },
    )
    fields = dict(arch=arch, source="robust_models_transfer", norm="linf", epsilon=8 / 255)
    name = rmt_filename(ModelSpec(id="m", dataset="d", **fields))
    payload = tmp_path / name
    torch.save(rmt_checkpoint(network), payload)
    with LoopbackServer() as server:
        server.add(name, payload.read_bytes())
        payload.unlink()
        loaded, record = fetch(tmp_path, info, **fields, source_options={"base_url": server.url("")})
    same_logits(loaded, network, IMAGENET_MEAN, IMAGENET_STD)
    assert record["n_parameters"] == sum(p.numel() for p in network.parameters())
