"""CIFAR-style ResNet-18 and DenseNet-121, registered as timm models.

The paper trains a ResNet18 and a DenseNet on CIFAR-10. The architectures that CIFAR adversarial
training papers use (the `pytorch-cifar` ones) keep 32 px images large: a 3x3 stride-1 stem and no
stem max-pool, where the ImageNet versions downsample by 4 before the first block and end at 1x1.
Building them from timm's ResNet and DenseNet classes keeps one architecture registry (timm), so
`cifar_resnet18` works wherever a timm name does.
"""

from __future__ import annotations

from timm.models import register_model
from timm.models.densenet import DenseNet
from timm.models.resnet import BasicBlock, ResNet
from torch import nn


def _architecture_kwargs(kwargs: dict) -> dict:
    """timm's factory adds pretrained-weight arguments that the bare classes do not take."""
    return {k: v for k, v in kwargs.items() if k not in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir")}


@register_model
def cifar_resnet18(pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet-18 with a 3x3 stride-1 stem and no max-pool (11.2 M parameters at 10 classes)."""
    if pretrained:
        raise ValueError("cifar_resnet18 has no pretrained weights; fetch them with a model source instead")
    model = ResNet(block=BasicBlock, layers=[2, 2, 2, 2], **_architecture_kwargs(kwargs))
    model.conv1 = nn.Conv2d(model.conv1.in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


@register_model
def cifar_densenet121(pretrained: bool = False, **kwargs) -> DenseNet:
    """DenseNet-121 (growth 32) with a 3x3 stride-1 stem and no stem pooling."""
    if pretrained:
        raise ValueError("cifar_densenet121 has no pretrained weights; fetch them with a model source instead")
    model = DenseNet(growth_rate=32, block_config=(6, 12, 24, 16), **_architecture_kwargs(kwargs))
    stem_channels = model.features.conv0.out_channels
    model.features.conv0 = nn.Conv2d(
        model.features.conv0.in_channels, stem_channels, kernel_size=3, stride=1, padding=1, bias=False
    )
    model.features.pool0 = nn.Identity()
    return model
