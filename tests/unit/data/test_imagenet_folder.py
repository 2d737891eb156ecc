"""imagenet_folder: ImageFolder layout + class index, resize / centre crop, seeded subsets, timm configs."""

import json
import socket

import numpy as np
import pytest
from PIL import Image

from ineqbench.data import DATASETS, geometry, imagenet_folder
from ineqbench.data.prepare import load_split, prepare_dataset
from ineqbench.io import read_json
from tests.helpers.data import synthetic_wnids, write_imagenet_folder

WNIDS = synthetic_wnids(1000)
HELD = [WNIDS[7], WNIDS[3], WNIDS[512]]  # a partial copy: three of the 1000 classes
SMALL = {"image_size": 32, "resize": 36}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_imagenet_folder(
        tmp_path_factory.mktemp("imagenet"), HELD, per_class=3, size=(40, 30), seed=0, index_classes=WNIDS
    )


def test_labels_come_from_the_index_not_the_folder_order(folder):
    val, index = folder
    dataset = imagenet_folder.build(root=str(val), class_index=str(index), **SMALL)
    # folders sorted by wnid: n...003, n...007, n...512; labels are their index positions
    np.testing.assert_array_equal(dataset.test.labels, [3] * 3 + [7] * 3 + [512] * 3)
    assert dataset.test.labels.dtype == np.int64
    assert dataset.class_names == [f"{w}_name" for w in WNIDS]  # all 1000, in index order
    assert dataset.test.images.shape == (9, 3, 32, 32) and dataset.test.images.dtype == np.uint8
    assert dataset.test.masks is None


def test_train_split_is_empty_and_meta_is_complete(folder):
    val, index = folder
    dataset = imagenet_folder.build(root=str(val), class_index=str(index), **SMALL)
    assert dataset.train.images.shape == (0, 3, 32, 32) and len(dataset.train) == 0
    assert dataset.image_shape == (3, 32, 32)
    assert dataset.meta == {
        "source": "imagenet_folder",
        "root": str(val),
        "class_index": str(index),
        "n_files_found": 9,
        "subset": None,
        "subset_seed": 0,
        "resize": 36,
        "crop": 32,
        "interpolation": "bilinear",
        "timm_data_config": None,
        "mean": pytest.approx(IMAGENET_MEAN),
        "std": pytest.approx(IMAGENET_STD),
    }


def test_paper_geometry_equals_torchvision_resize_256_center_crop_224(tmp_path):
    from torchvision import transforms
    from torchvision.transforms import v2

    val, index = write_imagenet_folder(
        tmp_path, [WNIDS[0]], per_class=1, size=(300, 400), seed=1, index_classes=WNIDS[:5]
    )
    dataset = imagenet_folder.build(root=str(val), class_index=str(index))  # defaults: 256 -> 224 bilinear
    (path,) = (val / WNIDS[0]).iterdir()
    pil = Image.open(path).convert("RGB")
    assert pil.width != pil.height
    expected_v2 = np.asarray(v2.Compose([v2.Resize(256), v2.CenterCrop(224)])(pil)).transpose(2, 0, 1)
    expected_v1 = np.asarray(transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])(pil))
    np.testing.assert_array_equal(dataset.test.images[0], expected_v2)
    np.testing.assert_array_equal(dataset.test.images[0], expected_v1.transpose(2, 0, 1))
    assert dataset.meta["resize"] == 256 and dataset.meta["crop"] == 224


def test_bicubic_is_selectable_and_unknown_interpolation_fails(folder):
    val, index = folder
    bilinear = imagenet_folder.build(root=str(val), class_index=str(index), **SMALL)
    bicubic = imagenet_folder.build(root=str(val), class_index=str(index), interpolation="bicubic", **SMALL)
    assert not np.array_equal(bilinear.test.images, bicubic.test.images)
    with pytest.raises(KeyError, match="unknown interpolation 'bicubix'. Did you mean 'bicubic'"):
        imagenet_folder.build(root=str(val), class_index=str(index), interpolation="bicubix", **SMALL)


def test_subset_is_seeded_deterministic_and_nested(folder):
    val, index = folder
    build = lambda n, seed: imagenet_folder.build(  # noqa: E731
        root=str(val), class_index=str(index), subset=n, subset_seed=seed, **SMALL
    )
    full = imagenet_folder.build(root=str(val), class_index=str(index), **SMALL)
    a, b, other = build(4, 0), build(4, 0), build(4, 1)
    np.testing.assert_array_equal(a.test.images, b.test.images)
    assert len(a.test) == 4 and a.meta["n_files_found"] == 9 and a.meta["subset"] == 4
    assert not np.array_equal(a.test.images, other.test.images)
    chosen = imagenet_folder.choose_subset(9, 4, 0)
    np.testing.assert_array_equal(a.test.images, full.test.images[chosen])  # the same images, file order
    np.testing.assert_array_equal(a.test.labels, full.test.labels[chosen])
    assert set(chosen) <= set(imagenet_folder.choose_subset(9, 6, 0))  # a larger subset extends it
    with pytest.raises(ValueError, match="subset 10 must be between 1 and the 9 images found"):
        build(10, 0)


