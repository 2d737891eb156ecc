"""Every model source and checkpoint layout, end to end: write a checkpoint in the real format, serve it
from 127.0.0.1 (or place it), fetch, verify, convert, load; the loaded model gives the source's logits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from ineqbench.config import ConfigError, load_experiment
from ineqbench.fetch.download import DownloadError
from ineqbench.fetch.safe_load import UnsafeCheckpointError
from ineqbench.fetch.sources import IMAGENET_MEAN, IMAGENET_STD, rmt_filename
from ineqbench.io import sha256_file, write_json
from ineqbench.models.spec import ModelSpec
from tests.helpers.checkpoints import fetch, rmt_checkpoint, same_logits
from tests.helpers.loopback import LoopbackServer

N_CLASSES = 10


@pytest.fixture(scope="module")
def network() -> torch.nn.Module:
    torch.manual_seed(1)
    model = timm.create_model("resnet18", num_classes=N_CLASSES).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a dropped buffer would change the logits
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture()
def info(tmp_path) -> Path:
    path = tmp_path / "dataset.json"
    write_json(
        path,
        {
            "class_names": [f"c{i}" for i in range(N_CLASSES)],
            "image_shape": [3, 32, 32],
            "train_pixel_mean": [0.5, 0.5, 0.5],
            "train_pixel_std": [0.25, 0.25, 0.25],
        },
    )
    return path


def test_robust_models_transfer_file_from_loopback(tmp_path, info, network):
    spec_fields = dict(arch="resnet18", source="robust_models_transfer", norm="linf", epsilon=4 / 255)
    name = rmt_filename(ModelSpec(id="m", dataset="d", **spec_fields))
    assert name == "resnet18_linf_eps4.0.ckpt"
    payload = tmp_path / "payload.ckpt"
    torch.save(rmt_checkpoint(network), payload)
    with LoopbackServer() as server:
        server.add(name, payload.read_bytes())
        loaded, record = fetch(
            tmp_path, info, **spec_fields, source_options={"base_url": server.url(""), "sha256": sha256_file(payload)}
        )
        assert [p for p, _ in server.requests] == [name]
    same_logits(loaded, network, IMAGENET_MEAN, IMAGENET_STD)
    assert record["fetch"]["layout"] == "robust_models_transfer"
    assert record["mean"] == pytest.approx(IMAGENET_MEAN) and record["fetch"]["url"].endswith(name)
    raw = tmp_path / "downloads" / "robust_models_transfer" / name
    assert raw.exists() and raw.with_name(name + ".robust_models_transfer.safetensors").exists()


def test_standard_rmt_model_is_the_l2_eps0_file():
    spec = ModelSpec(id="m", dataset="d", arch="wide_resnet50_2", source="robust_models_transfer")
    assert rmt_filename(spec) == "wide_resnet50_2_l2_eps0.ckpt"
    l2 = ModelSpec(id="m", dataset="d", arch="resnet50.tv_in1k", source="robust_models_transfer", norm="l2", epsilon=3)
    assert rmt_filename(l2) == "resnet50_l2_eps3.ckpt"


def test_converted_safetensors_is_read_afterwards_not_the_pickle(tmp_path, info, network):
    payload = tmp_path / "payload.ckpt"
    torch.save(rmt_checkpoint(network), payload)
    fields = dict(arch="resnet18", source="robust_models_transfer", norm="linf", epsilon=8 / 255)
    with LoopbackServer() as server:
        server.add("resnet18_linf_eps8.0.ckpt", payload.read_bytes())
        fetch(tmp_path, info, **fields, source_options={"base_url": server.url("")})
        raw = tmp_path / "downloads" / "robust_models_transfer" / "resnet18_linf_eps8.0.ckpt"
        raw.write_bytes(b"\x80\x02 not a pickle any more")  # only the converted file may be read now
        loaded, _ = fetch(tmp_path, info, **fields, source_options={"base_url": server.url("")})
    same_logits(loaded, network, IMAGENET_MEAN, IMAGENET_STD)


@pytest.mark.parametrize("style", ["state_dict+module", "bare+model+normalize"])
def test_robustbench_file_placed_or_served(tmp_path, info, network, style):
    if style == "state_dict+module":
        obj = {"state_dict": {"module." + k: v for k, v in network.state_dict().items()}, "epoch": 200}
        mean, std = [0.0] * 3, [1.0] * 3  # RobustBench CIFAR models take [0, 1] pixels as they are
    else:
        obj = {"model." + k: v for k, v in network.state_dict().items()}
        obj["normalize.mean"], obj["normalize.std"] = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    options = {"name": "Someone2020Robust", "dataset": "cifar10", "threat_model": "Linf"}
    placed = tmp_path / "downloads" / "robustbench" / "cifar10" / "Linf" / "Someone2020Robust.pt"
    placed.parent.mkdir(parents=True)
    torch.save(obj, placed)
    loaded, record = fetch(
        tmp_path, info, arch="resnet18", source="robustbench", epsilon=8 / 255, source_options=options
    )
    same_logits(loaded, network, mean, std)
    assert record["fetch"]["layout"] == "robustbench"

    served = tmp_path / "served"
    served.mkdir()
    with LoopbackServer() as server:
        server.add("rb.pt", placed.read_bytes())
        placed.unlink()
        for leftover in placed.parent.glob("*.safetensors"):
            leftover.unlink()
        loaded, _ = fetch(
            served,
            info,
            arch="resnet18",
            source="robustbench",
            epsilon=8 / 255,
            source_options={**options, "url": server.url("rb.pt")},
        )
    same_logits(loaded, network, mean, std)


def test_robustbench_missing_file_says_how_to_get_it(tmp_path, info):
    with pytest.raises(DownloadError, match="robustbench.utils import load_model.*Someone2020Robust"):
        fetch(
            tmp_path,
            info,
            arch="resnet18",
            source="robustbench",
            source_options={"name": "Someone2020Robust", "dataset": "cifar10", "threat_model": "Linf"},
        )


def test_safetensors_by_url_and_by_file(tmp_path, info, network):
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path))
    with LoopbackServer() as server:
        server.add("w.safetensors", path.read_bytes())
        loaded, record = fetch(
            tmp_path,
            info,
            arch="resnet18",
            source="url",
            source_options={"url": server.url("w.safetensors"), "sha256": sha256_file(path)},
        )
    same_logits(loaded, network, [0.5] * 3, [0.25] * 3)  # no normalisation given anywhere: the data set's
    assert record["fetch"]["layout"] == "plain"
    loaded, record = fetch(
        tmp_path / "f",
        info,
        arch="resnet18",
        source="file",
        source_options={"path": str(path), "mean": [0.1, 0.2, 0.3], "std": [0.3, 0.2, 0.1]},
    )
    same_logits(loaded, network, [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


class Payload:
    """Unpickling this object would create a marker file: the test of 'never runs code'."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zip_format", [True, False])
