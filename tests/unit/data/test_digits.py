"""digits: sklearn's 8x8 digits resized to 32x32 grey RGB with ink masks."""

import numpy as np
import pytest

from ineqbench.data import digits


@pytest.fixture(scope="module")
def dataset():
    return digits.build(seed=0)


def test_shapes_types_and_grey_channels(dataset):
    for split in (dataset.train, dataset.test):
        assert split.images.dtype == np.uint8
        assert split.images.shape[1:] == (3, 32, 32)
        assert np.array_equal(split.images[:, 0], split.images[:, 1])
        assert np.array_equal(split.images[:, 0], split.images[:, 2])
        assert split.masks.dtype == np.bool_ and split.masks.shape == (len(split), 32, 32)
        assert split.images.max() == 255 and split.images.min() == 0


def test_labels_and_split_sizes(dataset):
    assert dataset.class_names == [str(d) for d in range(10)]
    assert set(np.unique(dataset.train.labels)) == set(range(10))
    assert set(np.unique(dataset.test.labels)) == set(range(10))
    assert len(dataset.train) + len(dataset.test) == 1797
    assert len(dataset.test) == round(0.3 * 1797)


def test_train_and_test_are_a_disjoint_partition_of_the_digits(dataset):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    test_idx, train_idx = order[:539], order[539:]
    assert not set(test_idx) & set(train_idx)
    np.testing.assert_array_equal(dataset.test.labels, bunch.target[test_idx])
    np.testing.assert_array_equal(dataset.train.labels, bunch.target[train_idx])
    # the pixels are the upsampled originals: block means of the 32x32 image track the 8x8 source
    source = bunch.images[train_idx[:20]] / 16.0
    resized = dataset.train.images[:20, 0].astype(np.float64) / 255.0
    block_means = resized.reshape(20, 8, 4, 8, 4).mean(axis=(2, 4))
    assert np.corrcoef(block_means.ravel(), source.ravel())[0, 1] > 0.95


def test_mask_is_the_ink(dataset):
    grey = dataset.test.images[:, 0].astype(np.float64) / 255.0
    masks = dataset.test.masks
    assert masks.any(axis=(1, 2)).all()
    assert grey[masks].min() >= 0.25 - 1 / 255
    assert grey[~masks].max() <= 0.25 + 1 / 255


def test_seed_changes_the_split_not_the_content():
    a, b = digits.build(seed=0), digits.build(seed=1)
    assert not np.array_equal(a.test.labels, b.test.labels)
    assert (
        np.bincount(np.concatenate([a.train.labels, a.test.labels])).tolist()
        == np.bincount(np.concatenate([b.train.labels, b.test.labels])).tolist()
    )
