"""Standard and PGD adversarial training (Madry et al., 2018) of a pixel-space classifier.

A `TrainingRecipe` is the whole procedure apart from the threat model, which comes from the model
spec (norm, ε): ε = 0 is standard training, ε > 0 trains on PGD examples only, as Madry et al.
A linear ε warm-up over the first epochs keeps small models from collapsing at large ε. A Cutout
variant masks a square of every training image before the attack (`ineqbench.models.variants`).
Training can be stopped after any epoch and continued from the state handed to `on_epoch_end`
(see `ineqbench.models.resume`), to exactly the weights of an uninterrupted run on the CPU.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ineqbench.data.batches import pixel_batches
from ineqbench.models.logits import predicted_class
from ineqbench.models.resume import restore_training_state, training_state
from ineqbench.models.settings import OPTIMIZERS, TrainingRecipe
from ineqbench.models.variants import cutout as apply_cutout
from ineqbench.threats import pgd

log = logging.getLogger(__name__)


OPTIMIZERS.add(
    "sgd",
    lambda params, r: torch.optim.SGD(params, lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay, nesterov=True),
)
OPTIMIZERS.add("adamw", lambda params, r: torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay))


def _augment(x: torch.Tensor, recipe: TrainingRecipe, gen: torch.Generator) -> torch.Tensor:
    """Random translation by up to `crop_padding` px (reflect pad + crop) and horizontal flip."""
    if recipe.crop_padding > 0:
        p = recipe.crop_padding
        padded = F.pad(x, (p, p, p, p), mode="reflect")
        h, w = x.shape[-2:]
        dy, dx = torch.randint(0, 2 * p + 1, (2,), generator=gen).tolist()
        x = padded[..., dy : dy + h, dx : dx + w]
    if recipe.horizontal_flip:
        flip = torch.rand(x.shape[0], generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1).to(x.device), x.flip(-1), x)
    return x


def train_classifier(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    recipe: TrainingRecipe,
    norm: str,
    epsilon: float,
    seed: int,
    device: torch.device,
    cutout: float = 0.0,
    start: dict | None = None,
    on_epoch_end: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train in place; returns one dict of statistics per epoch (loss, train accuracy, ε used).

    `cutout` > 0 fills a square of that share of the side with the mean training pixel in every image.
    `on_epoch_end` receives a `training_state` after every epoch (to save it; its tensors are live).
    `start`, such a state from an interrupted run of the same settings, continues after its epoch.
    """
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.from_numpy(images).float().div_(255.0)
    y_all = torch.from_numpy(labels).long()
    n = len(y_all)
    mean_pixel = x_all.mean(dim=(0, 2, 3))
    steps_per_epoch = math.ceil(n / recipe.batch_size)
    model.to(device).train()
    optimiser = OPTIMIZERS.get(recipe.optimizer)(model.parameters(), recipe)
    total_steps = recipe.epochs * steps_per_epoch
    # a warm-up of a quarter of the steps, and at least two: OneCycleLR divides by zero below that
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=recipe.lr, total_steps=total_steps, pct_start=min(0.9, max(0.25, 2 / total_steps))
    )
    history, first_epoch = [], 0
    if start is not None:
        first_epoch, history = restore_training_state(
            start, model=model, optimizer=optimiser, scheduler=schedule, generator=gen, device=device
        )
    for epoch in range(first_epoch, recipe.epochs):
        eps_now = epsilon * min(1.0, (epoch + 1) / max(1, recipe.eps_warmup_epochs))
        order = torch.randperm(n, generator=gen)
        total_loss, correct = 0.0, 0
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {epoch + 1}/{recipe.epochs} eps={eps_now:.4f}",
            leave=False,
            mininterval=10,
        )
        for step in bar:
            batch = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x = _augment(x_all[batch], recipe, gen)
            if cutout > 0:  # only then: plain training draws exactly what it drew before variants existed
                x = apply_cutout(x, cutout, mean_pixel, gen)
            x = x.to(device)
            y = y_all[batch].to(device)
            if eps_now > 0:
                x = pgd(
                    model,
                    x,
                    y,
                    norm=norm,
                    epsilon=eps_now,
                    steps=recipe.pgd_steps,
                    step_size=recipe.pgd_step_ratio * eps_now / recipe.pgd_steps,
                )
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip_norm)
            optimiser.step()
            schedule.step()
            total_loss += loss.item() * len(y)
            correct += (predicted_class(logits) == y).sum().item()
        stats = {"epoch": epoch + 1, "loss": total_loss / n, "train_accuracy": correct / n, "epsilon": eps_now}
        log.info(
            "epoch %d/%d loss %.4f train acc %.4f eps %.5f",
            epoch + 1,
            recipe.epochs,
            stats["loss"],
            stats["train_accuracy"],
            eps_now,
        )
        history.append(stats)
        if on_epoch_end is not None:
            on_epoch_end(
                training_state(
                    epoch=epoch + 1,
                    history=history,
                    model=model,
                    optimizer=optimiser,
                    scheduler=schedule,
                    generator=gen,
                    device=device,
                )
            )
    model.eval()
    return history


def batch_size_for(images: np.ndarray, limit: int, pixels_per_batch: int = 1 << 23) -> int:
    """`limit` images per batch at 32 px, fewer at 224 px (about 167 there), so a ResNet-50 PGD batch
    with its graph fits a GPU's memory while small images keep large batches."""
    return max(1, min(limit, pixels_per_batch // int(np.prod(images.shape[2:]))))


@torch.no_grad()
def clean_accuracy(
    model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, device: torch.device, batch_size: int = 500
) -> float:
    model.eval()
    batch_size = batch_size_for(images, batch_size, pixels_per_batch=1 << 24)
    batches = pixel_batches(images, labels, batch_size, device)
    correct = sum((predicted_class(model(x)) == y).sum().item() for _, x, y in batches)
    return correct / len(labels)


def robust_accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    device: torch.device,
    seed: int = 0,
    batch_size: int = 250,
) -> float:
    """Accuracy under PGD with a random start (2.5 ε / steps step size); ε = 0 gives clean accuracy."""
    model.eval()
    torch.manual_seed(seed)
    batch_size = batch_size_for(images, batch_size)
    correct = 0
    for _, x, y in pixel_batches(images, labels, batch_size, device):
        x_adv = pgd(model, x, y, norm=norm, epsilon=epsilon, steps=steps)
        with torch.no_grad():
            correct += (predicted_class(model(x_adv)) == y).sum().item()
    return correct / len(labels)
