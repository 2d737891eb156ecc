"""The attribution engine against captum, the reference: the same maps from the same draws, maps that
do not depend on the batch size, passes that halve on out-of-memory."""

import numpy as np
import pytest
import torch
from captum.attr import GradientShap, InputXGradient, IntegratedGradients, Saliency
from captum.attr._utils.approximation_methods import approximation_parameters
from torch import nn

from ineqbench.attribution.compute import compute_attributions
from ineqbench.attribution.draws import ImageDraws
from ineqbench.attribution.passes import CPU_PASS_VALUES, PassRunner, pass_size, unit_sums
from ineqbench.attribution.quadrature import RULES, quadrature
from ineqbench.attribution.settings import METHOD_PRESETS, method_spec, resolve_methods
from ineqbench.models.wrapper import NormalizedClassifier

CPU = torch.device("cpu")
MEAN, STD = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]


def conv_model(seed: int = 0) -> NormalizedClassifier:
    """Convolutions, batch norm (eval) and a smooth activation: a map that is not linear in x."""
    torch.manual_seed(seed)
    backbone = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.SiLU(),
        nn.Conv2d(6, 8, 3, stride=2, padding=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 5),
    )
    model = NormalizedClassifier(backbone, mean=MEAN, std=STD)
    with torch.no_grad():  # non-trivial running statistics
        model.train()(torch.rand(64, 3, 8, 8))
    return model.eval()


def batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3, 8, 8), dtype=np.uint8), rng.integers(0, 5, size=n)


def ours(model, imgs, labels, spec, *, seed=0, batch_size=50, internal_batch_size=1000, pool_indices=None):
    return compute_attributions(
        model,
        imgs,
        labels,
        spec,
        seed=seed,
        batch_size=batch_size,
        internal_batch_size=internal_batch_size,
        device=CPU,
        pool_indices=pool_indices,
    )


def as_tensors(imgs, labels):
    return torch.from_numpy(imgs).float() / 255.0, torch.from_numpy(labels)


def close(a, b, atol=1e-5):
    a, b = (v.detach().numpy() if isinstance(v, torch.Tensor) else v for v in (a, b))
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=1e-4, atol=atol)


# --------------------------------------------------------------------------- quadrature


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n_steps", [2, 5, 20, 50])
def test_quadrature_is_captums(rule, n_steps):
    steps, alphas = approximation_parameters(rule)
    a, w = quadrature(rule, n_steps)
    np.testing.assert_allclose(a, alphas(n_steps), rtol=0, atol=1e-7)
    np.testing.assert_allclose(w, steps(n_steps), rtol=0, atol=1e-7)


def test_unknown_rule_is_refused_when_the_method_is_specified():
    with pytest.raises(ValueError, match="unknown integration rule 'simpson'; valid: riemann_left"):
        method_spec("m", "integrated_gradients", {"method": "simpson"})


# --------------------------------------------------------------------------- captum as the reference


@pytest.mark.parametrize("method_id", ["ig_zero", "ig_code"])
def test_deterministic_ig_equals_captum(method_id):
    model = conv_model()
    imgs, labels = batch(6)
    spec = resolve_methods([method_id], {})[method_id]
    attr, delta = ours(model, imgs, labels, spec, internal_batch_size=7)  # passes split the paths
    x, t = as_tensors(imgs, labels)
    baseline = torch.zeros_like(x) if spec.params["baseline"] == "zero" else model.mean.expand_as(x)
    expected, expected_delta = IntegratedGradients(model).attribute(
        x,
        baselines=baseline,
        target=t,
        n_steps=spec.params["n_steps"],
        method=spec.params["method"],
        return_convergence_delta=True,
    )
    close(attr, expected)
    close(delta, expected_delta)


def test_gaussian_baseline_ig_equals_captum_from_the_same_baselines():
    model = conv_model()
    imgs, labels = batch(5)
    spec = resolve_methods(["ig"], {})["ig"]
    pool = np.array([30, 2, 17, 4, 9])
    attr, delta = ours(model, imgs, labels, spec, seed=3, batch_size=2, pool_indices=pool)
    x, t = as_tensors(imgs, labels)
    draws = ImageDraws.for_pool(3, pool)  # the same per-image draws, drawn again
    baseline = model.mean + torch.cat([draws.normal(i, (1, 3, 8, 8)) * model.std for i in range(5)])
    expected, expected_delta = IntegratedGradients(model).attribute(
        x, baselines=baseline, target=t, n_steps=20, method="riemann_right", return_convergence_delta=True
    )
    close(attr, expected)
    close(delta, expected_delta)


