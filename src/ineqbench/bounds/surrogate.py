"""The softplus(β) surrogate of a ReLU network, for second-order quantities.

A ReLU network is piecewise linear: autograd gives its Hessian as zero almost everywhere, so the
Jacobian of a gradient attribution is zero and that of IG collapses to diag(mean gradient). A bound
built from it says nothing about the jumps between linear regions, and an attack that steps along
second-order gradients gets none. The usual remedy (Dombrowski et al. 2019; Ghorbani et al. 2019) is
to replace every ReLU by softplus_β(z) = log(1 + exp(β z)) / β, which tends to ReLU as β grows
(|softplus_β(z) - relu(z)| <= log(2) / β) and has a non-zero Hessian. The surrogate is a deep copy:
the real network stays as it is for label checks and for reporting deviations on the real function.

What is swapped: every `nn.ReLU` module, which covers timm's models (`create_act_layer("relu")` and
the `act_layer=nn.ReLU` defaults build `nn.ReLU` modules, also inside `BatchNormAct2d`). A ReLU called
functionally inside a forward (F.relu) is invisible to a module swap; other kinked modules (ReLU6,
LeakyReLU, hard activations, max pooling) are left as they are and listed in `kinked_left`, so a
caller can report that the surrogate is only partly smooth.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

# Piecewise-linear (or kinked) modules that are not swapped; reported, never silently ignored.
_KINKED = (
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardshrink,
    nn.Softshrink,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AdaptiveMaxPool2d,
)


@dataclass(frozen=True)
class Surrogate:
    """A smooth copy of a model: the copy, its β, how many ReLUs were replaced, what stays kinked."""

    model: nn.Module
    beta: float
    replaced: int
    kinked_left: tuple[str, ...]  # qualified names of kinked modules left in place


def softplus_surrogate(model: nn.Module, beta: float) -> Surrogate:
    """A deep copy of `model` with every nn.ReLU replaced by nn.Softplus(beta); the original is untouched.

    The copy keeps the original's train/eval mode. `replaced == 0` means the model had no ReLU
    module (a smooth-activation model needs no surrogate).
    """
    if beta <= 0:
        raise ValueError(f"softplus beta must be positive, got {beta}")
    smooth = copy.deepcopy(model)
    # Collect first, then swap: replacing children while iterating named_modules would skip some.
    targets = [
        (parent, name)
        for parent in smooth.modules()
        for name, child in parent.named_children()
        if type(child) is nn.ReLU
    ]  # exact type: a subclass may carry behaviour a Softplus lacks
    for parent, name in targets:
        softplus = nn.Softplus(beta=beta)
        softplus.train(parent.training)
        setattr(parent, name, softplus)
    kinked = tuple(name for name, module in smooth.named_modules() if isinstance(module, _KINKED))
    smooth.surrogate_beta = float(beta)  # travels with the module, e.g. into logs and provenance
    return Surrogate(model=smooth, beta=float(beta), replaced=len(targets), kinked_left=kinked)
