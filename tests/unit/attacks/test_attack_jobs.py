"""The attack stages end to end on tiny files: every attack on every registered attribution method,
the recorded settings, and the transfer stage's exact rebuild of the attacked images."""

import numpy as np
import pandas as pd
import pytest
import torch

from ineqbench.attacks.families import run_attack_family
from ineqbench.attacks.noise import NOISE_TYPES, NoiseSettings
from ineqbench.attacks.occlusion import OcclusionSettings
from ineqbench.attacks.random_occlusion import RandomOcclusionSettings
from ineqbench.attacks.settings import ATTACK_FAMILIES
from ineqbench.attacks.transfer import transfer_attacks
from ineqbench.attribution.compute import attribute
from ineqbench.attribution.methods import METHOD_KINDS, METHOD_PRESETS
from ineqbench.data.base import ImageSplit
from ineqbench.data.prepare import save_split
from ineqbench.io import read_parquet_metadata, write_parquet
from ineqbench.models.architectures import build_classifier
from ineqbench.models.checkpoint import save_checkpoint
from ineqbench.models.spec import ModelSpec

N_IMAGES, SIZE, CLASSES = 10, 16, 3
NOISE = {**NoiseSettings().as_dict(), "budgets": [3, "1/16", 0.25], "seed": 5, "batch_size": 4}
OCCLUSION = {**OcclusionSettings().as_dict(), "batch_size": 4}
BUDGETS = [{"regions": 2, "radius": 2}, {"regions": 4, "radius": 3}]
SETTINGS = {
    "noise": NOISE,
    "occlusion": OCCLUSION,
    "random_occlusion": {**RandomOcclusionSettings().as_dict(), "batch_size": 4, "seed": 5},
}
FAMILIES = ATTACK_FAMILIES.names()
OCCLUSION_FAMILIES = [f for f in FAMILIES if ATTACK_FAMILIES.get(f).table == "occlusion"]


def context(noise_budget="1/16") -> dict:
    return {"region_size": 4, "budgets": BUDGETS, "noise_budget": str(noise_budget)}


def test_every_registered_family_has_settings_here():
    assert sorted(SETTINGS) == FAMILIES


def _model_files(folder, name: str, seed: int) -> tuple[str, str, torch.nn.Module]:
    spec = ModelSpec(id=name, dataset="tiny", arch="test_resnet", seed=seed)
    mean, std = [0.45, 0.5, 0.55], [0.25, 0.2, 0.3]
    model = build_classifier(spec, CLASSES, mean, std).eval()
    weights, card = str(folder / f"{name}.safetensors"), str(folder / f"{name}.json")
    save_checkpoint(model, weights, {"spec": spec.as_dict(), "num_classes": CLASSES, "mean": mean, "std": std}, card)
    return weights, card, model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two random models and a pool whose labels are model A's predictions on most images."""
    folder = tmp_path_factory.mktemp("attacks")
    a_weights, a_card, model_a = _model_files(folder, "a", 0)
    b_weights, b_card, _ = _model_files(folder, "b", 1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(N_IMAGES, 3, SIZE, SIZE), dtype=np.uint8)
    with torch.no_grad():
        labels = model_a(torch.from_numpy(images).float() / 255).argmax(1).numpy()
    labels[:2] = (labels[:2] + 1) % CLASSES  # two images model A gets wrong: they must not be attacked
    save_split(folder / "test.npz", ImageSplit(images, labels.astype(np.int64)))
    pool = pd.DataFrame({"pool_index": np.arange(N_IMAGES), "test_index": np.arange(N_IMAGES), "label": labels})
    write_parquet(folder / "pool.parquet", pool)
    return {
        "folder": folder,
        "a": (a_weights, a_card),
        "b": (b_weights, b_card),
        "test": str(folder / "test.npz"),
        "pool": str(folder / "pool.parquet"),
    }


def cheap_method(method_id: str) -> dict:
    kind, params = METHOD_PRESETS[method_id]
    defaults = METHOD_KINDS.get(kind).defaults
    cheap = {k: v for k, v in {"n_steps": 4, "nt_samples": 2, "n_samples": 4}.items() if k in defaults}
    return {"id": method_id, "kind": kind, "params": {**defaults, **params, **cheap}}


def run_families(common: dict, maps: str, out: dict[str, str]) -> None:
    """Every registered family on one model, as its rule runs it."""
    for family in FAMILIES:
        run_attack_family(
            family, **common, attributions_path=maps, settings=SETTINGS[family], context=context(), out_path=out[family]
        )


def run_attacks(tiny, method_id: str, model: str = "a") -> dict[str, str]:
    folder, (weights, card) = tiny["folder"], tiny[model]
    paths = {"maps": str(folder / f"maps_{model}_{method_id}.npz")}
    paths.update({f: str(folder / f"{f}_{model}_{method_id}.parquet") for f in FAMILIES})
    common = dict(weights_path=weights, card_path=card, test_path=tiny["test"], pool_path=tiny["pool"])
    attribute(
        **common,
        method=cheap_method(method_id),
        seed=0,
        batch_size=4,
        internal_batch_size=100,
        dtype="float32",
        out_path=paths["maps"],
    )
    run_families(common, paths["maps"], paths)
    return paths