@pytest.mark.parametrize("method_id", ["ixg", "gradient"])
def test_gradient_methods_equal_captum(method_id):
    model = conv_model()
    imgs, labels = batch(7)
    attr, _ = ours(model, imgs, labels, resolve_methods([method_id], {})[method_id], internal_batch_size=3)
    x, t = as_tensors(imgs, labels)
    explainer = InputXGradient(model) if method_id == "ixg" else Saliency(model)
    kwargs = {} if method_id == "ixg" else {"abs": False}
    close(attr, explainer.attribute(x, target=t, **kwargs))


def test_smoothgrad_equals_captums_saliency_averaged_over_the_same_noise():
    model = conv_model()
    imgs, labels = batch(4)
    spec = method_spec("sg", "smoothgrad", {"nt_samples": 6, "sigma": 0.2})
    attr, _ = ours(model, imgs, labels, spec, seed=1, internal_batch_size=5)
    x, t = as_tensors(imgs, labels)
    draws = ImageDraws.for_pool(1, range(4))
    saliency = Saliency(model)
    for i in range(4):
        noisy = x[i] + 0.2 * draws.normal(i, (6, 3, 8, 8))
        expected = saliency.attribute(noisy, target=int(t[i]), abs=False).mean(0)
        close(attr[i], expected)


def test_smoothgrad_sq_ig_equals_captums_ig_squared_over_the_same_noise():
    model = conv_model()
    imgs, labels = batch(3)
    params = {"nt_samples": 3, "sigma_normalised": 0.2, "n_steps": 6}
    attr, _ = ours(model, imgs, labels, method_spec("sq", "smoothgrad_sq_ig", params), seed=2, internal_batch_size=4)
    x, t = as_tensors(imgs, labels)
    draws = ImageDraws.for_pool(2, range(3))
    ig = IntegratedGradients(model.backbone)  # in normalised space, as the released code
    for i in range(3):
        z = ((x[i] - model.mean[0]) / model.std[0]).unsqueeze(0)
        maps = [
            ig.attribute(z + 0.2 * draws.normal(i, (1, 3, 8, 8)), target=int(t[i]), n_steps=6, method="gausslegendre")
            for _ in range(3)
        ]
        close(attr[i], torch.cat(maps).square().mean(0), atol=1e-6)


def test_gradient_shap_equals_the_expected_gradient_over_the_same_draws():
    model = conv_model()
    imgs, labels = batch(3)
    params = {"n_samples": 5, "stdevs_normalised": 0.1, "baseline": "zero_and_input"}
    attr, _ = ours(model, imgs, labels, method_spec("gs", "gradient_shap", params), seed=4, internal_batch_size=4)
    x, t = as_tensors(imgs, labels)
    draws = ImageDraws.for_pool(4, range(3))
    saliency = Saliency(model)
    for i in range(3):
        choices = torch.stack([torch.zeros_like(x[i]), x[i]])[draws.integers(i, 2, (5,))]
        noisy = x[i] + draws.normal(i, (5, 3, 8, 8)) * 0.1 * model.std
        alpha = draws.uniform(i, (5,)).view(-1, 1, 1, 1)
        grads = saliency.attribute(choices + alpha * (noisy - choices), target=int(t[i]), abs=False)
        close(attr[i], (grads * (noisy - choices)).mean(0))


def test_gradient_shap_converges_to_captums():
    """Same expectation as captum's GradientShap (its own random draws): with many samples both
    approach IG from the black baseline, and each other."""
    model = conv_model()
    imgs, labels = batch(2)
    spec = method_spec("gs", "gradient_shap", {"n_samples": 4000, "baseline": "zero"})
    attr, _ = ours(model, imgs, labels, spec)
    x, t = as_tensors(imgs, labels)
    torch.manual_seed(0)
    np.random.seed(0)
    reference = GradientShap(model).attribute(x, baselines=torch.zeros_like(x[:1]), target=t, n_samples=4000)
    scale = reference.abs().max().item()
    assert np.abs(attr - reference.numpy()).max() < 0.05 * scale
    ig = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=t, n_steps=200)
    assert np.abs(attr - ig.numpy()).max() < 0.05 * scale