def test_checkpoint_that_would_run_code_is_refused(tmp_path, info, network, zip_format):
    marker = tmp_path / "code-was-run"
    ckpt = rmt_checkpoint(network)
    ckpt["extra"] = Payload(marker)
    path = tmp_path / "evil.ckpt"
    torch.save(ckpt, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError, match="was refused") as error:
        fetch(tmp_path, info, arch="resnet18", source="file", source_options={"path": str(path)})
    assert not marker.exists()
    if zip_format:
        assert "system" in str(error.value)  # the message names the global


def test_wrong_architecture_is_reported_with_the_differences(tmp_path, info, network):
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(path))
    with pytest.raises(ValueError, match="do not fit the architecture.*missing"):
        fetch(tmp_path, info, arch="resnet34", source="file", source_options={"path": str(path)})


HUB_SCRIPT = """
import sys, torch
from pathlib import Path
from tests.helpers.checkpoints import fetch
tmp, info, out = map(Path, sys.argv[1:4])
loaded, record = fetch(tmp, info, arch="resnet18.tv_in1k", source="timm_hub")
assert record["fetch"]["hf_hub_id"] == "timm/resnet18.tv_in1k", record["fetch"]
with torch.no_grad():
    torch.save(loaded(torch.load(tmp / "x.pt")), out)
"""


def _hub_fetch(tmp: Path, env: dict, out: Path) -> subprocess.CompletedProcess:
    """The fetch in a fresh interpreter: huggingface_hub reads HF_* variables when it is imported."""
    info = tmp / "dataset.json"
    write_json(
        info,
        {
            "class_names": [str(i) for i in range(1000)],
            "image_shape": [3, 32, 32],
            "train_pixel_mean": [0.5] * 3,
            "train_pixel_std": [0.25] * 3,
        },
    )
    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-c", HUB_SCRIPT, str(tmp), str(info), str(out)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def hub_weights(tmp_path_factory) -> tuple[Path, torch.nn.Module, torch.Tensor]:
    tmp = tmp_path_factory.mktemp("hub")
    torch.manual_seed(2)
    source = timm.create_model("resnet18", num_classes=1000).eval()
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp / "model.safetensors"))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp / "x.pt")
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = source((x - mean) / std)
    return tmp, source, expected


