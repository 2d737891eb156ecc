"""What each download source checks of a model spec when the config is loaded (no torch): a checkpoint
that was never published, or options a source needs, fail before any job runs."""

from __future__ import annotations

from ineqbench.models.spec import ModelSpec, epsilon_label
from ineqbench.models.timm_names import timm_names

RMT_HF_MIRROR = "https://huggingface.co/madrylab/robust-imagenet-models/resolve/main"
# README of microsoft/robust-models-transfer: which architectures exist at which radii (file strings)
RMT_LINF_ARCHS = ("resnet18", "resnet50", "wide_resnet50_2")
RMT_LINF_EPS = ("0.5", "1.0", "2.0", "4.0", "8.0")  # times 1/255
RMT_L2_ARCHS = ("resnet18", "resnet50", "wide_resnet50_2", "wide_resnet50_4")
RMT_L2_EPS = ("0", "0.01", "0.03", "0.05", "0.1", "0.25", "0.5", "1", "3", "5")


def rmt_filename(spec: ModelSpec) -> str:
    """`resnet50_linf_eps4.0.ckpt`, `resnet50_l2_eps3.ckpt`; the standard model is `<arch>_l2_eps0.ckpt`."""
    arch = spec.source_options.get("file_arch", spec.arch_name)
    if spec.is_standard or spec.norm == "l2":
        eps = f"{spec.epsilon:g}"
        if eps not in RMT_L2_EPS or arch not in RMT_L2_ARCHS:
            raise ValueError(
                f"robust-models-transfer has no l2 ε = {eps} {arch!r}; valid: ε in {', '.join(RMT_L2_EPS)} "
                f"for {', '.join(RMT_L2_ARCHS)}"
            )
        return f"{arch}_l2_eps{eps}.ckpt"
    eps255 = f"{spec.epsilon * 255:.1f}"
    if eps255 not in RMT_LINF_EPS or arch not in RMT_LINF_ARCHS:
        raise ValueError(
            f"robust-models-transfer has no l∞ ε = {epsilon_label(spec.epsilon)} {arch!r}; valid: "
            f"ε in {', '.join(e + '/255' for e in RMT_LINF_EPS)} for {', '.join(RMT_LINF_ARCHS)}"
        )
    return f"{arch}_linf_eps{eps255}.ckpt"


ROBUSTBENCH_DATASETS = ("cifar10", "cifar100", "imagenet")
ROBUSTBENCH_THREATS = ("Linf", "L2", "corruptions")


def check_robustbench(spec: ModelSpec) -> None:
    o = spec.source_options
    missing = [k for k in ("name", "dataset", "threat_model") if k not in o]
    if missing:
        raise ValueError(
            f"source robustbench needs source_options {missing} (e.g. name: Carmon2019Unlabeled, "
            "dataset: cifar10, threat_model: Linf)"
        )
    if o["dataset"] not in ROBUSTBENCH_DATASETS:
        raise ValueError(f"RobustBench dataset {o['dataset']!r}; valid: {', '.join(ROBUSTBENCH_DATASETS)}")
    if o["threat_model"] not in ROBUSTBENCH_THREATS:
        raise ValueError(f"RobustBench threat_model {o['threat_model']!r}; valid: {', '.join(ROBUSTBENCH_THREATS)}")


def check_timm_hub(spec: ModelSpec) -> None:
    if "." not in spec.arch:
        raise ValueError(
            f"timm_hub arch {spec.arch!r} has no pretrained tag: a bare name resolves to timm's default "
            f"tag, which changes between timm versions; write the full name, e.g. "
            f"{spec.arch}.tv_in1k (see timm.list_models('{spec.arch}*', pretrained=True))"
        )
    names = timm_names()
    if spec.arch not in names.pretrained:
        tags = names.matching(f"{spec.arch_name}.*", pretrained=True)
        raise ValueError(
            f"timm has no pretrained weights {spec.arch!r}; valid: {', '.join(tags) or 'none for this arch'}"
        )


def check_url(spec: ModelSpec) -> None:
    if "url" not in spec.source_options:
        raise ValueError("source url needs source_options.url (and, ideally, sha256)")


def check_file(spec: ModelSpec) -> None:
    if "path" not in spec.source_options:
        raise ValueError("source file needs source_options.path, a local checkpoint (safetensors or a torch pickle)")
