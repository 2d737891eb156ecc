"""cifar10: the python batch files, read pixel-exactly through a restricted unpickler."""

import os
import pickle

import numpy as np
import pytest

from ineqbench.data import DATASETS, cifar10
from tests.helpers.data import CIFAR10_CLASSES, write_cifar10_batches


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    return write_cifar10_batches(tmp_path_factory.mktemp("cifar"), n_per_batch=4, seed=0)


def raw(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")  # our own trusted fixture file


def test_round_trips_pixel_exactly(batches):
    dataset = cifar10.build(root=str(batches.parent))
    train_raw = [raw(batches / f"data_batch_{i}") for i in range(1, 6)]
    test_raw = raw(batches / "test_batch")
    assert dataset.train.images.shape == (20, 3, 32, 32) and dataset.train.images.dtype == np.uint8
    assert dataset.test.images.shape == (4, 3, 32, 32) and dataset.train.labels.dtype == np.int64
    # batches in file order; labels as stored
    np.testing.assert_array_equal(dataset.train.labels, sum((b[b"labels"] for b in train_raw), []))
    np.testing.assert_array_equal(dataset.test.labels, test_raw[b"labels"])
    # the layout: the first 1024 values of a row are the red plane, row-major, then green, then blue
    row = train_raw[1][b"data"][2]
    image = dataset.train.images[4 + 2]
    np.testing.assert_array_equal(image, row.reshape(3, 32, 32))
    assert image[0, 0, 5] == row[5] and image[0, 1, 0] == row[32] and image[1, 0, 0] == row[1024]
    assert image[2, 31, 31] == row[3071]
    np.testing.assert_array_equal(dataset.test.images, test_raw[b"data"].reshape(-1, 3, 32, 32))
    assert dataset.class_names == CIFAR10_CLASSES
    assert dataset.train.masks is None and dataset.test.masks is None
    assert dataset.meta == {
        "source": "cifar10",
        "root": str(batches),
        "mean": [0.4914, 0.4822, 0.4465],
        "std": [0.2470, 0.2435, 0.2616],
    }


def test_root_may_be_the_batches_folder_itself_and_n_limits_take_the_first(batches):
    full = cifar10.build(root=str(batches))
    part = cifar10.build(root=str(batches), n_train=6, n_test=3)
    np.testing.assert_array_equal(part.train.images, full.train.images[:6])
    np.testing.assert_array_equal(part.test.labels, full.test.labels[:3])
    assert len(cifar10.build(root=str(batches), n_train=0).train) == 0
    with pytest.raises(ValueError, match="n_test = 5 exceeds the 4 images"):
        cifar10.build(root=str(batches), n_test=5)


def test_registered_with_a_fixed_image_size():
    assert DATASETS.get("cifar10").image_size({"root": "anywhere"}) == 32


def test_missing_folder_names_the_path_files_and_remedy(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        cifar10.build(root=str(tmp_path))
    message = str(error.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "test_batch" in message and "batches.meta" in message
    assert (
        "set download: true on a machine with internet, or copy the python version of CIFAR-10 from "
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz there"
    ) in message


def test_download_is_torchvisions_real_download_from_a_loopback_server(tmp_path, monkeypatch):
    """torchvision's own CIFAR-10 download (URL, md5 check, extraction), pointed at a tar.gz of tiny
    batches served from 127.0.0.1 instead of www.cs.toronto.edu."""
    import hashlib
    import tarfile

    import torchvision

    from tests.helpers.loopback import LoopbackServer

    write_cifar10_batches(tmp_path / "src", n_per_batch=2, seed=1)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    payload = archive.read_bytes()
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "tgz_md5", hashlib.md5(payload).hexdigest())  # torchvision checks the archive
    root = tmp_path / "data"
    with LoopbackServer() as server:
        monkeypatch.setattr(cls, "url", server.add("cifar-10-python.tar.gz", payload))
        dataset = cifar10.build(root=str(root), download=True)
        assert len(dataset.train) == 10 and len(dataset.test) == 2
        assert {path for path, _ in server.requests} == {"cifar-10-python.tar.gz"}
        requests = len(server.requests)  # torchvision resolves redirects with a first request
        cifar10.build(root=str(root), download=True)  # present now: no second download
        assert len(server.requests) == requests


def test_numpy1_globals_of_the_real_files_are_allowed(tmp_path):
    """The real batches were pickled by numpy 1 (numpy.core.multiarray._reconstruct)."""
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    blob = pickle.dumps({b"data": data, b"labels": [3, 4]}, protocol=3)
    old = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in old
    (tmp_path / "batch").write_bytes(old)
    loaded = cifar10.load_batch(tmp_path / "batch")
    np.testing.assert_array_equal(loaded[b"data"], data)
    assert loaded[b"labels"] == [3, 4]


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_without_running(batches, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for f in batches.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    marker = tmp_path / "pwned"
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Payload(marker), b"labels": []}, protocol=3))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global (posix|nt|os)\.system"):
        cifar10.build(root=str(tmp_path))
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        (tmp_path / "evil").write_bytes(b"cbuiltins\neval\n(S'1'\ntR.")
        cifar10.load_batch(tmp_path / "evil")


def test_prepare_dataset_keeps_train_statistics_and_records_the_meta(batches, tmp_path):
    from ineqbench.data.prepare import prepare_dataset
    from ineqbench.io import read_json

    paths = {
        k: str(tmp_path / f"{k}.{ext}")
        for k, ext in (("train_path", "npz"), ("test_path", "npz"), ("pool_path", "parquet"), ("info_path", "json"))
    }
    prepare_dataset(builder="cifar10", options={"root": str(batches)}, pool_size=3, seed=0, **paths)
    info = read_json(paths["info_path"])
    train = cifar10.build(root=str(batches)).train.as_float()
    assert info["train_pixel_mean"] == pytest.approx(train.mean(axis=(0, 2, 3)).tolist())
    assert info["train_pixel_std"] == pytest.approx(train.std(axis=(0, 2, 3)).tolist())
    assert info["normalisation"] == "train split"
    assert info["meta"]["mean"] == [0.4914, 0.4822, 0.4465] and info["meta"]["std"] == [0.2470, 0.2435, 0.2616]


def test_the_declared_image_size_is_the_builders():
    assert DATASETS.get("cifar10").image_size({}) == cifar10.IMAGE_SIZE
