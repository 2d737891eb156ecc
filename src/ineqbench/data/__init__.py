"""Data set builders, by name. Each builds an `ImageDataset` with no download (embedded data) or
from local files (CIFAR-10's python batches, an ImageNet validation folder).

Declared without torch: the config asks a builder for its image size from the options alone, and
the builder's code is imported when a job builds the data set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ineqbench.data.geometry import image_size_of
from ineqbench.data.options import Cifar10Options, DigitsOptions, ImageNetFolderOptions, SyntheticShapesOptions
from ineqbench.registry import Lazy, Registry


@dataclass(frozen=True)
class DatasetBuilder:
    build: Callable  # (**options) -> ImageDataset
    image_size: Callable[[dict], int]  # from the options alone, so the config can be checked early
    description: str
    options: type  # its settings class (ineqbench.data.options): names, types and ranges of the options
    paper_dataset: str | None = None  # the data set of Duan et al. it stands for (reporting puts the paper beside it)
    # (**options) -> (n, read(start, count) -> ImageSplit): the test split read a part at a time, for a split
    # too large to hold (ImageNet val); None: the built test split is sliced (`ineqbench.data.stream`)
    reader: Callable | None = None


DATASETS: Registry[DatasetBuilder] = Registry("dataset builder")
DATASETS.add(
    "synthetic_shapes",
    DatasetBuilder(
        build=Lazy("ineqbench.data.synthetic_shapes:build"),
        image_size=lambda options: int(options.get("image_size", 32)),
        options=SyntheticShapesOptions,
        description=(
            "10 shape classes, random colour/scale/rotation/position, textured cluttered background, object masks"
        ),
    ),
)
DATASETS.add(
    "digits",
    DatasetBuilder(
        build=Lazy("ineqbench.data.digits:build"),
        image_size=lambda options: int(options.get("image_size", 32)),
        options=DigitsOptions,
        description="scikit-learn's bundled 8x8 digits, resized (bilinear) to 32x32 grey RGB; mask = ink",
    ),
)
DATASETS.add(
    "cifar10",
    DatasetBuilder(
        build=Lazy("ineqbench.data.cifar10:build"),
        image_size=lambda options: 32,
        options=Cifar10Options,
        description="CIFAR-10 from the python batch files (restricted unpickler); optional first n_train/n_test",
        paper_dataset="cifar10",
    ),
)
DATASETS.add(
    "imagenet_folder",
    DatasetBuilder(
        build=Lazy("ineqbench.data.imagenet_folder:build"),
        reader=Lazy("ineqbench.data.imagenet_folder:reader"),
        image_size=image_size_of,  # image_size option (224) or the timm data config's input size
        options=ImageNetFolderOptions,
        description="ImageNet val in ImageFolder layout + class index JSON; resize/center-crop; empty train split",
        paper_dataset="imagenet",
    ),
)

__all__ = ["DATASETS", "DatasetBuilder"]
