"""The engine under every attribution method: gradients of the target logit at many points, taken in
forward + input-gradient backward passes of up to `pass_size` points, and summed per unit.

A method describes its work as units (an image, or an image and one noise sample): each unit has
points p_k, one target class and weights w_k, and its result is sum_k w_k * grad f_t(p_k). Integrated
Gradients is one unit per image with p_k = b + a_k (x - b) and w_k = step_k * (x - b); SmoothGrad one
with p_k = x + noise_k and w_k = 1 / S. Units are built lazily, one at a time, so memory holds one pass
and not every path point of a batch; their results do not depend on how units share passes.

On a GPU a pass that runs out of memory is halved and retried (the results are the same: a pass only
groups work). On a CPU the pass is also capped by its size in values, past which the rate falls
(benchmarks/RESULTS.md: resnet18 at 224 px runs at 17 img/s in passes of 20 and 10 in passes of 80).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext

import torch

log = logging.getLogger(__name__)

# On a CPU, the most input values in one pass (2**22: 1365 images of 3x32x32, 27 of 3x224x224).
CPU_PASS_VALUES = 2**22

FLOAT16_SCALE = 1024.0

Unit = Callable[[int], tuple[torch.Tensor, torch.Tensor]]  # u -> (points (S, C, H, W), weights (S, ...))


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a `precision` setting: None for float32; for mixed, bfloat16 where the
    device supports it (every CPU torch runs it; GPUs from Ampere on), else float16."""
    if precision == "float32":
        return None
    if precision != "mixed":
        raise ValueError(f"unknown precision {precision!r}; valid: float32, mixed")
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def pass_size(internal_batch_size: int, image_shape: tuple[int, ...], device: torch.device) -> int:
    """Points per pass: `internal_batch_size`, capped on a CPU at CPU_PASS_VALUES input values."""
    if device.type != "cpu":
        return internal_batch_size
    numel = 1
    for d in image_shape:
        numel *= d
    return max(1, min(internal_batch_size, CPU_PASS_VALUES // numel))


def target_gradients(
    model, points: torch.Tensor, targets: torch.Tensor, autocast: torch.dtype | None = None
) -> torch.Tensor:
    """d logit_t / d input at each point, in one forward and one input-gradient backward pass."""
    z = points.detach().requires_grad_(True)
    context = torch.autocast(z.device.type, dtype=autocast) if autocast is not None else nullcontext()
    with torch.enable_grad(), context:
        picked = model(z).gather(1, targets[:, None]).float().sum()
    if autocast == torch.float16:  # scaled, so that small float16 gradients do not flush to zero
        return torch.autograd.grad(picked * FLOAT16_SCALE, z)[0] / FLOAT16_SCALE
    return torch.autograd.grad(picked, z)[0]


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


class PassRunner:
    """Runs passes, halving a pass that runs out of GPU memory (and keeping the smaller size)."""

    def __init__(self, model, size: int, autocast: torch.dtype | None = None):
        self.model, self.size, self.autocast = model, max(1, size), autocast

    def gradients(self, points: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        parts, start = [], 0
        while start < len(points):
            n = min(self.size, len(points) - start)
            try:
                piece = slice(start, start + n)
                parts.append(target_gradients(self.model, points[piece], targets[piece], self.autocast))
            except RuntimeError as err:  # torch.OutOfMemoryError is one
                if not _is_out_of_memory(err) or n == 1:
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                self.size = (n + 1) // 2
                log.warning("out of memory in a pass of %d points: passes of %d from now on", n, self.size)
                continue
            start += n
        return torch.cat(parts)


def unit_sums(runner: PassRunner, n_units: int, unit: Unit, targets: torch.Tensor) -> torch.Tensor:
    """(n_units, C, H, W): sum_k w_k * grad f_t(p_k) of each unit; targets[u] is unit u's class."""
    sums: list[torch.Tensor | None] = [None] * n_units
    pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []

    def run() -> None:
        points = torch.cat([p for _, p, _ in pending])
        classes = torch.cat([targets[u].expand(len(p)) for u, p, _ in pending])
        grads = runner.gradients(points, classes)
        for (u, _, w), g in zip(pending, grads.split([len(p) for _, p, _ in pending]), strict=True):
            part = (g * w).sum(0)
            sums[u] = part if sums[u] is None else sums[u] + part
        pending.clear()

    for u in range(n_units):
        points, weights = unit(u)
        weights = weights.expand(len(points), *weights.shape[1:])
        for start in range(0, len(points), runner.size):  # a unit longer than a pass is split
            piece = points[start : start + runner.size]
            if pending and sum(len(p) for _, p, _ in pending) + len(piece) > runner.size:
                run()
            pending.append((u, piece, weights[start : start + runner.size]))
    if pending:
        run()
    return torch.stack(sums)


def logits_at(runner: PassRunner, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The target logits of a batch without gradients, in passes of the runner's size."""
    with torch.no_grad():
        parts = [
            runner.model(x[i : i + runner.size]).gather(1, targets[i : i + runner.size, None])[:, 0].float()
            for i in range(0, len(x), runner.size)
        ]
    return torch.cat(parts)
