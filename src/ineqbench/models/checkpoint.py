"""Checkpoints: safetensors weights plus a JSON model card (spec, accuracy, provenance).

Only safetensors are ever loaded, so a checkpoint can never run code when it is read.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ineqbench.errors import CorruptFile
from ineqbench.io import atomic_path, read_json, write_json
from ineqbench.models.architectures import build_classifier
from ineqbench.models.spec import ModelSpec
from ineqbench.models.wrapper import NormalizedClassifier


def save_checkpoint(model: NormalizedClassifier, weights_path: str | Path, card: dict, card_path: str | Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights_path) as tmp:
        save_file(state, str(tmp), metadata={"model_id": card["spec"]["id"]})
    write_json(card_path, card)


def load_card(card_path: str | Path) -> dict:
    return read_json(card_path)


def load_model(
    weights_path: str | Path, card_path: str | Path, device: torch.device | str = "cpu"
) -> NormalizedClassifier:
    """The classifier in eval mode with its weights, ready for [0, 1] pixels."""
    card = load_card(card_path)
    spec = ModelSpec(**card["spec"])
    model = build_classifier(spec, card["num_classes"], card["mean"], card["std"])
    load_weights(model, weights_path)
    return model.to(device).eval()


def load_weights(model: torch.nn.Module, weights_path: str | Path) -> None:
    """A checkpoint's weights into a built model of its architecture (every key, no extra one)."""
    try:
        weights = load_file(str(weights_path))
    except SafetensorError as error:  # a truncated or overwritten checkpoint
        raise CorruptFile(weights_path, f"not readable as safetensors: {error}") from error
    model.load_state_dict(weights)
