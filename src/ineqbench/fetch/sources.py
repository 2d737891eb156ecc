"""Published weights, per source: where a spec's file lives, how to get it, how to read it safely.

Every source ends in the same place: the bare network's weights (an `Extracted`), converted once to a
safetensors file in the download folder, plus a record of where they came from. The download folder
(config `fetch.download_dir`) is outside `results/`, so deleting results never re-downloads.

Sources:
- `robust_models_transfer`: Salman et al. (2020) ImageNet models, l∞ ε ∈ {0.5, 1, 2, 4, 8}/255 and
  l2 ε ∈ {0 ... 5}; the standard model of a family is its l2 ε = 0 file (same recipe as the robust ones).
- `robustbench`: a RobustBench model file, by (name, dataset, threat model), laid out as RobustBench's
  own `model_dir` (`<dataset>/<threat>/<name>.pt`), so an existing RobustBench folder can be copied in.
- `timm_hub`: timm pretrained weights by full `arch.tag`, through huggingface_hub (HF_HOME, HF_HUB_OFFLINE).
- `url` and `file`: any checkpoint by URL or local path, in any registered layout.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from safetensors.torch import load_file, save_file

from ineqbench.fetch.checks import RMT_HF_MIRROR, rmt_filename
from ineqbench.fetch.download import OfflineError, download, offline_mode
from ineqbench.fetch.layouts import LAYOUTS, Extracted, extract
from ineqbench.fetch.safe_load import load_untrusted
from ineqbench.io import atomic_path, sha256_file
from ineqbench.models.spec import ModelSpec

log = logging.getLogger(__name__)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class Obtained:
    """What a source hands to the fetch job: the weights and how they were obtained.

    The normalisation of the model is, first match wins: source_options mean/std, the one stored in the
    file (`weights.mean`), the source's convention (`mean` here), the data set's."""

    weights: Extracted
    record: dict = field(default_factory=dict)  # url, files, sha256, layout: goes into the model card
    mean: list[float] | None = None  # the source's convention (ImageNet's for RMT, none for RobustBench)
    std: list[float] | None = None


# ---------------------------------------------------------------- a downloaded or local file
def convert_once(raw: Path, layout: str, allow_globals: list[str]) -> tuple[Path, str]:
    """Read `raw` untrusted, extract the network's weights and store them as safetensors beside it;
    later calls read only that file. Returns (the safetensors path, the layout used)."""
    for name in LAYOUTS if layout == "auto" else [layout]:
        converted = raw.with_name(f"{raw.name}.{name}.safetensors")
        if converted.exists():
            return converted, name
    used, extracted = extract(load_untrusted(raw, allow_globals), layout)
    converted = raw.with_name(f"{raw.name}.{used}.safetensors")
    metadata = {"layout": used, "source_sha256": sha256_file(raw), "dropped_keys": str(extracted.dropped)}
    for key in ("mean", "std"):
        if getattr(extracted, key) is not None:
            metadata[key] = ",".join(repr(v) for v in getattr(extracted, key))
    with atomic_path(converted) as tmp:
        save_file(extracted.state, str(tmp), metadata=metadata)
    log.info(
        "converted %s (layout %s, %d tensors, %d keys dropped) to %s",
        raw,
        used,
        len(extracted.state),
        extracted.dropped,
        converted,
    )
    return converted, used


def read_converted(path: Path) -> Extracted:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    vector = lambda key: [float(v) for v in metadata[key].split(",")] if key in metadata else None  # noqa: E731
    return Extracted(load_file(str(path)), vector("mean"), vector("std"), int(metadata.get("dropped_keys", 0)))


def _weights_from_file(raw: Path, options: dict, record: dict) -> Obtained:
    converted, layout = convert_once(raw, options.get("layout", "auto"), list(options.get("allow_globals", [])))
    record = {
        **record,
        "file": str(raw),
        "file_sha256": sha256_file(raw),
        "converted": str(converted),
        "layout": layout,
    }
    return Obtained(read_converted(converted), record)


def _fetch_url(url: str, dest: Path, options: dict, record: dict, how_to_get: str = "") -> Obtained:
    try:
        download(url, dest, sha256=options.get("sha256"), size=options.get("size"))
    except OfflineError as error:
        raise OfflineError(f"{error}{how_to_get}") from None
    return _weights_from_file(dest, options, {**record, "url": url})


# ---------------------------------------------------------------- robust-models-transfer
def _rmt_url(spec: ModelSpec) -> str:
    if "url" in spec.source_options:
        return spec.source_options["url"]
    return f"{spec.source_options.get('base_url', RMT_HF_MIRROR).rstrip('/')}/{rmt_filename(spec)}"


def obtain_rmt(spec: ModelSpec, download_dir: Path) -> Obtained:
    options = {"layout": "robust_models_transfer", **spec.source_options}
    dest = download_dir / "robust_models_transfer" / rmt_filename(spec)
    obtained = _fetch_url(_rmt_url(spec), dest, options, {"source": "robust_models_transfer"})
    # the MadryLab normaliser buffers hold ImageNet's statistics; fall back to them if a file lacks them
    return Obtained(obtained.weights, obtained.record, IMAGENET_MEAN, IMAGENET_STD)


# ---------------------------------------------------------------- RobustBench
def robustbench_path(spec: ModelSpec, download_dir: Path) -> Path:
    o = spec.source_options
    return download_dir / "robustbench" / o["dataset"] / o["threat_model"] / f"{o['name']}.pt"


def obtain_robustbench(spec: ModelSpec, download_dir: Path) -> Obtained:
    o = {"layout": "robustbench", **spec.source_options}
    dest = robustbench_path(spec, download_dir)
    record = {"source": "robustbench", "name": o["name"], "threat_model": o["threat_model"]}
    if dest.exists() and "url" not in o:
        obtained = _weights_from_file(dest, o, record)
    elif "url" in o:
        obtained = _fetch_url(o["url"], dest, o, record)
    else:
        raise OfflineError(
            f"{dest} is missing. RobustBench keeps its files on Google Drive: on a machine with internet run "
            f"`python -c \"from robustbench.utils import load_model; load_model('{o['name']}', model_dir='models', "
            f"dataset='{o['dataset']}', threat_model='{o['threat_model']}')\"` and copy "
            f"models/{o['dataset']}/{o['threat_model']}/{o['name']}.pt to {dest}, or give source_options.url"
        )
    # RobustBench models take [0, 1] pixels: normalisation is in the file (popped above) or absent
    return Obtained(obtained.weights, obtained.record, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])


# ---------------------------------------------------------------- timm hub
def obtain_timm_hub(spec: ModelSpec, download_dir: Path) -> Obtained:
    """timm's own loader (huggingface_hub underneath), so HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE apply."""
    import timm

    try:
        model = timm.create_model(spec.arch, pretrained=True, **spec.arch_kwargs)
    except Exception as error:  # huggingface_hub raises several types when offline or unreachable
        if offline_mode() or "offline" in str(error).lower() or "connect" in str(error).lower():
            cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
                os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
            )
            raise OfflineError(
                f"timm weights {spec.arch} are not in the Hugging Face cache {cache} and the hub is not reachable. "
                f'On a machine with internet and the same HF_HOME, run `python -c "import timm; '
                f"timm.create_model('{spec.arch}', pretrained=True)\"`, then rerun with HF_HUB_OFFLINE=1. ({error})"
            ) from None
        raise
    cfg = model.pretrained_cfg
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    record = {
        "source": "timm_hub",
        "hf_hub_id": cfg.get("hf_hub_id"),
        "url": cfg.get("url") or None,
        "timm_version": timm.__version__,
        "num_classes_pretrained": cfg.get("num_classes"),
    }
    return Obtained(Extracted(state, None, None, 0), record, list(cfg["mean"]), list(cfg["std"]))


