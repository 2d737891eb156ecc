"""Attribution settings and names, without torch: the `attribution` config section, the method kinds
(their parameters and defaults; their code, in `ineqbench.attribution.methods`, is imported when a job
computes maps) and the method ids ("presets").

A method id names exactly one parameterisation: `ig` and `ig_zero` differ in their baseline, so they
are two ids and two caches. Users add ids in the config (`attribution.custom`) as {kind, params}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field

from ineqbench.attribution.quadrature import RULES
from ineqbench.registry import Lazy, Registry
from ineqbench.settings import CONFIG_SECTIONS, ConfigSection, setting


@dataclass(frozen=True)
class MethodKind:
    compute: Callable  # (model, x, target, params, PassRunner, ImageDraws) -> (attr, delta or None)
    defaults: dict
    stochastic: bool
    description: str
    points_per_image: Callable[[dict], int]  # gradient points (forward + backward) per image, from params
    baselines: tuple[str, ...] = ()  # accepted values of the `baseline` parameter, checked at config load


@dataclass(frozen=True)
class MethodSpec:
    id: str
    kind: str
    params: dict = field(default_factory=dict)

    @property
    def stochastic(self) -> bool:
        return METHOD_KINDS.get(self.kind).stochastic

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "params": self.params}


# Baselines in pixel space (added in ineqbench.attribution.methods). zero: black; mean: the normalisation
# mean (zero in normalised space, the released code's choice); gaussian: mean + std * sigma * N(0, 1),
# i.e. N(0, sigma^2) in normalised units.
BASELINES = Registry("baseline")
for _name in ("zero", "mean", "gaussian"):
    BASELINES.declare(_name, "ineqbench.attribution.methods")

METHOD_KINDS: Registry[MethodKind] = Registry("attribution method kind")
METHOD_KINDS.add(
    "integrated_gradients",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:integrated_gradients"),
        defaults={"n_steps": 20, "method": "riemann_right", "baseline": "zero", "baseline_sigma_normalised": 1.0},
        stochastic=True,  # only with the gaussian baseline, but seeding is harmless otherwise
        points_per_image=lambda p: p["n_steps"],
        description="Integrated Gradients with captum's Riemann or Gauss-Legendre steps; convergence delta recorded",
        baselines=tuple(BASELINES.names()),
    ),
)
METHOD_KINDS.add(
    "input_x_gradient",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:input_x_gradient"),
        defaults={},
        stochastic=False,
        points_per_image=lambda p: 1,
        description="InputXGradient in pixel space (x * dlogit/dx), as captum's",
    ),
)
METHOD_KINDS.add(
    "gradient",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:gradient"),
        defaults={},
        stochastic=False,
        points_per_image=lambda p: 1,
        description="the signed plain gradient of the target logit (captum Saliency with abs=False)",
    ),
)
METHOD_KINDS.add(
    "smoothgrad",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:smoothgrad"),
        defaults={"nt_samples": 20, "sigma": 0.15, "nt_samples_batch_size": 20},
        stochastic=True,
        points_per_image=lambda p: p["nt_samples"],
        description="SmoothGrad (captum NoiseTunnel over the signed gradient); sigma in pixel units",
    ),
)
METHOD_KINDS.add(
    "smoothgrad_sq_ig",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:smoothgrad_sq_ig"),
        defaults={
            "nt_samples": 20,
            "sigma_normalised": 0.2,
            "nt_samples_batch_size": 1,
            "n_steps": 50,
            "method": "gausslegendre",
            "baseline": "mean",
        },
        stochastic=True,
        points_per_image=lambda p: p["nt_samples"] * p["n_steps"],
        description="the released code's NoiseTunnel(IG, smoothgrad_sq); noise in normalised units",
        baselines=tuple(BASELINES.names()),
    ),
)
METHOD_KINDS.add(
    "gradient_shap",
    MethodKind(
        compute=Lazy("ineqbench.attribution.methods:gradient_shap"),
        defaults={"n_samples": 20, "stdevs_normalised": 0.0, "baseline": "zero", "baseline_sigma_normalised": 1.0},
        stochastic=True,
        points_per_image=lambda p: p["n_samples"],
        description="GradientShap (expected gradients), as captum's; noise in normalised units",
        baselines=(*BASELINES.names(), "zero_and_input"),
    ),
)


METHOD_PRESETS: dict[str, tuple[str, dict]] = {
    "ig": ("integrated_gradients", {"baseline": "gaussian"}),  # paper: 20 steps, N(0,1) baseline
    "ig_zero": ("integrated_gradients", {"baseline": "zero"}),  # 20 steps, black baseline
    "ig_code": ("integrated_gradients", {"n_steps": 50, "method": "gausslegendre", "baseline": "mean"}),
    "ixg": ("input_x_gradient", {}),
    "gradient": ("gradient", {}),  # the plain gradient (the bounds stage's second attribution)
    "smoothgrad": ("smoothgrad", {}),
    "smoothgrad_sq_ig": ("smoothgrad_sq_ig", {}),  # the released code's "nt"
    "gradshap": ("gradient_shap", {}),  # paper: n_samples 20, baseline 0
    "gradshap_code": ("gradient_shap", {"n_samples": 50, "stdevs_normalised": 0.01, "baseline": "zero_and_input"}),
}


def method_spec(method_id: str, kind: str, params: dict) -> MethodSpec:
    info = METHOD_KINDS.get(kind)
    unknown = set(params) - set(info.defaults)
    if unknown:
        raise ValueError(
            f"method {method_id!r}: unknown parameters {sorted(unknown)} for kind {kind!r}; "
            f"valid: {sorted(info.defaults)}"
        )
    merged = {**info.defaults, **params}
    if "method" in merged and merged["method"] not in RULES:
        raise ValueError(
            f"method {method_id!r}: unknown integration rule {merged['method']!r}; valid: {', '.join(RULES)}"
        )
    if "baseline" in merged and merged["baseline"] not in info.baselines:
        raise ValueError(
            f"method {method_id!r}: unknown baseline {merged['baseline']!r} for kind {kind!r}; "
            f"valid: {', '.join(info.baselines)}"
        )
    return MethodSpec(method_id, kind, merged)


def resolve_methods(ids: list[str], custom: dict[str, dict]) -> dict[str, MethodSpec]:
    """Method ids from the config -> specs with every parameter filled in."""
    clash = set(custom) & set(METHOD_PRESETS)
    if clash:
        raise ValueError(f"custom method ids {sorted(clash)} shadow built-in ids; choose other names")
    table = {
        **{k: (kind, p) for k, (kind, p) in METHOD_PRESETS.items()},
        **{k: (v["kind"], {p: x for p, x in v.items() if p != "kind"}) for k, v in custom.items()},
    }
    resolved = {}
    for method_id in ids:
        if method_id not in table:
            raise ValueError(f"unknown method id {method_id!r}; valid: {', '.join(sorted(table))}")
        kind, params = table[method_id]
        resolved[method_id] = method_spec(method_id, kind, params)
    return resolved


@dataclass(frozen=True)
class AttributionSection:
    """Which attribution maps are computed and cached, and how they are batched."""

    methods: list[str] = setting(doc="method ids (built-in presets or `custom`)", minItems=1)
    custom: dict[str, dict] = setting(
        {},
        "extra method ids, each {kind, ...parameters}",
        additionalProperties={"type": "object", "required": ["kind"]},
    )
    batch_size: int = setting(50, "images per attribution batch", minimum=1)
    internal_batch_size: int = setting(
        1000, "most gradient points (path steps, noisy copies) per forward + backward pass", minimum=1
    )
    precision: str = setting(
        "float32",
        "float32, or mixed: the passes in bfloat16 autocast (float16 on a GPU without bfloat16), maps in float32",
        enum=["float32", "mixed"],
    )
    dtype: str = setting("float32", "dtype of the cached maps", enum=["float32", "float16"])
    shard_images: int = setting(1000, "maps per shard of the attribution cache (read memory-mapped)", minimum=1)
    family_methods: str = setting(
        "table",
        "methods of the comparison families' models (l2, variants): table, the report's table method only "
        "(their tables show it), or all",
        enum=["table", "all"],
    )


CONFIG_SECTIONS.add("attribution", ConfigSection(AttributionSection, default=MISSING))
