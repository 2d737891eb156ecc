"""The in-memory image-set contract shared by every dataset builder.

Images are uint8 NCHW (exact, compact, and the [0, 1] float view is a single division), labels int64,
and an optional boolean object mask per image (N, H, W) for data sets that know where the object is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ImageSplit:
    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # int64 (N,)
    masks: np.ndarray | None = None  # bool (N, H, W)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {self.images.shape}")
        if len(self.labels) != len(self.images):
            raise ValueError("images and labels differ in length")
        if self.masks is not None and self.masks.shape != (len(self.images), *self.images.shape[2:]):
            raise ValueError(f"masks must be (N, H, W), got {self.masks.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> ImageSplit:
        masks = None if self.masks is None else self.masks[index]
        return ImageSplit(self.images[index], self.labels[index], masks)

    def as_float(self) -> np.ndarray:
        """Pixels in [0, 1], float32: the input space of every model in the suite."""
        return self.images.astype(np.float32) / 255.0


@dataclass(frozen=True)
class ImageDataset:
    """A train and a test split plus class names; what a dataset builder returns."""

    train: ImageSplit
    test: ImageSplit
    class_names: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]
