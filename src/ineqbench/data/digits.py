"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images), resized to 32x32.

The data ship inside scikit-learn, so nothing is downloaded. Grey levels 0..16 become [0, 1],
bilinear upsampling to `image_size`, replicated to three channels so every model takes RGB. The
object mask is the ink (intensity above 0.25), which makes "attribution mass on the digit" measurable.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ineqbench.data.base import ImageDataset, ImageSplit


def build(seed: int = 0, test_fraction: float = 0.3, image_size: int = 32) -> ImageDataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    grey = images.clamp(0, 1).numpy()
    pixels = np.round(np.repeat(grey, 3, axis=1) * 255).astype(np.uint8)
    masks = grey[:, 0] > 0.25
    labels = bunch.target.astype(np.int64)

    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    split = lambda idx: ImageSplit(pixels[idx], labels[idx], masks[idx])  # noqa: E731
    return ImageDataset(
        split(train),
        split(test),
        [str(d) for d in range(10)],
        meta={"source": "sklearn.datasets.load_digits", "seed": seed},
    )
