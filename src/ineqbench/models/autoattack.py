"""Robust accuracy under AutoAttack (Croce & Hein, ICML 2020), run by the reference implementation
(fra31/auto-attack, packaged as `pyautoattack`), not a re-implementation.

The attacks run one after another, each on the points that every attack before it left correctly
classified, as AutoAttack's own loop does; running them one at a time through that loop records the
accuracy after each (which attack did the work) and keeps each attack's standard hyperparameters. A point
is robust only if every attack fails on it: the per-point worst case, never an average over attacks.
Every adversarial image is checked to lie in the ε-ball and in [0, 1] before it counts.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ineqbench.models.settings import AutoAttackSettings

log = logging.getLogger(__name__)

NORMS = {"linf": "Linf", "l2": "L2"}  # the suite's threat norms in AutoAttack's names
TOLERANCE = 1e-5  # float32 slack of AutoAttack's own projection


def _distance(delta: torch.Tensor, norm: str) -> torch.Tensor:
    flat = delta.flatten(1)
    return flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)


@torch.no_grad()
def _predict(model: torch.nn.Module, x: torch.Tensor, device: torch.device, batch_size: int) -> torch.Tensor:
    return torch.cat([model(x[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(x), batch_size)])


def autoattack_accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    norm: str,
    epsilon: float,
    settings: AutoAttackSettings,
    seed: int,
    device: torch.device,
) -> dict:
    """{"clean": accuracy, <attack>: accuracy after it, ..., "robust": final accuracy} on `images`
    (uint8, N×C×H×W), each a share of all N images."""
    from pyautoattack import AutoAttack

    model.eval()
    x = torch.from_numpy(images).float().div_(255.0)
    y = torch.from_numpy(labels).long()
    n_classes = int(model(x[:1].to(device)).shape[1])
    targeted = [name for name in settings.attacks if name.endswith("-t")]
    if targeted and n_classes < 4:  # the targeted DLR loss compares the 3rd and 4th largest logits
        raise ValueError(
            f"AutoAttack's {', '.join(targeted)} need at least 4 classes; this model has {n_classes}: "
            "leave them out of autoattack/attacks"
        )
    attack = AutoAttack(model, norm=NORMS[norm], eps=epsilon, seed=seed, device=device, version="standard")
    attack.apgd_targeted.n_target_classes = min(settings.n_target_classes, n_classes - 1)
    attack.fab.n_target_classes = min(settings.n_target_classes, n_classes - 1)
    attack.square.n_queries = settings.square_queries
    robust = _predict(model, x, device, settings.batch_size) == y
    result = {"clean": float(robust.float().mean())}
    for name in settings.attacks:
        left = robust.nonzero().flatten()
        if len(left):
            attack.attacks_to_run = [name]
            x_adv, _ = attack.run_standard_evaluation(x[left], y[left], batch_size=settings.batch_size)
            x_adv = x_adv.cpu()
            outside = (_distance(x_adv - x[left], norm) > epsilon + TOLERANCE) | (x_adv.amin(dim=(1, 2, 3)) < 0)
            outside |= x_adv.amax(dim=(1, 2, 3)) > 1
            if outside.any():
                raise RuntimeError(f"AutoAttack {name} returned {int(outside.sum())} images outside the {norm} ball")
            fooled = _predict(model, x_adv, device, settings.batch_size) != y[left]
            robust[left[fooled]] = False
        result[name] = float(robust.float().mean())
        log.info("AutoAttack %s, %s ε=%.5g: accuracy %.4f after %s", norm, NORMS[norm], epsilon, result[name], name)
    result["robust"] = float(robust.float().mean())
    return result
