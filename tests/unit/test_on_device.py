"""The per-model stages on a GPU give what they give on the CPU: the bound stage (Lanczos, attacks,
bounds), adversarial training and the attacks' job path. Skipped where there is no GPU (CI); the GPU
machine runs them (docs/testing.md, "On a GPU"). The job-level tests elsewhere (attribute, every attack
family, transfer) pick the GPU by themselves there through `select_device`.

Tolerances: the GPU runs IEEE float32 (no TF32, `ineqbench.device`) but sums in other orders, so floats
agree to about 1e-4, not bit for bit; decisions (predictions, successes) are compared on a linear model
where no near-tie can flip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ineqbench.attacks.inputs import AttackInputs
from ineqbench.attacks.noise import NoiseSettings, noise_attack
from ineqbench.attacks.settings import AttackContext
from ineqbench.attribution.compute import compute_attributions
from ineqbench.attribution.methods import resolve_methods
from ineqbench.bounds.job import bound_images, prepare_networks
from ineqbench.device import select_device
from ineqbench.models.architectures import build_classifier
from ineqbench.models.spec import ModelSpec
from ineqbench.models.training import TrainingRecipe, train_classifier
from tests.helpers.networks import MEAN, STD, conv_net
from tests.unit.bounds.test_job import settings

GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
CPU = torch.device("cpu")
CUDA = select_device() if torch.cuda.is_available() else None  # as a job picks it: IEEE float32, no TF32


def _images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@GPU
def test_the_bound_stage_on_the_gpu_matches_the_cpu():
    images = _images(2, (3, 8, 8))
    # a fixed baseline: random draws are made on the model's device, so a CPU and a GPU draw differently
    spec = resolve_methods(["ig8"], {"ig8": {"kind": "integrated_gradients", "n_steps": 8, "baseline": "zero"}})

    def rows(device):
        nets = prepare_networks(conv_net(nn.ReLU).to(device), beta=10.0)
        options = settings(attacks=["pgd_attribution_l2distance", "sensitivity_max"])
        return bound_images(nets, spec.get("ig8"), images, np.array([0, 1]), np.array([4, 9]), options, 4, device)

    cpu, gpu = rows(CPU), rows(CUDA)
    assert cpu[["pool_index", "norm", "epsilon", "attack", "prediction"]].equals(
        gpu[["pool_index", "norm", "epsilon", "attack", "prediction"]]
    )
    for column in ("sigma_max", "bound_first_order", "attribution_norm", "gini_global"):
        np.testing.assert_allclose(gpu[column], cpu[column], rtol=2e-3, err_msg=column)
    # the practical bound also takes σ_max at the strongest attack's point, which each device finds anew
    assert (gpu["bound_practical"] >= gpu["bound_first_order"]).all()
    assert np.isfinite(gpu["deviation"]).all() and (gpu["deviation"] >= 0).all()


@GPU
def test_adversarial_training_on_the_gpu_follows_the_cpu():
    images, labels = _images(32, (3, 16, 16)), np.arange(32) % 3
    recipe = TrainingRecipe(epochs=2, batch_size=8, lr=0.01, pgd_steps=2, eps_warmup_epochs=1)

    def history(device):
        model = build_classifier(ModelSpec(id="m", dataset="tiny", arch="test_resnet", seed=0), 3, MEAN, STD)
        return pd.DataFrame(
            train_classifier(
                model.to(device), images, labels, recipe=recipe, norm="linf", epsilon=2 / 255, seed=0, device=device
            )
        )

    cpu, gpu = history(CPU), history(CUDA)
    assert len(gpu) == len(cpu) == 2
    # PGD's sign steps amplify reordered sums: the losses were 1.9% apart by epoch 2 on an H200
    np.testing.assert_allclose(gpu["loss"], cpu["loss"], rtol=5e-2)


@GPU
def test_the_noise_attack_on_the_gpu_decides_as_on_the_cpu():
    images = _images(12, (3, 8, 8))
    maps = np.random.default_rng(1).standard_normal(images.shape).astype(np.float32)
    context = AttackContext(region_size=4, budgets=({"regions": 2, "radius": 2},), noise_budget="1/16")

    def rows(device):
        model = conv_net(None).to(device)  # a linear classifier: no near-tie for reordered sums to flip
        with torch.no_grad():
            labels = model(torch.from_numpy(images).float().to(device) / 255).argmax(1).cpu().numpy()
        inputs = AttackInputs(model, np.arange(12), images, labels, maps, device)
        found = noise_attack(inputs, NoiseSettings(seed=3, budgets=[3, "1/16"], batch_size=5), context)
        return found.sort_values(list(found.columns[:4])).reset_index(drop=True)

    cpu, gpu = rows(CPU), rows(CUDA)
    decisions = [c for c in cpu.columns if cpu[c].dtype == bool or c in ("prediction", "k")]
    assert decisions and cpu[decisions].equals(gpu[decisions])
    np.testing.assert_allclose(gpu["margin"], cpu["margin"], rtol=1e-3, atol=1e-4)


@GPU
def test_attributions_on_the_gpu_match_the_cpu_and_repeat_within_float_noise():
    images, labels = _images(6, (3, 16, 16)), np.arange(6) % 3
    model = build_classifier(ModelSpec(id="m", dataset="tiny", arch="test_resnet", seed=0), 3, MEAN, STD).eval()
    specs = resolve_methods(["ig_zero", "sg"], {"sg": {"kind": "smoothgrad", "nt_samples": 4}})
    ig_zero, smoothgrad = specs.get("ig_zero"), specs.get("sg")

    def maps(spec, device):
        found, _ = compute_attributions(
            model.to(device), images, labels, spec, seed=1, batch_size=4, internal_batch_size=64, device=device
        )
        return found

    np.testing.assert_allclose(maps(ig_zero, CUDA), maps(ig_zero, CPU), rtol=1e-3, atol=1e-7)
    # the same GPU draws twice: equal up to the reordered sums of atomics-based backward kernels
    np.testing.assert_allclose(maps(smoothgrad, CUDA), maps(smoothgrad, CUDA), rtol=1e-4, atol=1e-8)


@GPU
def test_autoattack_on_the_gpu_decides_like_the_cpu():
    from ineqbench.models.autoattack import autoattack_accuracy
    from ineqbench.models.settings import AutoAttackSettings

    images = np.random.default_rng(0).integers(100, 156, (40, 3, 8, 8), dtype=np.uint8)
    labels = np.random.default_rng(1).integers(0, 5, 40)
    settings = AutoAttackSettings(attacks=["apgd-ce", "apgd-t"], n_target_classes=2, n_images=40)

    def run(device):
        model = conv_net(None, classes=5).to(device)  # linear: no near-tie flips a decision between devices
        return autoattack_accuracy(
            model, images, labels, norm="linf", epsilon=4 / 255, settings=settings, seed=0, device=device
        )

    assert run(CUDA) == run(CPU)


@GPU
def test_the_sigma_ascent_step_on_the_gpu_matches_the_cpu():
    from ineqbench.bounds.differentiable import attribution_map
    from ineqbench.bounds.spectral import sigma_max
    from ineqbench.bounds.sup_sigma import sigma_gradient

    x = torch.from_numpy(_images(1, (3, 8, 8))[0]).float() / 255

    def step(device):
        attribution = attribution_map("gradient", conv_net(nn.Softplus).to(device), 0)
        z = x.to(device)
        estimate = sigma_max("lanczos", attribution, z, max_iters=40, tol=1e-8)
        return estimate.sigma_max, sigma_gradient(attribution, z, estimate.vector).cpu()

    (s_cpu, g_cpu), (s_gpu, g_gpu) = step(CPU), step(CUDA)
    assert s_gpu == pytest.approx(s_cpu, rel=1e-4)
    torch.testing.assert_close(g_gpu, g_cpu, rtol=1e-3, atol=1e-4 * float(g_cpu.abs().max()))


@GPU
def test_a_pruned_model_fine_tuned_on_the_gpu_keeps_its_sparsity():
    from ineqbench.models.settings import PRUNING
    from ineqbench.models.variants import make_permanent, sparsity

    model = build_classifier(ModelSpec(id="m", dataset="d", arch="test_resnet"), 3, MEAN, STD).to(CUDA)
    PRUNING.get("l1_filter")(model, 0.6)
    rng = np.random.default_rng(0)
    train_classifier(
        model, _images(32, (3, 16, 16)), rng.integers(0, 3, 32), recipe=TrainingRecipe(epochs=2, batch_size=8),
        norm="linf", epsilon=0.0, seed=0, device=CUDA, cutout=0.5,
    )  # fmt: skip
    make_permanent(model)
    assert sparsity(model)["filters"] == pytest.approx(0.6, abs=0.03)
