"""Attribution methods: exactness properties, determinism, the preset registry and resolve_methods."""

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn

from ineqbench.attribution.compute import compute_attributions
from ineqbench.attribution.settings import (
    METHOD_KINDS,
    METHOD_PRESETS,
    MethodSpec,
    method_spec,
    resolve_methods,
)
from ineqbench.models.wrapper import NormalizedClassifier

CPU = torch.device("cpu")
MEAN = [0.4, 0.5, 0.6]
STD = [0.2, 0.25, 0.3]


def smooth_model(seed: int = 0, mean=(0.5,) * 3, std=(0.25,) * 3) -> NormalizedClassifier:
    torch.manual_seed(seed)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16), nn.Tanh(), nn.Linear(16, 4))
    return NormalizedClassifier(backbone, mean=list(mean), std=list(std)).eval()


def linear_model(seed: int = 0) -> NormalizedClassifier:
    torch.manual_seed(seed)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
    return NormalizedClassifier(backbone, mean=MEAN, std=STD).eval()


def images(n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3, 8, 8), dtype=np.uint8), rng.integers(0, 4, size=n)


def attribute(model, imgs, labels, spec, *, seed=0, batch_size=2, internal_batch_size=1000):
    return compute_attributions(
        model, imgs, labels, spec, seed=seed, batch_size=batch_size, internal_batch_size=internal_batch_size, device=CPU
    )


