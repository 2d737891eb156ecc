"""synthetic_shapes: reproducible, well-formed images whose masks mark a visible object."""

import numpy as np
import pytest

from ineqbench.data.synthetic_shapes import CLASS_NAMES, SHAPES, build, render_shapes

N = 40


@pytest.fixture(scope="module")
def split():
    return render_shapes(0, n=N)


def test_same_seed_gives_identical_arrays(split):
    again = render_shapes(0, n=N)
    np.testing.assert_array_equal(split.images, again.images)
    np.testing.assert_array_equal(split.labels, again.labels)
    np.testing.assert_array_equal(split.masks, again.masks)


def test_different_seed_differs(split):
    other = render_shapes(1, n=N)
    assert not np.array_equal(split.images, other.images)
    assert not np.array_equal(split.masks, other.masks)
    assert (split.images != other.images).mean() > 0.5


def test_types_and_shapes(split):
    assert split.images.dtype == np.uint8 and split.images.shape == (N, 3, 32, 32)
    assert split.labels.dtype == np.int64 and split.labels.shape == (N,)
    assert split.masks.dtype == np.bool_ and split.masks.shape == (N, 32, 32)
    assert split.labels.min() >= 0 and split.labels.max() < len(SHAPES)
    assert len(np.unique(split.labels)) >= 5  # classes are drawn at random, not one class only
    # pixels use the range, not a constant image
    assert split.images.min() < 40 and split.images.max() > 215


def test_image_size_option():
    small = render_shapes(3, n=4, size=16)
    assert small.images.shape == (4, 3, 16, 16) and small.masks.shape == (4, 16, 16)
    assert small.masks.any(axis=(1, 2)).all()


def test_masks_are_non_empty_and_cover_a_plausible_share(split):
    coverage = split.masks.mean(axis=(1, 2))
    assert (coverage > 0).all()
    assert coverage.min() >= 0.02
    assert coverage.max() <= 0.60


def test_at_least_ten_distinct_shape_classes():
    assert len(SHAPES) >= 10
    assert CLASS_NAMES == list(SHAPES)
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES)


def test_every_class_renders_a_distinct_mask_shape():
    """The same position, scale and rotation give a different silhouette for every class."""
    u, v = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))
    silhouettes = {name: inside(u, v) for name, inside in SHAPES.items()}
    for name, s in silhouettes.items():
        assert 0.05 < s.mean() < 0.95, name
    names = list(silhouettes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (silhouettes[a] != silhouettes[b]).mean() > 0.02, (a, b)


def test_object_colour_differs_from_background(split):
    pixels = split.images.astype(np.float64) / 255.0
    differences = []
    for image, mask in zip(pixels, split.masks):
        inside = image[:, mask].mean(axis=1)
        outside = image[:, ~mask].mean(axis=1)
        differences.append(np.abs(inside - outside).max())
    assert np.mean(differences) > 0.1


def test_build_splits_are_independent_and_reproducible():
    a = build(seed=0, n_train=6, n_test=5)
    b = build(seed=0, n_train=6, n_test=5)
    assert len(a.train) == 6 and len(a.test) == 5
    assert a.image_shape == (3, 32, 32)
    assert a.class_names == CLASS_NAMES
    np.testing.assert_array_equal(a.train.images, b.train.images)
    np.testing.assert_array_equal(a.test.images, b.test.images)
    assert not np.array_equal(a.train.images[:5], a.test.images)
    assert not np.array_equal(a.train.images, build(seed=1, n_train=6, n_test=5).train.images)
