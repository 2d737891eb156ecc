"""Per-epoch resume of training: a run killed after an epoch and resumed ends with exactly the weights
and history of an uninterrupted run; stale or corrupt states are ignored; the state goes once the
model is saved."""

import logging
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ineqbench.data.base import ImageSplit
from ineqbench.data.prepare import save_split
from ineqbench.io import read_json, write_json
from ineqbench.models import resume as resume_module
from ineqbench.models import train_job
from ineqbench.models.architectures import build_classifier
from ineqbench.models.resume import ResumeFile, training_fingerprint
from ineqbench.models.spec import ModelSpec
from ineqbench.models.train_job import train_model
from ineqbench.models.training import TrainingRecipe, train_classifier

SIZE, CLASSES, EPOCHS = 16, 3, 3
MEAN, STD = [0.45, 0.5, 0.55], [0.25, 0.2, 0.3]
# ε > 0 on purpose: PGD's random start draws from the global RNG, which a resume must restore too
SPEC = ModelSpec(id="tiny-linf2-s0", dataset="tiny", arch="test_resnet", epsilon=2 / 255, seed=0).as_dict()
RECIPE = TrainingRecipe(epochs=EPOCHS, batch_size=8, lr=0.01, pgd_steps=1, eps_warmup_epochs=2).as_dict()


class Killed(Exception):
    """Stands in for Slurm's kill at the time limit."""


def _images(n: int, seed: int) -> ImageSplit:
    rng = np.random.default_rng(seed)
    return ImageSplit(
        rng.integers(0, 256, (n, 3, SIZE, SIZE), dtype=np.uint8), rng.integers(0, CLASSES, n).astype(np.int64)
    )


