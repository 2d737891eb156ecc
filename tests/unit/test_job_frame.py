"""The job frame and its one-line failures: inputs checked against the checksums their writers recorded
(flipped bytes, truncation), a full disk and a read-only folder named with their fix, the traceback kept
in the job's log, temporaries of a killed attempt removed, SIGTERM unwinding like an exception."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from ineqbench.errors import CorruptFile, explain, regenerate_command
from ineqbench.io import atomic_path
from ineqbench.job import Terminated, snakemake_job
from ineqbench.ledger import check_intact, read_entry, record
from tests.helpers.workflow import ROOT

CACHE = "results/default/shapes/attributions/m/ig.npz"
SCORES = "results/default/shapes/inequality/m/ig.parquet"


@pytest.fixture()
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path(CACHE).parent.mkdir(parents=True)
    Path(CACHE).write_bytes(bytes(range(256)) * 64)
    record([CACHE], "attribute", "v1")
    return tmp_path


def job(outputs=(SCORES,), inputs=(CACHE,)) -> SimpleNamespace:
    """The object Snakemake injects into a script, as far as the frame reads it."""
    return SimpleNamespace(
        rule="score_inequality",
        scriptdir=str(ROOT / "workflow_scripts"),
        input=list(inputs),
        output=list(outputs),
        log=["logs/score.log"],
    )


def flip_one_byte(path: str, at: int = 100) -> None:
    data = bytearray(Path(path).read_bytes())
    data[at] ^= 0x01
    Path(path).write_bytes(bytes(data))


def test_the_writer_records_size_and_checksum_and_an_intact_file_passes(here):
    entry = read_entry(CACHE)
    assert entry["bytes"] == 256 * 64 and len(entry["sha256"]) == 64
    check_intact(CACHE)
    check_intact("config/not-an-output.yaml")  # no recorded checksum: nothing to check


@pytest.mark.parametrize(
    "damage, says",
    [
        (flip_one_byte, "its sha256 differs from the one recorded when rule attribute wrote it"),
        (lambda p: os.truncate(p, 1000), "1000 bytes, 16384 when rule attribute wrote it"),
    ],
)
def test_a_damaged_input_stops_the_job_with_one_line_before_it_writes(here, capsys, damage, says):
    damage(CACHE)
    ran = False
    with pytest.raises(SystemExit) as stop:
        with snakemake_job(job()):
            ran = True
    assert stop.value.code == 1 and not ran and read_entry(SCORES) is None
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"ineqbench: {CACHE} is corrupt ({says}); make it again with "
        f"`snakemake --cores 1 --force {CACHE}`, then rerun the workflow (traceback in logs/score.log)"
    ]
    assert "Traceback" in Path("logs/score.log").read_text()


def test_the_command_names_the_config_files_of_the_experiment():
    assert regenerate_command("results/paper_cifar10/c/x.npz").endswith("x.npz --configfile config/paper_cifar10.yaml")
    assert regenerate_command("results/a+b/c/x.npz").endswith("--configfile config/a.yaml config/b.yaml")


@pytest.mark.parametrize(
    "error, says",
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "results/x/y.npz"),
            "no space left on the device writing results/x/y.npz",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "results/x/y.npz"),
            "no permission to write results/x/y.npz",
        ),
        (OSError(errno.EROFS, "Read-only file system", "results/x/y.npz"), "chmod u+w results/x"),
        (FileNotFoundError(errno.ENOENT, "No such file", "results/x/y.npz"), "missing file results/x/y.npz"),
        (CorruptFile("results/x/y.npz", "unreadable"), "results/x/y.npz is corrupt (unreadable)"),
    ],
)
def test_failures_a_user_can_act_on_are_explained_in_one_line(error, says):
    line = explain(error)
    assert says in line and "\n" not in line


def test_a_bug_keeps_its_traceback(here):
    assert explain(KeyError("x")) is None and explain(OSError(errno.EIO, "I/O error")) is None
    with pytest.raises(KeyError), snakemake_job(job()):
        raise KeyError("x")


def test_a_full_disk_names_the_output_being_written(here, capsys):
    with pytest.raises(SystemExit), snakemake_job(job()):
        with atomic_path(SCORES):
            raise OSError(errno.ENOSPC, "No space left on device")  # what a failed write raises: no file name
    assert f"no space left on the device writing {SCORES}" in capsys.readouterr().err
    assert list(Path(SCORES).parent.iterdir()) == []  # nor the temporary


def test_temporaries_of_a_killed_attempt_are_removed_and_sigterm_unwinds(here):
    Path(SCORES).parent.mkdir(parents=True)
    orphan = Path(SCORES).with_name(f".{Path(SCORES).name}.k1ll3d.parquet")
    orphan.write_text("half")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), snakemake_job(job()):
        assert not orphan.exists()
        with atomic_path(SCORES) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
    assert list(Path(SCORES).parent.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_truncated_checkpoint_is_named_as_corrupt(tmp_path):
    import torch

    from ineqbench.models.architectures import build_classifier
    from ineqbench.models.checkpoint import load_model, save_checkpoint
    from ineqbench.models.spec import ModelSpec

    spec = ModelSpec(id="a", dataset="tiny", arch="test_resnet", seed=0)
    model = build_classifier(spec, 3, [0.5] * 3, [0.25] * 3)
    weights, card = tmp_path / "a.safetensors", tmp_path / "a.json"
    save_checkpoint(
        model, str(weights), {"spec": spec.as_dict(), "num_classes": 3, "mean": [0.5] * 3, "std": [0.25] * 3}, str(card)
    )
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CorruptFile, match=f"{weights} is corrupt \\(not readable as safetensors"):
        load_model(weights, card, torch.device("cpu"))