def test_timm_hub_downloads_through_huggingface_hub_from_the_endpoint(tmp_path, hub_weights):
    """HF_ENDPOINT at the loopback server: huggingface_hub's own protocol (HEAD for the commit and
    ETag, then GET) fills an empty cache; a second run with HF_HUB_OFFLINE=1 needs only that cache."""
    weights_dir, _, expected = hub_weights
    (tmp_path / "x.pt").write_bytes((weights_dir / "x.pt").read_bytes())
    commit = "0123456789abcdef0123456789abcdef01234567"
    cache = tmp_path / "hub"
    with LoopbackServer() as server:
        server.add(
            "timm/resnet18.tv_in1k/resolve/main/model.safetensors",
            (weights_dir / "model.safetensors").read_bytes(),
            headers={"X-Repo-Commit": commit},
        )
        env = {
            "HF_ENDPOINT": server.url("").rstrip("/"),
            "HF_HUB_CACHE": str(cache),
            "HF_HUB_OFFLINE": None,
            "HF_HUB_DISABLE_XET": "1",
        }
        result = _hub_fetch(tmp_path, env, tmp_path / "y.pt")
        assert result.returncode == 0, result.stderr[-3000:]
        assert any(path.endswith("model.safetensors") for path, _ in server.requests)
    torch.testing.assert_close(torch.load(tmp_path / "y.pt"), expected, rtol=0, atol=1e-5)
    assert (cache / "models--timm--resnet18.tv_in1k" / "snapshots" / commit / "model.safetensors").exists()

    # the server is gone: offline, the cache the first run filled is enough
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "x.pt").write_bytes((weights_dir / "x.pt").read_bytes())
    result = _hub_fetch(tmp_path / "again", offline, tmp_path / "y2.pt")
    assert result.returncode == 0, result.stderr[-3000:]
    torch.testing.assert_close(torch.load(tmp_path / "y2.pt"), expected, rtol=0, atol=1e-5)


def test_timm_hub_offline_with_an_empty_cache_says_how_to_prefetch(tmp_path, hub_weights):
    weights_dir, _, _ = hub_weights
    (tmp_path / "x.pt").write_bytes((weights_dir / "x.pt").read_bytes())
    result = _hub_fetch(tmp_path, {"HF_HUB_CACHE": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}, tmp_path / "y.pt")
    assert result.returncode != 0
    assert "not in the Hugging Face cache" in result.stderr and "timm.create_model('resnet18.tv_in1k'" in result.stderr


def _config(default_config: dict, **model) -> dict:
    config = {**default_config, "model_grid": [], "attacks": {**default_config["attacks"], "transfer": {"pairs": []}}}
    config["models"] = [{"id": "x", "dataset": "synthetic_shapes", **model}]
    return config


@pytest.mark.parametrize(
    "model, message",
    [
        ({"arch": "resnet50", "source": "robust_models_transfer", "epsilon": "3/255"}, "no l∞ ε = 3/255.*valid"),
        ({"arch": "resnet101", "source": "robust_models_transfer", "epsilon": "4/255"}, "resnet101"),
        ({"arch": "resnet50", "source": "timm_hub"}, "no pretrained tag"),
        ({"arch": "resnet50.nonexistent", "source": "timm_hub"}, "no pretrained weights.*resnet50.tv_in1k"),
        ({"arch": "resnet18", "source": "robustbench", "source_options": {"name": "X"}}, "needs source_options"),
        (
            {
                "arch": "resnet18",
                "source": "robustbench",
                "source_options": {"name": "X", "dataset": "cifar10", "threat_model": "Linfinity"},
            },
            "threat_model.*Linf",
        ),
        ({"arch": "resnet18", "source": "file"}, "source_options.path"),
        ({"arch": "resnet18", "source": "hub"}, "unknown model source 'hub'"),
    ],
)
def test_unpublished_or_incomplete_sources_fail_when_the_config_loads(default_config, model, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(_config(default_config, **model))


def test_html_page_instead_of_a_checkpoint_fails_the_fetch_and_writes_nothing(tmp_path, info):
    """RobustBench's failure mode: a Google Drive quota page saved as the .pt file."""
    options = {"name": "Someone2020Robust", "dataset": "cifar10", "threat_model": "Linf"}
    with LoopbackServer() as server:
        server.add("rb.pt", b"", mode="html")
        with pytest.raises(DownloadError, match="HTML page"):
            fetch(
                tmp_path,
                info,
                arch="resnet18",
                source="robustbench",
                source_options={**options, "url": server.url("rb.pt")},
            )
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "downloads").rglob("*.pt"))


def test_offline_fetch_names_the_file_to_place_and_where(tmp_path, info, monkeypatch):
    monkeypatch.setenv("INEQBENCH_OFFLINE", "1")
    with pytest.raises(DownloadError, match="resnet50_linf_eps8.0.ckpt") as error:
        fetch(tmp_path, info, arch="resnet50", source="robust_models_transfer", epsilon=8 / 255)
    message = str(error.value)
    assert str(tmp_path / "downloads" / "robust_models_transfer") in message
    assert "huggingface.co/madrylab/robust-imagenet-models" in message
