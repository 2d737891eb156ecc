"""Each data set builder's options, written once as a settings class: the config checks their names,
types and ranges when the DAG is built (not inside a job), and docs/settings.md lists them. Each class
also says how many test images its options give, where that is known without reading data, so a pool
larger than the test split fails early too."""

from __future__ import annotations

from dataclasses import dataclass

from ineqbench.settings import setting

DIGITS_IMAGES = 1797  # scikit-learn's bundled digits


@dataclass(frozen=True)
class SyntheticShapesOptions:
    """synthetic_shapes: generated on the spot."""

    seed: int = setting(0, "seed of the generated images", minimum=0)
    n_train: int = setting(5000, "training images", minimum=1)
    n_test: int = setting(1000, "test images", minimum=1)
    image_size: int = setting(32, "side in px", minimum=8)

    def test_images(self) -> int | None:
        return self.n_test


@dataclass(frozen=True)
class DigitsOptions:
    """digits: scikit-learn's bundled 8x8 digits, resized."""

    seed: int = setting(0, "seed of the train/test split", minimum=0)
    test_fraction: float = setting(0.3, "share of the 1797 images in the test split", exclusiveMinimum=0, maximum=0.9)
    image_size: int = setting(32, "side in px", minimum=8)

    def test_images(self) -> int | None:
        return int(round(self.test_fraction * DIGITS_IMAGES))


@dataclass(frozen=True)
class Cifar10Options:
    """cifar10: the python batch files."""

    root: str = setting(doc="folder holding (or to hold) cifar-10-batches-py; ${VAR} is expanded")
    download: bool = setting(False, "download the archive when missing (needs internet)")
    n_train: int | None = setting(None, "only the first n training images (null: all 50,000)", minimum=1)
    n_test: int | None = setting(None, "only the first n test images (null: all 10,000)", minimum=1)

    def test_images(self) -> int | None:
        return self.n_test or 10_000


@dataclass(frozen=True)
class ImageNetFolderOptions:
    """imagenet_folder: a validation folder in ImageFolder layout."""

    root: str = setting(doc="the validation folder (one sub-folder per WordNet id); ${VAR} is expanded")
    class_index: str = setting(doc="the class index JSON (index -> [wnid, name]); ${VAR} is expanded")
    image_size: int | None = setting(None, "centre-crop side in px (null: 224 or the timm data config's)", minimum=8)
    resize: int | None = setting(None, "shorter side before the crop (null: image_size / crop_pct)", minimum=8)
    interpolation: str | None = setting(None, "bilinear or bicubic (null: bilinear or the timm data config's)")
    timm_data_config: str | None = setting(None, "a timm model name whose pretrained data config sets the geometry")
    subset: int | None = setting(None, "a seeded subset of this many images (null: all)", minimum=1)
    subset_seed: int = setting(0, "seed of the subset", minimum=0)

    def test_images(self) -> int | None:
        return self.subset  # the folder's size is known only when it is read