# --------------------------------------------------------------------------- batch-size invariance


@pytest.mark.parametrize("method_id", sorted(METHOD_PRESETS))
def test_maps_do_not_depend_on_the_batch_size(method_id):
    kind, params = METHOD_PRESETS[method_id]
    cheap = {"n_steps": 4, "nt_samples": 3, "n_samples": 5}
    spec = method_spec(method_id, kind, {**params, **{k: v for k, v in cheap.items() if k in _defaults(kind)}})
    model = conv_model()
    imgs, labels = batch(50, seed=7)
    pool = np.random.default_rng(0).permutation(1000)[:50]
    runs = [ours(model, imgs, labels, spec, seed=5, batch_size=b, pool_indices=pool) for b in (1, 7, 50)]
    for attr, delta in runs[1:]:
        close(attr, runs[0][0])
        close(delta, runs[0][1])
    # and an image's map depends on its pool index, not on its position
    first, _ = ours(model, imgs[3:4], labels[3:4], spec, seed=5, pool_indices=pool[3:4])
    close(first[0], runs[0][0][3])


def _defaults(kind: str) -> dict:
    from ineqbench.attribution.settings import METHOD_KINDS

    return METHOD_KINDS.get(kind).defaults


# --------------------------------------------------------------------------- passes


def test_cpu_passes_are_capped_by_their_size_in_values():
    assert pass_size(1000, (3, 32, 32), CPU) == 1000
    assert pass_size(1000, (3, 224, 224), CPU) == CPU_PASS_VALUES // (3 * 224 * 224) == 27
    assert pass_size(64, (3, 224, 224), torch.device("cuda")) == 64  # a GPU takes the configured size


class RunsOutOfMemory(nn.Module):
    """A model that raises the out-of-memory error of a GPU above `limit` images per pass."""

    def __init__(self, model: nn.Module, limit: int):
        super().__init__()
        self.model, self.limit, self.sizes = model, limit, []

    def forward(self, x):
        self.sizes.append(len(x))
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(x)


def test_a_pass_that_runs_out_of_memory_is_halved_with_the_same_result(caplog):
    model = conv_model()
    x, t = as_tensors(*batch(6))
    alphas = torch.linspace(0.1, 1, 10).view(-1, 1, 1, 1)

    def unit(i):
        return alphas * x[i], torch.full((10, 1, 1, 1), 0.1)

    expected = unit_sums(PassRunner(model, 1000), 6, unit, t)
    flaky = RunsOutOfMemory(model, limit=8)
    runner = PassRunner(flaky, 60)
    close(unit_sums(runner, 6, unit, t), expected)
    assert runner.size == 8
    assert flaky.sizes[:4] == [60, 30, 15, 8] and max(flaky.sizes[4:]) <= 8  # no size that failed is tried again
    assert "out of memory in a pass of 60 points" in caplog.text


def test_other_errors_are_not_retried():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        PassRunner(Broken(), 8).gradients(torch.rand(4, 3, 8, 8), torch.zeros(4, dtype=torch.long))


# --------------------------------------------------------------------------- mixed precision


def test_mixed_precision_is_bfloat16_on_a_cpu_and_float32_otherwise():
    from ineqbench.attribution.passes import autocast_dtype

    assert autocast_dtype("float32", CPU) is None
    assert autocast_dtype("mixed", CPU) is torch.bfloat16
    with pytest.raises(ValueError, match="valid: float32, mixed"):
        autocast_dtype("half", CPU)


def test_mixed_precision_maps_are_float32_and_close_to_the_float32_maps():
    model = conv_model()
    imgs, labels = batch(8)
    spec = resolve_methods(["ig_zero"], {})["ig_zero"]
    full, _ = ours(model, imgs, labels, spec)
    mixed = compute_attributions(
        model, imgs, labels, spec, seed=0, batch_size=8, internal_batch_size=1000, device=CPU, precision="mixed"
    )[0]
    assert mixed.dtype == np.float32 and not np.array_equal(mixed, full)  # bfloat16 did run
    relative = np.linalg.norm((mixed - full).reshape(8, -1), axis=1) / np.linalg.norm(full.reshape(8, -1), axis=1)
    assert relative.max() < 0.05