def run_transfer(tiny, paths: dict[str, str], target: str, noise_budget) -> pd.DataFrame:
    """Model a's attacked images (from `paths`) classified by `target`."""
    out = str(tiny["folder"] / f"transfer_a{target}.parquet")
    transfer_attacks(
        source_weights=tiny["a"][0],
        source_card=tiny["a"][1],
        source_attributions=paths["maps"],
        source_rows={f: paths[f] for f in FAMILIES},
        target_weights=tiny[target][0],
        target_card=tiny[target][1],
        test_path=tiny["test"],
        pool_path=tiny["pool"],
        settings=SETTINGS,
        context=context(noise_budget),
        out_path=out,
    )
    return pd.read_parquet(out)


@pytest.mark.parametrize("method_id", sorted(METHOD_PRESETS))
def test_every_attack_runs_on_every_registered_method(tiny, method_id):
    paths = run_attacks(tiny, method_id)
    noise = pd.read_parquet(paths["noise"])
    attacked = sorted(noise["pool_index"].unique())
    assert attacked == list(range(2, N_IMAGES))  # only the correctly classified images
    assert len(noise) == len(attacked) * len(NOISE_TYPES) * 3
    assert sorted(noise["k"].unique()) == [3, 48, 192]  # 3, 1/16 and 1/4 of 3 x 16 x 16
    assert (noise["fooled"] == (noise["prediction"] != noise["label"])).all()
    for family in OCCLUSION_FAMILIES:  # the guided occlusion and its random-region control
        occlusion = pd.read_parquet(paths[family])
        assert sorted(occlusion["pool_index"].unique()) == attacked
        assert len(occlusion) == len(attacked) * 2 * 3
        assert set(occlusion["budget"]) == {"N=2, R=2", "N=4, R=3"}
        assert (occlusion["n"] <= occlusion["max_regions"]).all()
        assert (occlusion["r"] <= occlusion["max_radius"]).all()
        assert (occlusion["success"] == (occlusion["prediction"] != occlusion["label"])).all()
        assert ((occlusion["area_fraction"] > 0) & (occlusion["area_fraction"] <= 1)).all()
    for path, key in ((paths["noise"], "distribution"), (paths["occlusion"], "loop")):
        settings = read_parquet_metadata(path)["settings"]
        assert key in settings and settings["attribution"]["method"]["id"] == method_id
    # the control reads no attribution: its provenance names none, whatever the method
    assert "attribution" not in read_parquet_metadata(paths["random_occlusion"])["settings"]


def test_attacks_are_deterministic(tiny):
    first = {k: pd.read_parquet(p) for k, p in run_attacks(tiny, "ig").items() if k != "maps"}
    again = {k: pd.read_parquet(p) for k, p in run_attacks(tiny, "ig").items() if k != "maps"}
    for key in first:
        pd.testing.assert_frame_equal(first[key], again[key])


def test_transfer_to_the_same_model_rebuilds_every_attacked_image_exactly(tiny):
    paths = run_attacks(tiny, "ixg")
    frame = run_transfer(tiny, paths, "a", "1/16")
    assert set(frame["attack"]) == set(FAMILIES)
    assert set(frame.loc[frame["attack"] == "noise", "k"]) == {48}
    assert (frame["source_prediction_rebuilt"] == frame["prediction"]).all()
    assert (frame["target_prediction"] == frame["prediction"]).all()
    assert (frame["target_fooled"] == frame["source_fooled"]).all()
    assert frame["target_clean_correct"].all()


def test_transfer_to_another_model_keeps_every_source_row(tiny):
    paths = run_attacks(tiny, "ixg")
    frame = run_transfer(tiny, paths, "b", 3)
    n_noise = (pd.read_parquet(paths["noise"])["budget"] == "3").sum()
    assert len(frame) == n_noise + sum(len(pd.read_parquet(paths[f])) for f in OCCLUSION_FAMILIES)
    assert (frame["source_prediction_rebuilt"] == frame["prediction"]).all()


def test_a_model_with_no_correct_image_writes_empty_tables(tiny, tmp_path):
    wrong = tmp_path / "wrong.npz"
    split = np.load(tiny["test"])
    save_split(wrong, ImageSplit(split["images"], (split["labels"] + 1) % CLASSES))
    weights, card = tiny["a"]
    common = dict(weights_path=weights, card_path=card, test_path=str(wrong), pool_path=tiny["pool"])
    maps = str(tmp_path / "maps.npz")
    attribute(
        **common,
        method=cheap_method("ixg"),
        seed=0,
        batch_size=4,
        internal_batch_size=100,
        dtype="float32",
        out_path=maps,
    )
    out = {f: str(tmp_path / f"{f}.parquet") for f in FAMILIES}
    run_families(common, maps, out)
    transfer_attacks(
        source_weights=weights,
        source_card=card,
        source_attributions=maps,
        source_rows=out,
        target_weights=tiny["b"][0],
        target_card=tiny["b"][1],
        test_path=str(wrong),
        pool_path=tiny["pool"],
        settings=SETTINGS,
        context=context(3),
        out_path=str(tmp_path / "transfer.parquet"),
    )
    for name in [*FAMILIES, "transfer"]:
        assert pd.read_parquet(tmp_path / f"{name}.parquet").empty