# ---------------------------------------------------------------- any URL or file
def obtain_url(spec: ModelSpec, download_dir: Path) -> Obtained:
    o = spec.source_options
    name = o.get("filename") or Path(urlparse(o["url"]).path).name or f"{spec.id}.bin"
    return _fetch_url(o["url"], download_dir / "url" / spec.id / name, o, {"source": "url"})


def obtain_file(spec: ModelSpec, download_dir: Path) -> Obtained:
    o = spec.source_options
    path = Path(os.path.expandvars(os.path.expanduser(o["path"])))
    if not path.is_file():
        raise FileNotFoundError(f"model {spec.id}: source_options.path {path} does not exist")
    digest = sha256_file(path)
    if "sha256" in o and digest != o["sha256"]:
        raise ValueError(f"{path}: sha256 {digest} differs from the configured {o['sha256']}")
    # the conversion is written beside a copy in the download folder, never beside the user's file
    copy = download_dir / "file" / digest[:16] / path.name
    if not copy.exists():
        with atomic_path(copy) as tmp:
            shutil.copyfile(path, tmp)
    return _weights_from_file(copy, o, {"source": "file", "path": str(path)})


Obtain = Callable[[ModelSpec, Path], Obtained]

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Obtained",
    "obtain_file",
    "obtain_rmt",
    "obtain_robustbench",
    "obtain_timm_hub",
    "obtain_url",
    "rmt_filename",
]
