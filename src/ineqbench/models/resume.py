"""Per-epoch resume state of a training job, so a job killed at its time limit loses at most one epoch.

After every epoch the job writes everything the next epoch depends on (weights, optimiser and
schedule, the shuffling/augmentation generator and the global RNGs that PGD's random start and
dropout draw from, the history) to one file; a resubmitted job (Snakemake `--retries`) continues from
it and, on the CPU, ends with exactly the weights of an uninterrupted run.

The file is deliberately not a Snakemake output: Snakemake deletes the outputs of a failed job, which
is exactly the job whose state we want to keep. It carries a fingerprint of what is trained (spec,
recipe, data, library versions), so a state left over from other settings is ignored, never reused.
It holds only tensors and plain containers and is read with `torch.load(weights_only=True)`, so
reading it can never run code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ineqbench.io import atomic_path, sha256_file, stable_hash

log = logging.getLogger(__name__)

STATE_KEYS = frozenset({"fingerprint", "epoch", "history", "model", "optimizer", "scheduler", "generator", "rng"})


def training_fingerprint(spec: dict, recipe: dict, data_paths: list[str | Path]) -> str:
    """What a training run's trajectory depends on: the spec (arch, threat model, seed), the recipe,
    the data's content (not its path or mtime: a re-made but identical file still resumes) and the
    torch/timm versions (another version need not build the same net or take the same steps)."""
    import timm

    return stable_hash(
        {
            "spec": spec,
            "recipe": recipe,
            "data_sha256": [sha256_file(p) for p in data_paths],
            "versions": {"torch": torch.__version__, "timm": timm.__version__},
        }
    )


def training_state(
    *,
    epoch: int,
    history: list[dict],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    device: torch.device,
) -> dict:
    """Everything epoch `epoch` + 1 depends on. Its tensors are the live ones: save it before training on."""
    rng = {"cpu": torch.get_rng_state()}  # PGD's random start and dropout draw from the global RNGs
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return {
        "epoch": epoch,
        "history": [dict(h) for h in history],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(),
        "rng": rng,
    }


def restore_training_state(
    state: dict,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[int, list[dict]]:
    """Put a `training_state` back in place; returns (epochs completed, history so far).

    The scheduler is loaded after the optimiser: building OneCycleLR rewrote the groups' lr, and the
    optimiser's saved groups put back the lr of the step where the state was taken."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["rng"]["cpu"])
    if device.type == "cuda" and "cuda" in state["rng"]:
        torch.cuda.set_rng_state(state["rng"]["cuda"], device)
    return int(state["epoch"]), [dict(h) for h in state["history"]]


@dataclass(frozen=True)
class ResumeFile:
    """Where one model's resume state lives, and the fingerprint a state there must carry to be used."""

    path: Path
    fingerprint: str
    label: str = "model"  # how log lines name the model

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def load(self) -> dict | None:
        """The saved state, or None (logged) when there is none, it is unreadable or it is stale."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            missing = STATE_KEYS - set(state) if isinstance(state, dict) else STATE_KEYS
            if missing:
                raise ValueError(f"missing {sorted(missing)}")
        except Exception as error:  # any unreadable file means the same thing: train from scratch
            log.warning(
                "resume state %s of %s is unreadable (%s: %s); ignoring it, training from scratch",
                self.path,
                self.label,
                type(error).__name__,
                error,
            )
            return None
        if state["fingerprint"] != self.fingerprint:
            log.warning(
                "resume state %s of %s was written for other settings or data (fingerprint %s, now %s); "
                "ignoring it, training from scratch",
                self.path,
                self.label,
                state["fingerprint"],
                self.fingerprint,
            )
            return None
        return state

    def save(self, state: dict) -> None:
        """Write atomically, so a job killed while saving leaves the previous epoch's state intact."""
        with atomic_path(self.path) as tmp:
            torch.save({**state, "fingerprint": self.fingerprint}, tmp)

    def clear(self) -> None:
        """Remove the state, and temporary files of saves that a kill interrupted (atomic_path's
        cleanup does not run under SIGKILL)."""
        self.path.unlink(missing_ok=True)
        # atomic_path's names: ".<name>.<8 random chars><suffix>"; the exact width keeps the glob off
        # another model's temporaries (model "a.pt" saves to ".a.pt.pt.<8>.pt")
        for stale in self.path.parent.glob(f".{self.path.name}.{'?' * 8}{self.path.suffix}"):
            stale.unlink(missing_ok=True)