@pytest.fixture(scope="module", autouse=True)
def on_the_cpu():
    """Bit-identity is promised on the CPU (cuDNN may pick nondeterministic kernels), so pin the job there."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_job, "select_device", lambda threads=None: torch.device("cpu"))
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("resume_data")
    save_split(folder / "train.npz", _images(20, 0))
    save_split(folder / "test.npz", _images(6, 1))
    write_json(
        folder / "dataset.json",
        {
            "class_names": ["a", "b", "c"],
            "image_shape": [3, SIZE, SIZE],
            "train_pixel_mean": MEAN,
            "train_pixel_std": STD,
        },
    )
    return {"train": str(folder / "train.npz"), "test": str(folder / "test.npz"), "info": str(folder / "dataset.json")}


def run_job(data: dict, out: Path, *, recipe: dict = RECIPE, resume: bool = True) -> tuple[dict, dict]:
    """The train_model job into `out`; returns (weights, training record)."""
    weights, card = out / "m.safetensors", out / "m.json"
    train_model(
        spec=SPEC,
        recipe=recipe,
        train_path=data["train"],
        test_path=data["test"],
        info_path=data["info"],
        weights_path=str(weights),
        record_path=str(card),
        resume_path=str(out / "resume" / "m.pt") if resume else None,
    )
    return load_file(str(weights)), read_json(card)


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory) -> tuple[dict, dict]:
    return run_job(data, tmp_path_factory.mktemp("uninterrupted"), resume=False)


def kill_after_epoch(monkeypatch, epoch: int) -> None:
    """Make the job die right after it has saved the state of `epoch`."""
    save = ResumeFile.save

    def save_then_die(self, state):
        save(self, state)
        if state["epoch"] == epoch:
            raise Killed(f"killed after epoch {epoch}")

    monkeypatch.setattr(ResumeFile, "save", save_then_die)


def assert_same_model(a: tuple[dict, dict], b: tuple[dict, dict]) -> None:
    (weights_a, card_a), (weights_b, card_b) = a, b
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
    assert card_a["history"] == card_b["history"]


def test_killed_job_resumes_to_the_uninterrupted_weights_and_removes_its_state(
    data, uninterrupted, tmp_path, monkeypatch, caplog
):
    state_path = tmp_path / "resume" / "m.pt"
    with monkeypatch.context() as patch:
        kill_after_epoch(patch, 1)
        with pytest.raises(Killed):
            run_job(data, tmp_path)
    assert not (tmp_path / "m.safetensors").exists()
    state = torch.load(state_path, weights_only=True)  # plain tensors and containers only
    assert state["epoch"] == 1 and len(state["history"]) == 1

    caplog.set_level(logging.INFO)
    caplog.clear()
    resumed = run_job(data, tmp_path)
    assert "resuming tiny-linf2-s0 from epoch 1/3" in caplog.text
    assert_same_model(resumed, uninterrupted)
    assert resumed[1]["resumed_from_epoch"] == 1 and uninterrupted[1]["resumed_from_epoch"] == 0
    assert not state_path.exists()
    assert list(state_path.parent.iterdir()) == []  # no temporaries left beside it either


def test_job_killed_after_the_last_epoch_only_evaluates_and_saves(data, uninterrupted, tmp_path, monkeypatch, caplog):
    with monkeypatch.context() as patch:
        kill_after_epoch(patch, EPOCHS)
        with pytest.raises(Killed):
            run_job(data, tmp_path)
    caplog.set_level(logging.INFO)
    caplog.clear()
    resumed = run_job(data, tmp_path)
    assert f"resuming tiny-linf2-s0 from epoch {EPOCHS}/{EPOCHS}" in caplog.text
    assert "epoch 1/3 loss" not in caplog.text  # nothing retrained
    assert_same_model(resumed, uninterrupted)


def test_state_of_other_settings_is_ignored(data, tmp_path, monkeypatch, caplog):
    other = {**RECIPE, "lr": 0.02}
    with monkeypatch.context() as patch:
        kill_after_epoch(patch, 1)
        with pytest.raises(Killed):
            run_job(data, tmp_path, recipe=other)
    caplog.set_level(logging.INFO)
    caplog.clear()
    weights, card = run_job(data, tmp_path)
    assert "written for other settings or data" in caplog.text and "training from scratch" in caplog.text
    assert "resuming" not in caplog.text
    assert card["resumed_from_epoch"] == 0
    assert not (tmp_path / "resume" / "m.pt").exists()


@pytest.mark.parametrize("content", ["garbage", "truncated", "wrong keys", "code"])
def test_unreadable_state_is_ignored(data, uninterrupted, tmp_path, content, caplog):
    state_path = tmp_path / "resume" / "m.pt"
    state_path.parent.mkdir()
    if content == "garbage":
        state_path.write_bytes(b"not a torch file")
    elif content == "truncated":
        torch.save({"epoch": 1, "model": {"w": torch.zeros(100)}}, state_path)
        state_path.write_bytes(state_path.read_bytes()[:200])
    elif content == "wrong keys":
        torch.save({"epoch": 1}, state_path)
    else:  # weights_only refuses arbitrary globals, so reading a state can never run code
        torch.save({key: 0 for key in resume_module.STATE_KEYS} | {"model": PurePosixPath("x")}, state_path)
    caplog.set_level(logging.INFO)
    caplog.clear()
    resumed = run_job(data, tmp_path)
    assert "is unreadable" in caplog.text and "training from scratch" in caplog.text
    assert resumed[1]["resumed_from_epoch"] == 0
    assert_same_model(resumed, uninterrupted)
    assert not state_path.exists()


def test_train_classifier_continues_from_a_state_exactly(tmp_path):
    """The same at the training level, with the global RNG moved on as in a fresh process."""
    spec, recipe = ModelSpec(**SPEC), TrainingRecipe(**RECIPE)
    split = _images(20, 0)
    common = dict(recipe=recipe, norm="linf", epsilon=spec.epsilon, seed=spec.seed, device=torch.device("cpu"))
    full = build_classifier(spec, CLASSES, MEAN, STD)
    history = train_classifier(full, split.images, split.labels, **common)

    states = []
    first = build_classifier(spec, CLASSES, MEAN, STD)
    path = tmp_path / "state.pt"

    def save_and_stop(state):
        torch.save(state, path)
        states.append(state["epoch"])
        raise Killed

    with pytest.raises(Killed):
        train_classifier(first, split.images, split.labels, **common, on_epoch_end=save_and_stop)
    second = build_classifier(spec, CLASSES, MEAN, STD)
    torch.manual_seed(1234)  # whatever the new process's global RNG holds is replaced by the state's
    resumed_history = train_classifier(
        second, split.images, split.labels, **common, start=torch.load(path, weights_only=True)
    )
    assert states == [1]
    assert resumed_history == history
    for (name, a), (_, b) in zip(full.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def test_fingerprint_follows_settings_and_data_content_not_paths(data, tmp_path):
    base = training_fingerprint(SPEC, RECIPE, [data["train"], data["info"]])
    copy = tmp_path / "elsewhere.npz"
    copy.write_bytes(Path(data["train"]).read_bytes())
    assert training_fingerprint(SPEC, RECIPE, [copy, data["info"]]) == base
    assert training_fingerprint(SPEC, {**RECIPE, "epochs": 4}, [data["train"], data["info"]]) != base
    assert training_fingerprint({**SPEC, "seed": 1}, RECIPE, [data["train"], data["info"]]) != base
    save_split(copy, _images(20, 7))
    assert training_fingerprint(SPEC, RECIPE, [copy, data["info"]]) != base


def test_clear_removes_the_state_and_its_interrupted_saves_only(tmp_path):
    folder = tmp_path / "resume"
    ResumeFile(folder / "m.pt", "f").save({"epoch": 1})
    leftovers = [folder / ".m.pt.abcd_123.pt", folder / ".m.pt.pt.abcd_123.pt", folder / "m.pt.pt"]
    for path in leftovers:  # a save killed mid-write; another model's ("m.pt") temporary and state
        path.write_bytes(b"x")
    ResumeFile(folder / "m.pt", "f").clear()
    assert sorted(folder.iterdir()) == sorted(leftovers[1:])
