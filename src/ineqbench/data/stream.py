"""A data set's whole test split, read a part at a time: the builder's own reader where it has one (an
ImageNet validation folder, decoding only the part asked for), else its built test split sliced (the
embedded and CIFAR-10 splits fit in memory)."""

from __future__ import annotations

from collections.abc import Callable

from ineqbench.data import DATASETS
from ineqbench.data.base import ImageSplit


def open_test_split(builder: str, options: dict) -> tuple[int, Callable[[int, int], ImageSplit]]:
    """(number of test images, read(start, count) -> the ImageSplit of those images)."""
    entry = DATASETS.get(builder)
    if entry.reader is not None:
        return entry.reader(**options)
    test = entry.build(**options).test

    def read(start: int, count: int) -> ImageSplit:
        return ImageSplit(test.images[start : start + count], test.labels[start : start + count])

    return len(test), read