def logit_gap(model, x: torch.Tensor, baseline: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    idx = torch.arange(len(x)), torch.from_numpy(labels)
    with torch.no_grad():
        return (model(x)[idx] - model(baseline)[idx]).double().numpy()


def pixels(imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(imgs).float() / 255.0


# --------------------------------------------------------------------------- Integrated Gradients


def test_ig_completeness_with_many_steps():
    model = smooth_model()
    imgs, labels = images()
    spec = method_spec("ig_hi", "integrated_gradients", {"n_steps": 200, "baseline": "zero"})
    attr, delta = attribute(model, imgs, labels, spec)
    x = pixels(imgs)
    gap = logit_gap(model, x, torch.zeros_like(x), labels)
    sums = attr.reshape(len(attr), -1).astype(np.float64).sum(1)
    assert np.all(np.abs(sums - gap) <= np.abs(delta) + 1e-5)
    assert np.all(np.abs(delta) < 1e-2)
    # the gap is not trivially zero, so completeness says something
    assert np.all(np.abs(gap) > 1e-2)


def test_ig_recorded_delta_is_sum_minus_logit_gap_for_the_zero_baseline_preset():
    model = smooth_model()
    imgs, labels = images()
    spec = resolve_methods(["ig_zero"], {})["ig_zero"]
    assert spec.params == {
        "n_steps": 20,
        "method": "riemann_right",
        "baseline": "zero",
        "baseline_sigma_normalised": 1.0,
    }
    attr, delta = attribute(model, imgs, labels, spec)
    assert delta.dtype == np.float32 and delta.shape == (3,)
    x = pixels(imgs)
    expected = attr.reshape(3, -1).astype(np.float64).sum(1) - logit_gap(model, x, torch.zeros_like(x), labels)
    np.testing.assert_allclose(delta, expected, rtol=0, atol=1e-6)
    # 20 right-Riemann steps leave a visible error that 200 steps shrink
    hi = method_spec("ig_hi", "integrated_gradients", {"n_steps": 200, "baseline": "zero"})
    _, delta_hi = attribute(model, imgs, labels, hi)
    assert np.abs(delta_hi).sum() < np.abs(delta).sum()


def test_ig_mean_baseline_is_the_normalisation_mean():
    model = smooth_model(mean=MEAN, std=STD)
    imgs, labels = images()
    spec = method_spec("ig_mean", "integrated_gradients", {"n_steps": 50, "baseline": "mean"})
    attr, delta = attribute(model, imgs, labels, spec)
    x = pixels(imgs)
    baseline = torch.tensor(MEAN).view(1, 3, 1, 1).expand_as(x)
    expected = attr.reshape(3, -1).astype(np.float64).sum(1) - logit_gap(model, x, baseline, labels)
    np.testing.assert_allclose(delta, expected, rtol=0, atol=1e-6)


def test_ig_pixel_space_equals_backbone_ig_in_normalised_space():
    """The module docstring's invariance claim: IG of the wrapper in pixels = IG of the backbone in
    z = (x - mean) / std with the baseline mapped the same way."""
    model = smooth_model(mean=MEAN, std=STD)
    imgs, labels = images(4, seed=5)
    x = pixels(imgs)
    target = torch.from_numpy(labels)
    mean, std = model.mean, model.std
    gen = torch.Generator().manual_seed(7)
    for baseline in (torch.zeros_like(x), torch.rand(x.shape, generator=gen)):
        pixel_attr = IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=30)
        z_attr = IntegratedGradients(model.backbone).attribute(
            (x - mean) / std, baselines=(baseline - mean) / std, target=target, n_steps=30
        )
        torch.testing.assert_close(pixel_attr, z_attr, rtol=0, atol=1e-5)
        assert pixel_attr.abs().max() > 1e-3


def test_gaussian_baseline_ig_is_seeded():
    model = smooth_model()
    imgs, labels = images()
    spec = resolve_methods(["ig"], {})["ig"]
    assert spec.params["baseline"] == "gaussian" and spec.stochastic
    a1, d1 = attribute(model, imgs, labels, spec, seed=3)
    a2, d2 = attribute(model, imgs, labels, spec, seed=3)
    a3, _ = attribute(model, imgs, labels, spec, seed=4)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(d1, d2)
    assert np.abs(a1 - a3).max() > 1e-4


def test_gaussian_baseline_differs_from_zero_baseline():
    model = smooth_model()
    imgs, labels = images()
    gauss, _ = attribute(model, imgs, labels, resolve_methods(["ig"], {})["ig"])
    zero, _ = attribute(model, imgs, labels, resolve_methods(["ig_zero"], {})["ig_zero"])
    assert np.abs(gauss - zero).max() > 1e-4


def test_batching_of_a_deterministic_method_does_not_change_the_maps():
    model = smooth_model()
    imgs, labels = images(5)
    spec = resolve_methods(["ig_zero"], {})["ig_zero"]
    a1, d1 = attribute(model, imgs, labels, spec, batch_size=1)
    a5, d5 = attribute(model, imgs, labels, spec, batch_size=5)
    np.testing.assert_allclose(a1, a5, rtol=0, atol=1e-6)
    np.testing.assert_allclose(d1, d5, rtol=0, atol=1e-6)


def test_attributions_are_for_the_given_labels():
    model = smooth_model()
    imgs, labels = images()
    spec = resolve_methods(["ixg"], {})["ixg"]
    a, _ = attribute(model, imgs, labels, spec)
    b, _ = attribute(model, imgs, (labels + 1) % 4, spec)
    assert np.abs(a - b).max() > 1e-4


# --------------------------------------------------------------------------- InputXGradient


def test_input_x_gradient_is_exact_on_a_linear_model():
    model = linear_model()
    imgs, _ = images(4, seed=1)
    labels = np.array([0, 4, 2, 2])
    attr, delta = attribute(model, imgs, labels, resolve_methods(["ixg"], {})["ixg"])
    assert np.isnan(delta).all()
    weight = model.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
    std = np.asarray(STD, np.float64).reshape(1, 3, 1, 1)
    x = imgs.astype(np.float64) / 255.0
    # f_c(x) = W_c . ((x - mean) / std) + b_c  =>  d f_c / dx = W_c / std  =>  attr = x * W_c / std
    expected = x * weight[labels] / std
    np.testing.assert_allclose(attr, expected, rtol=0, atol=1e-6)


def test_plain_gradient_is_exact_on_a_linear_model():
    model = linear_model()
    imgs, _ = images(3, seed=2)
    labels = np.array([1, 3, 0])
    attr, _ = attribute(model, imgs, labels, resolve_methods(["gradient"], {})["gradient"])
    weight = model.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
    std = np.asarray(STD, np.float64).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(attr, weight[labels] / std, rtol=0, atol=1e-6)  # d f_c / dx = W_c / std, signed


# --------------------------------------------------------------------------- every preset


def cheap_spec(method_id: str) -> MethodSpec:
    kind, params = METHOD_PRESETS[method_id]
    defaults = METHOD_KINDS.get(kind).defaults
    cheap = {k: v for k, v in {"n_steps": 4, "nt_samples": 2, "n_samples": 4}.items() if k in defaults}
    return method_spec(method_id, kind, {**params, **cheap})


def test_presets_cover_every_kind():
    assert {kind for kind, _ in METHOD_PRESETS.values()} == set(METHOD_KINDS.names())
    assert set(METHOD_PRESETS) == {
        "ig",
        "ig_zero",
        "ig_code",
        "ixg",
        "gradient",
        "smoothgrad",
        "smoothgrad_sq_ig",
        "gradshap",
        "gradshap_code",
    }


@pytest.mark.parametrize("method_id", sorted(METHOD_PRESETS))
def test_every_preset_gives_finite_float32_maps_of_input_shape(method_id):
    model = smooth_model()
    imgs, labels = images(3)
    # internal_batch_size 2 also exercises captum's internal batching
    attr, delta = attribute(model, imgs, labels, cheap_spec(method_id), seed=11, batch_size=2, internal_batch_size=2)
    assert attr.dtype == np.float32 and attr.shape == imgs.shape
    assert np.isfinite(attr).all()
    assert np.abs(attr).max() > 0  # not a dummy map
    assert np.all(np.abs(attr).reshape(3, -1).sum(1) > 0)  # every image, both batches
    assert delta.shape == (3,)
    if METHOD_PRESETS[method_id][0] == "integrated_gradients":
        assert np.isfinite(delta).all()
    else:
        assert np.isnan(delta).all()
    if method_id == "smoothgrad_sq_ig":
        assert (attr >= 0).all()  # smoothgrad_sq averages squares


@pytest.mark.parametrize("method_id", sorted(METHOD_PRESETS))
def test_every_preset_is_deterministic_under_the_same_seed(method_id):
    model = smooth_model()
    imgs, labels = images(3)
    spec = cheap_spec(method_id)
    np.random.seed(123)
    a1, d1 = attribute(model, imgs, labels, spec, seed=5)
    np.random.seed(456)  # a different global numpy state must not matter: the seed argument decides
    a2, d2 = attribute(model, imgs, labels, spec, seed=5)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(d1, d2)


@pytest.mark.parametrize("method_id", ["smoothgrad", "smoothgrad_sq_ig", "ig"])
def test_stochastic_presets_change_with_the_seed(method_id):
    model = smooth_model()
    imgs, labels = images(3)
    spec = cheap_spec(method_id)
    assert spec.stochastic
    a1, _ = attribute(model, imgs, labels, spec, seed=1)
    a2, _ = attribute(model, imgs, labels, spec, seed=2)
    assert np.abs(a1 - a2).max() > 1e-6


@pytest.mark.parametrize("method_id", ["ig", "gradshap"])
def test_untouched_preset_params(method_id):
    spec = resolve_methods([method_id], {})[method_id]
    if method_id == "ig":
        assert spec.params == {
            "n_steps": 20,
            "method": "riemann_right",
            "baseline": "gaussian",
            "baseline_sigma_normalised": 1.0,
        }
    else:
        assert spec.params == {
            "n_samples": 20,
            "stdevs_normalised": 0.0,
            "baseline": "zero",
            "baseline_sigma_normalised": 1.0,
        }
    model = smooth_model()
    imgs, labels = images(3)
    attr, _ = attribute(model, imgs, labels, spec, seed=0, batch_size=2)
    assert attr.dtype == np.float32 and attr.shape == imgs.shape and np.isfinite(attr).all()
    if method_id == "gradshap":
        # on a linear model, GradientShap with a single (black) baseline and no noise is exact:
        # (x - 0) * grad, whatever the random interpolation points
        lin = linear_model()
        attr, _ = attribute(lin, imgs, labels, spec, seed=0, batch_size=2)
        weight = lin.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
        std = np.asarray(STD, np.float64).reshape(1, 3, 1, 1)
        np.testing.assert_allclose(attr, imgs / 255.0 * weight[labels] / std, rtol=0, atol=1e-5)
    else:
        # completeness w.r.t. each image's own gaussian baseline: |delta| is small-ish for 20 steps
        _, delta = attribute(model, imgs, labels, spec, seed=0, batch_size=2)
        assert np.all(np.abs(delta) < 0.1)


def test_gradshap_code_zero_and_input_baseline_on_a_linear_model():
    """Baselines {0, x}: drawing x gives a zero contribution, drawing 0 gives x * grad; so each map
    is a multiple k/n of x * grad with k the number of draws of the black baseline."""
    lin = linear_model()
    imgs, _ = images(2, seed=4)
    labels = np.array([1, 3])
    spec = cheap_spec("gradshap_code")
    np.random.seed(0)
    attr, _ = attribute(
        lin, imgs, labels, method_spec("gc", "gradient_shap", {**spec.params, "stdevs_normalised": 0.0})
    )
    weight = lin.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
    std = np.asarray(STD, np.float64).reshape(1, 3, 1, 1)
    full = imgs / 255.0 * weight[labels] / std
    n = spec.params["n_samples"]
    for i in range(2):
        ratio = (attr[i].astype(np.float64) * full[i]).sum() / (full[i] ** 2).sum()
        assert abs(ratio * n - round(ratio * n)) < 1e-4
        np.testing.assert_allclose(attr[i], ratio * full[i], rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- resolve_methods


def test_resolve_presets_fill_defaults():
    specs = resolve_methods(["ig_code", "smoothgrad"], {})
    assert list(specs) == ["ig_code", "smoothgrad"]
    assert specs["ig_code"] == MethodSpec(
        "ig_code",
        "integrated_gradients",
        {"n_steps": 50, "method": "gausslegendre", "baseline": "mean", "baseline_sigma_normalised": 1.0},
    )
    assert specs["smoothgrad"].params == {"nt_samples": 20, "sigma": 0.15, "nt_samples_batch_size": 20}
    assert specs["ig_code"].as_dict()["kind"] == "integrated_gradients"
    assert not resolve_methods(["ixg"], {})["ixg"].stochastic


def test_unknown_method_id_lists_valid_ids():
    with pytest.raises(ValueError) as info:
        resolve_methods(["ig", "igz"], {"mine": {"kind": "input_x_gradient"}})
    message = str(info.value)
    assert "'igz'" in message
    for valid in [*METHOD_PRESETS, "mine"]:
        assert valid in message


def test_custom_id_with_unknown_parameter_raises():
    custom = {"my_ig": {"kind": "integrated_gradients", "n_step": 10}}
    with pytest.raises(ValueError, match=r"unknown parameters \['n_step'\]"):
        resolve_methods(["my_ig"], custom)


def test_custom_id_shadowing_a_preset_raises():
    with pytest.raises(ValueError, match="shadow"):
        resolve_methods(["ig"], {"ig": {"kind": "integrated_gradients", "n_steps": 5}})


def test_custom_id_resolves_with_defaults_filled():
    custom = {
        "my_ig": {"kind": "integrated_gradients", "n_steps": 7, "baseline": "mean"},
        "my_sg": {"kind": "smoothgrad", "sigma": 0.3},
    }
    specs = resolve_methods(["my_sg", "ig_zero", "my_ig"], custom)
    assert list(specs) == ["my_sg", "ig_zero", "my_ig"]
    assert specs["my_ig"] == MethodSpec(
        "my_ig",
        "integrated_gradients",
        {"n_steps": 7, "method": "riemann_right", "baseline": "mean", "baseline_sigma_normalised": 1.0},
    )
    assert specs["my_sg"].params == {"nt_samples": 20, "sigma": 0.3, "nt_samples_batch_size": 20}


def test_method_spec_does_not_mutate_the_kind_defaults():
    before = dict(METHOD_KINDS.get("integrated_gradients").defaults)
    method_spec("x", "integrated_gradients", {"n_steps": 3})
    assert METHOD_KINDS.get("integrated_gradients").defaults == before


def test_unknown_baseline_raises_when_the_method_is_specified_before_any_attribution():
    with pytest.raises(ValueError, match="unknown baseline 'white'"):
        method_spec("bad", "integrated_gradients", {"baseline": "white"})


def test_gradient_shap_alone_accepts_the_released_codes_zero_and_input_baseline():
    assert method_spec("g", "gradient_shap", {"baseline": "zero_and_input"}).params["baseline"] == "zero_and_input"
    with pytest.raises(ValueError, match="zero_and_input"):
        method_spec("i", "integrated_gradients", {"baseline": "zero_and_input"})


# --------------------------------------------------------------------------- smoothgrad_sq_ig units


def sq_ig_spec(sigma: float, nt_samples: int) -> MethodSpec:
    return method_spec(
        "sq",
        "smoothgrad_sq_ig",
        {"sigma_normalised": sigma, "nt_samples": nt_samples, "nt_samples_batch_size": nt_samples, "n_steps": 4},
    )


def test_smoothgrad_sq_ig_without_noise_is_the_square_of_ig_from_the_mean_on_a_linear_model():
    lin = linear_model()
    imgs, _ = images(3, seed=2)
    labels = np.array([0, 3, 4])
    attr, _ = attribute(lin, imgs, labels, sq_ig_spec(0.0, 2))
    weight = lin.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
    z = (imgs / 255.0 - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
    # baseline 'mean' is z0 = 0, and IG of a linear function is exact: (z - 0) * W_c
    np.testing.assert_allclose(attr, (z * weight[labels]) ** 2, rtol=1e-4, atol=1e-6)


def test_smoothgrad_sq_ig_noise_is_in_normalised_units():
    """E[((z + n) W)^2] = (z^2 + sigma^2) W^2 with n ~ N(0, sigma^2) in normalised units; noise of
    sigma in pixel units would be sigma / std = 4-5x larger in z and miss this by far."""
    lin = linear_model()
    imgs, _ = images(3, seed=2)
    labels = np.array([0, 3, 4])
    sigma = 1.0
    attr, _ = attribute(lin, imgs, labels, sq_ig_spec(sigma, 64), seed=0)
    weight = lin.backbone[1].weight.detach().double().numpy().reshape(5, 3, 8, 8)
    z = (imgs / 255.0 - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
    expected = ((z**2 + sigma**2) * weight[labels] ** 2).reshape(3, -1).sum(1)
    np.testing.assert_allclose(attr.reshape(3, -1).sum(1), expected, rtol=0.08)


def test_baselines_in_pixel_units():
    from ineqbench.attribution.methods import ImageDraws, _baseline

    model = smooth_model(mean=MEAN, std=STD)
    x = torch.rand(4, 3, 64, 64)
    draws = ImageDraws.for_pool(0, range(4))
    assert torch.equal(_baseline(model, x, {"baseline": "zero"}, draws), torch.zeros_like(x))
    mean_baseline = _baseline(model, x, {"baseline": "mean"}, draws)
    assert torch.equal(mean_baseline[:, :, 5, 7], torch.tensor([MEAN] * 4))
    gauss = _baseline(model, x, {"baseline": "gaussian", "baseline_sigma_normalised": 0.5}, draws)
    z = (gauss - model.mean) / model.std  # N(0, 0.5^2) per channel in normalised units
    channel_mean = z.mean(dim=(0, 2, 3))
    channel_std = z.std(dim=(0, 2, 3))
    torch.testing.assert_close(channel_mean, torch.zeros(3), rtol=0, atol=0.02)
    torch.testing.assert_close(channel_std, torch.full((3,), 0.5), rtol=0, atol=0.02)