def test_timm_data_config_comes_from_the_pretrained_cfg(folder, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the pretrained cfg must come without network access")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    resolved = geometry.resolve_geometry(timm_data_config="resnet50.a1_in1k")
    assert (resolved.image_size, resolved.resize, resolved.interpolation) == (224, 235, "bicubic")
    assert resolved.mean == pytest.approx(IMAGENET_MEAN) and resolved.std == pytest.approx(IMAGENET_STD)
    assert DATASETS.get("imagenet_folder").image_size({"timm_data_config": "resnet50.a1_in1k"}) == 224
    inception = geometry.resolve_geometry(timm_data_config="inception_v3.tv_in1k")
    # timm records this torchvision port with the Inception normalisation: mean and std follow the config
    assert (inception.image_size, inception.resize) == (299, 341) and inception.mean == [0.5, 0.5, 0.5]

    val, index = folder
    dataset = imagenet_folder.build(
        root=str(val), class_index=str(index), timm_data_config="resnet50.a1_in1k", subset=1
    )
    assert dataset.test.images.shape == (1, 3, 224, 224)
    assert dataset.meta["resize"] == 235 and dataset.meta["interpolation"] == "bicubic"
    assert dataset.meta["timm_data_config"] == "resnet50.a1_in1k"

    with pytest.raises(ValueError, match="not both"):
        geometry.resolve_geometry(image_size=224, timm_data_config="resnet50.a1_in1k")
    with pytest.raises(ValueError, match="no pretrained config 'resnet50.nope'"):
        geometry.resolve_geometry(timm_data_config="resnet50.nope")
    with pytest.raises(ValueError, match="no pretrained config 'resnet5.a1_in1k'"):
        DATASETS.get("imagenet_folder").image_size({"timm_data_config": "resnet5.a1_in1k"})


def test_default_normalisation_is_timms():
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

    assert geometry.IMAGENET_DEFAULT_MEAN == list(IMAGENET_DEFAULT_MEAN)
    assert geometry.IMAGENET_DEFAULT_STD == list(IMAGENET_DEFAULT_STD)


def test_builder_image_size_from_options():
    size = DATASETS.get("imagenet_folder").image_size
    assert size({}) == 224 and size({"image_size": 32, "resize": 36}) == 32
    assert geometry.resolve_geometry(image_size=224).resize == 256  # default keeps 224/256
    with pytest.raises(ValueError, match="resize 30 is smaller than image_size 32"):
        size({"image_size": 32, "resize": 30})


def test_unknown_wnid_names_the_folder(tmp_path):
    val, index = write_imagenet_folder(tmp_path, [WNIDS[1], "n99999999"], per_class=1, seed=0, index_classes=WNIDS[:10])
    with pytest.raises(ValueError, match=r"n99999999.*not a wnid of the class index"):
        imagenet_folder.build(root=str(val), class_index=str(index), **SMALL)


def test_missing_root_index_or_images(tmp_path):
    val, index = write_imagenet_folder(tmp_path, [WNIDS[0]], per_class=1, seed=0)
    with pytest.raises(FileNotFoundError, match=f"ImageNet folder {tmp_path / 'nowhere'} not found"):
        imagenet_folder.build(root=str(tmp_path / "nowhere"), class_index=str(index), **SMALL)
    with pytest.raises(FileNotFoundError, match=r"class index .*missing.json not found"):
        imagenet_folder.build(root=str(val), class_index=str(tmp_path / "missing.json"), **SMALL)
    empty = tmp_path / "empty"
    (empty / WNIDS[0]).mkdir(parents=True)
    (empty / WNIDS[0] / "notes.txt").write_text("not an image")
    with pytest.raises(FileNotFoundError, match=f"no images found in {empty}"):
        imagenet_folder.build(root=str(empty), class_index=str(index), **SMALL)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0": ["n0", "a"], "2": ["n2", "c"]}))
    with pytest.raises(ValueError, match="keys must be the labels"):
        imagenet_folder.load_class_index(bad)


def test_prepare_dataset_uses_the_imagenet_normalisation(folder, tmp_path):
    val, index = folder
    paths = {
        k: str(tmp_path / f"{k}.{ext}")
        for k, ext in (("train_path", "npz"), ("test_path", "npz"), ("pool_path", "parquet"), ("info_path", "json"))
    }
    prepare_dataset(
        builder="imagenet_folder",
        options={"root": str(val), "class_index": str(index), **SMALL},
        pool_size=5,
        seed=0,
        **paths,
    )
    info = read_json(paths["info_path"])
    assert info["train_pixel_mean"] == pytest.approx(IMAGENET_MEAN)
    assert info["train_pixel_std"] == pytest.approx(IMAGENET_STD)
    assert info["normalisation"] == "builder meta"
    assert info["n_train"] == 0 and info["n_test"] == 9 and info["image_shape"] == [3, 32, 32]
    assert len(info["class_names"]) == 1000 and info["meta"]["source"] == "imagenet_folder"
    assert len(load_split(paths["train_path"])) == 0 and len(load_split(paths["test_path"])) == 9
