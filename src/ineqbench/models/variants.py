"""The variants of the comparison families, in torch: Cutout (DeVries & Taylor 2017) and pruning
through torch.nn.utils.prune, l1-norm filter pruning (Li et al. 2017) and magnitude weight pruning
(Han et al. 2015).

A pruned model is fine-tuned with its masks in place (the pruned weights stay zero) and the masks are
made permanent before it is saved, so a pruned checkpoint is a plain state dict that loads like any
other; its sparsity is measured from the saved weights (`sparsity`), never taken from the settings.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune

from ineqbench.models.settings import PRUNING


def cutout(x: torch.Tensor, share: float, fill: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Every image with one square of side `share` × its side filled with `fill` (the mean pixel, per
    channel), centred anywhere in the image so that it may hang over the border, as DeVries & Taylor."""
    n, _, h, w = x.shape
    side = max(1, round(share * min(h, w)))
    cy = torch.randint(0, h, (n, 1, 1), generator=gen)
    cx = torch.randint(0, w, (n, 1, 1), generator=gen)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    top, left = cy - side // 2, cx - side // 2
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return torch.where(inside.unsqueeze(1).to(x.device), fill.view(1, -1, 1, 1).to(x), x)


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _norm_after(model: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    """Each convolution's batch norm, when it is the next layer registered after it with as many
    channels (conv1/bn1 in timm's blocks): a pruned filter's channel is switched off there too."""
    pairs, last = {}, None
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            last = module
        elif isinstance(module, nn.BatchNorm2d) and last is not None:
            if module.num_features == last.out_channels and module.affine:
                pairs[last] = module
            last = None
    return pairs


@PRUNING.register("l1_filter")
def prune_filters(model: nn.Module, amount: float) -> None:
    """In every convolution, the `amount` share of filters with the smallest l1 norm (Li et al. 2017).
    Removing a filter removes its output channel, so the scale and shift of the batch norm after it
    are masked as well: the channel is exactly zero, as if it had been cut out, not a constant."""
    norms = _norm_after(model)
    for conv in _convs(model):
        prune.ln_structured(conv, "weight", amount=amount, n=1, dim=0)
        if conv in norms:
            kept = conv.weight_mask.flatten(1).amax(dim=1)
            prune.custom_from_mask(norms[conv], "weight", kept)
            prune.custom_from_mask(norms[conv], "bias", kept)


@PRUNING.register("magnitude")
def prune_weights(model: nn.Module, amount: float) -> None:
    """The `amount` share of all convolution and linear weights with the smallest magnitude, ranked
    across layers (global magnitude pruning: Han et al. 2015 set a threshold per layer by hand; one
    global ranking needs no per-layer choice and lets the layers with most redundancy lose most)."""
    weights = [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    prune.global_unstructured(weights, pruning_method=prune.L1Unstructured, amount=amount)


def make_permanent(model: nn.Module) -> None:
    """Fold every pruning mask into its weight and drop the mask: the state dict is a plain one again."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)


def sparsity(model: nn.Module) -> dict:
    """Measured from the weights: the share of zero convolution and linear weights, and of all-zero
    convolution filters."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    filters = torch.cat([c.weight.detach().flatten(1).abs().amax(dim=1) for c in _convs(model)])
    return {
        "weights": sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights),
        "filters": float((filters == 0).float().mean()),
    }
