"""The comparison families' variants on tiny models: Cutout masks one square of the stated side per image
with the mean pixel; pruning reaches its sparsity, removes what it claims to (the smallest filters or
weights), keeps it through fine-tuning, and leaves a checkpoint that loads like any other."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ineqbench.io import read_json, sha256_file
from ineqbench.models.architectures import build_classifier
from ineqbench.models.checkpoint import load_model
from ineqbench.models.settings import PRUNING
from ineqbench.models.spec import ModelSpec
from ineqbench.models.train_job import train_model
from ineqbench.models.training import TrainingRecipe, train_classifier
from ineqbench.models.variants import cutout, make_permanent, sparsity
from tests.unit.models.test_training_resume import SPEC, data, on_the_cpu  # noqa: F401 (fixtures)

STANDARD = ModelSpec(id="tiny-std-s0", dataset="tiny", arch="test_resnet")


def tiny_resnet() -> nn.Module:
    return build_classifier(STANDARD, 3, [0.5] * 3, [0.25] * 3).eval()


def test_cutout_fills_one_square_of_the_stated_side_with_the_fill_and_nothing_else():
    x = torch.rand(2000, 3, 8, 8)
    fill = torch.tensor([2.0, 3.0, 4.0])  # outside [0, 1]: a filled pixel cannot be mistaken for the image
    out = cutout(x, 0.5, fill, torch.Generator().manual_seed(0))
    filled = (out == fill.view(1, 3, 1, 1)).all(dim=1)  # (N, H, W)
    assert torch.equal(out[~filled.unsqueeze(1).expand_as(out)], x[~filled.unsqueeze(1).expand_as(x)])
    for mask in filled:
        rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
        assert mask.sum() == len(rows) * len(cols)  # one axis-aligned rectangle
        assert len(rows) <= 4 and len(cols) <= 4  # side 0.5 x 8 px, clipped where it hangs over the border
    # centres uniform over the image: the whole square fits when the centre is 2..6 on both axes, (5/8)²
    whole = filled.flatten(1).sum(dim=1) == 16
    assert whole.float().mean() == pytest.approx(25 / 64, abs=0.04)


def test_training_with_cutout_shows_the_network_squares_of_the_mean_pixel():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 3, 8, 8), dtype=np.uint8)
    mean = torch.from_numpy(images).float().div(255).mean(dim=(0, 2, 3))
    seen = []
    model = tiny_resnet()
    model.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    recipe = TrainingRecipe(epochs=1, batch_size=16, crop_padding=0, horizontal_flip=False)
    train_classifier(
        model, images, rng.integers(0, 3, 16), recipe=recipe, norm="linf", epsilon=0.0, seed=0,
        device=torch.device("cpu"), cutout=0.5,
    )  # fmt: skip
    filled = (seen[0] == mean.view(1, 3, 1, 1)).all(dim=1).flatten(1).sum(dim=1)
    assert (filled > 0).all() and (filled <= 16).all()


@pytest.mark.parametrize("amount", [0.3, 0.6])
def test_l1_filter_pruning_switches_off_the_smallest_filters_of_every_convolution(amount):
    model = tiny_resnet()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    l1 = [c.weight.detach().abs().flatten(1).sum(dim=1) for c in convs]
    keys = set(model.state_dict())
    PRUNING.get("l1_filter")(model, amount)
    make_permanent(model)
    assert set(model.state_dict()) == keys  # a plain state dict: the checkpoint loads like any other
    for conv, norms in zip(convs, l1):
        zero = conv.weight.flatten(1).abs().amax(dim=1) == 0
        assert zero.sum() == round(amount * conv.out_channels)
        assert norms[zero].max() <= norms[~zero].min()  # the smallest l1 norms went
    assert sparsity(model)["filters"] == pytest.approx(amount, abs=0.03)
    # a removed filter's channel is zero after its batch norm too, not a constant
    stem_conv, bn = model.backbone.conv1[0], model.backbone.conv1[1]
    off = stem_conv.weight.flatten(1).abs().amax(dim=1) == 0
    assert (bn.weight[off] == 0).all() and (bn.bias[off] == 0).all()


@pytest.mark.parametrize("amount", [0.5, 0.9])
def test_magnitude_pruning_removes_the_smallest_weights_across_layers(amount):
    model = tiny_resnet()
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    before = torch.cat([m.weight.detach().abs().flatten() for m in layers])
    PRUNING.get("magnitude")(model, amount)
    make_permanent(model)
    after = torch.cat([m.weight.detach().flatten() for m in layers])
    assert sparsity(model)["weights"] == pytest.approx(amount, abs=1e-3)
    assert before[after == 0].max() <= before[after != 0].min()


def test_a_pruned_and_fine_tuned_model_keeps_its_sparsity_and_loads_like_any_other(data, tmp_path):  # noqa: F811
    recipe = TrainingRecipe(epochs=2, batch_size=8, lr=0.01).as_dict()
    parent = {**SPEC, "id": "tiny-std-s0", "epsilon": 0.0}
    paths = {"train_path": data["train"], "test_path": data["test"], "info_path": data["info"]}
    train_model(spec=parent, recipe=recipe, weights_path=str(tmp_path / "p.safetensors"),
                record_path=str(tmp_path / "p.json"), **paths)  # fmt: skip
    child = ModelSpec(
        **{**parent, "id": "tiny-std-prune_weights_90-s0"}, variant="prune_weights_90", init_from="tiny-std-s0"
    )
    variant = {"prune": "magnitude", "amount": 0.9, "cutout": 0.0}
    train_model(
        spec=child.as_dict(), recipe={**recipe, "variant": variant}, weights_path=str(tmp_path / "c.safetensors"),
        record_path=str(tmp_path / "c.json"), init_weights_path=str(tmp_path / "p.safetensors"), **paths,
    )  # fmt: skip
    record = read_json(tmp_path / "c.json")
    assert record["sparsity"]["weights"] == pytest.approx(0.9, abs=1e-3)  # measured after two epochs of fine-tuning
    assert record["init_from"] == {"id": "tiny-std-s0", "weights_sha256": sha256_file(tmp_path / "p.safetensors")}
    assert read_json(tmp_path / "p.json")["sparsity"]["weights"] == 0
    model = load_model(tmp_path / "c.safetensors", tmp_path / "c.json")
    assert sparsity(model)["weights"] == pytest.approx(0.9, abs=1e-3)


def test_a_fine_tuning_of_one_short_epoch_trains():
    """Four steps in all: the learning-rate schedule's warm-up still has steps to rise over."""
    rng = np.random.default_rng(0)
    history = train_classifier(
        tiny_resnet(), rng.integers(0, 256, (32, 3, 8, 8), dtype=np.uint8), rng.integers(0, 3, 32),
        recipe=TrainingRecipe(epochs=1, batch_size=8), norm="linf", epsilon=0.0, seed=0, device=torch.device("cpu"),
    )  # fmt: skip
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
