"""`synthetic_shapes`: coloured shapes on textured, cluttered backgrounds, with object masks.

Each image holds one shape of random class, colour, scale, rotation and position, drawn over a
low-frequency colour texture with small distractor strokes and dots and pixel noise. The clutter is
there so that a model cannot win on "any bright pixel" and its attributions are not trivially
concentrated; the mask says where the object is, so the share of attribution inside it is measurable.

Rendering is vectorised over images and anti-aliased by 3x supersampling. Everything derives from
one seed through numpy's Generator, so a split is reproducible bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ineqbench.data.base import ImageDataset, ImageSplit

SUPERSAMPLE = 3

ShapeFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _regular_polygon(n_sides: int, radius: float = 0.95) -> ShapeFn:
    apothem = radius * np.cos(np.pi / n_sides)

    def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        r = np.hypot(u, v)
        theta = np.mod(np.arctan2(v, u), 2 * np.pi / n_sides) - np.pi / n_sides
        return r * np.cos(theta) <= apothem

    return inside


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r = np.hypot(u, v)
    theta = np.arctan2(v, u)
    return r <= 0.42 + 0.58 * ((np.cos(5 * theta) + 1) / 2) ** 2


# Unit-size shapes in their own frame (u, v in [-1, 1]); rotation is applied before the test, so
# no two classes may coincide under rotation (a square and a diamond would).
SHAPES: dict[str, ShapeFn] = {
    "circle": lambda u, v: u**2 + v**2 <= 0.85,
    "triangle": _regular_polygon(3, 1.0),
    "square": _regular_polygon(4, 0.95),
    "pentagon": _regular_polygon(5, 0.95),
    "hexagon": _regular_polygon(6, 0.95),
    "star": _star,
    "cross": lambda u, v: ((np.abs(u) <= 0.3) & (np.abs(v) <= 0.95)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 0.95)),
    "ring": lambda u, v: (u**2 + v**2 <= 0.95) & (u**2 + v**2 >= 0.35),
    "ellipse": lambda u, v: (u / 1.0) ** 2 + (v / 0.45) ** 2 <= 1.0,
    "crescent": lambda u, v: (u**2 + v**2 <= 0.95) & ((u - 0.45) ** 2 + v**2 >= 0.6),
}
CLASS_NAMES = list(SHAPES)


def _downsample(x: np.ndarray) -> np.ndarray:
    """Area-average the last two axes by SUPERSAMPLE (anti-aliasing)."""
    *lead, h, w = x.shape
    s = SUPERSAMPLE
    return x.reshape(*lead, h // s, s, w // s, s).mean(axis=(-3, -1))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of the supersampled grid, in units of output pixels."""
    coords = ((np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE).astype(np.float32)
    return np.meshgrid(coords, coords, indexing="xy")


def _background(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Low-frequency colour texture: a base colour plus random oriented sinusoids per channel."""
    y, x = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(0.15, 0.85, size=(n, 3, 1, 1))
    texture = np.zeros((n, 3, size, size))
    for _ in range(3):
        freq = rng.uniform(1.0, 5.0, size=(n, 1, 1, 1))
        angle = rng.uniform(0, np.pi, size=(n, 1, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 3, 1, 1))
        amp = rng.uniform(0.02, 0.08, size=(n, 3, 1, 1))
        proj = np.cos(angle) * x + np.sin(angle) * y
        texture += amp * np.sin(2 * np.pi * freq * proj + phase)
    return base + texture


def _add_clutter(rng: np.random.Generator, images: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> None:
    """Paint 2 to 5 small distractors (strokes and dots) per image, in place."""
    n, _, size, _ = images.shape
    n_distractors = rng.integers(2, 6, size=n)
    for k in range(5):
        active = n_distractors > k
        if not active.any():
            break
        idx = np.flatnonzero(active)
        m = len(idx)
        cx, cy = rng.uniform(0, size, size=(2, m, 1, 1)).astype(np.float32)
        colour = rng.uniform(0, 1, size=(m, 3, 1, 1))
        is_stroke = rng.random(m) < 0.5
        # strokes: segments of length 4-9 px, half-width 0.6-1.0 px; dots: radius 1.0-2.2 px
        angle = rng.uniform(0, np.pi, size=(m, 1, 1)).astype(np.float32)
        half_len = rng.uniform(2.0, 4.5, size=(m, 1, 1))
        half_width = rng.uniform(0.6, 1.0, size=(m, 1, 1))
        radius = rng.uniform(1.0, 2.2, size=(m, 1, 1))
        dx, dy = gx[None] - cx, gy[None] - cy
        along = dx * np.cos(angle) + dy * np.sin(angle)
        across = -dx * np.sin(angle) + dy * np.cos(angle)
        stroke = (np.abs(along) <= half_len) & (np.abs(across) <= half_width)
        dot = dx**2 + dy**2 <= radius**2
        cover = _downsample(np.where(is_stroke[:, None, None], stroke, dot).astype(np.float32))[:, None]
        images[idx] = images[idx] * (1 - cover) + colour * cover


def _pick_contrasting_colours(rng: np.random.Generator, local_mean: np.ndarray, tries: int = 8) -> np.ndarray:
    """An object colour per image, at least 0.5 (RGB distance) from the background under it when possible."""
    n = len(local_mean)
    candidates = rng.uniform(0, 1, size=(tries, n, 3))
    distance = np.linalg.norm(candidates - local_mean[None], axis=-1)
    ok = distance >= 0.5
    first_ok = np.where(ok.any(axis=0), ok.argmax(axis=0), distance.argmax(axis=0))
    return candidates[first_ok, np.arange(n)]


def render_shapes(seed: int, n: int, size: int = 32) -> ImageSplit:
    """Render `n` images of `size` x `size`, classes balanced in expectation."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SHAPES), size=n)
    radius = rng.uniform(0.28, 0.45, size=n) * size
    margin = 0.75 * radius
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    rotation = rng.uniform(0, 2 * np.pi, size=n)

    images = _background(rng, n, size)
    gx, gy = _grid(size)
    _add_clutter(rng, images, gx, gy)

    coverage = np.zeros((n, size, size), dtype=np.float32)
    for class_index, inside in enumerate(SHAPES.values()):
        idx = np.flatnonzero(labels == class_index)
        if len(idx) == 0:
            continue
        dx = gx[None] - cx[idx, None, None].astype(np.float32)
        dy = gy[None] - cy[idx, None, None].astype(np.float32)
        cos = np.cos(rotation[idx])[:, None, None].astype(np.float32)
        sin = np.sin(rotation[idx])[:, None, None].astype(np.float32)
        r = radius[idx, None, None].astype(np.float32)
        u, v = (dx * cos + dy * sin) / r, (-dx * sin + dy * cos) / r
        coverage[idx] = _downsample(inside(u, v).astype(np.float32))

    weight = coverage[:, None]
    local_mean = (images * weight).sum(axis=(2, 3)) / np.maximum(weight.sum(axis=(2, 3)), 1e-6)
    colour = _pick_contrasting_colours(rng, local_mean)[:, :, None, None]
    images = images * (1 - weight) + colour * weight
    images += rng.normal(0, 0.03, size=images.shape)
    pixels = np.clip(np.round(images * 255), 0, 255).astype(np.uint8)
    return ImageSplit(pixels, labels.astype(np.int64), coverage >= 0.5)


def build(seed: int = 0, n_train: int = 5000, n_test: int = 1000, image_size: int = 32) -> ImageDataset:
    """Train and test splits from independent child seeds of `seed`."""
    train_seed, test_seed = np.random.SeedSequence(seed).generate_state(2)
    return ImageDataset(
        train=render_shapes(int(train_seed), n_train, image_size),
        test=render_shapes(int(test_seed), n_test, image_size),
        class_names=CLASS_NAMES,
        meta={"generator": "synthetic_shapes", "seed": seed, "supersample": SUPERSAMPLE},
    )
