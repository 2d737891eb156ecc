"""config/paper_cifar10.yaml, end to end, on a tiny data set in the real CIFAR-10 python-batch format
(found through CIFAR10_ROOT, as the config's comments say), each model trained by the workflow's own
trainer.

What the test changes, and why (a 2-core CPU; with all ten models and the paper's occlusion budget the
run took 12 minutes): the recipes' length (3 epochs of 100 images, PGD-1, a learning rate that converges
in 3 epochs, instead of 100 epochs on a GPU), the models (standard and 8/255 of the ResNet-18, the
standard DenseNet-121; 1, 2, 4 /255 and the DenseNet's AT models are the same code paths), the image
counts, one small occlusion budget, AutoAttack's APGD-CE alone on 4 images instead of the standard
version (its FAB-T and Square took the fixture past the 30-minute test timeout), a short bounds stage on
the ResNet-18 pair, and only IG (every method runs in the embedded default). The images are one flat
colour per class plus noise, so the real architectures learn them in seconds and agree on enough test
images for the "correct for all models" selection. Everything else is the shipped config.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from ineqbench.config import load_experiment
from ineqbench.io import read_json
from tests.helpers.data import write_cifar10_batches
from tests.helpers.workflow import ROOT, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow
DATASET = "cifar10"
PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ]
)


def flat_colour_per_class(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = PALETTE[labels][:, :, None, None] * np.ones((1, 1, 32, 32))
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paper_cifar10")
    write_cifar10_batches(tmp / "cifar", n_per_batch=20, seed=0, pixels=flat_colour_per_class)
    config = yaml.safe_load((ROOT / "config" / "paper_cifar10.yaml").read_text())
    run_config = copy.deepcopy(config)
    run_config["datasets"][DATASET].update(
        pool_size=8, n_images=4, eval_images=8, eval_pgd_steps=2, occlusion_budgets=[{"regions": 2, "radius": 2}]
    )
    run_config["model_grid"] = [
        {**row, "epsilons": [e for e in row["epsilons"] if e in (0, "8/255")]}
        for row in run_config["model_grid"]
        if not (row["name"] == "densenet121" and row["recipe"] == "cifar_at")
    ]
    for recipe in run_config["recipes"].values():
        recipe.update(epochs=3, batch_size=25, lr=0.02, pgd_steps=1, eps_warmup_epochs=1)
    run_config["attribution"].update(methods=["ig"], batch_size=8)
    run_config["autoattack"] = {"attacks": ["apgd-ce"], "n_images": 4}  # the standard version: GPU hours
    # the config's bounds stage on the ResNet-18 pair only, 1 image, short attacks and a one-step ascent
    # from x and the best attack iterate (cost: with the config's 4 random starts and 5 steps, each job
    # took 8 minutes here)
    run_config["bounds"].update(
        methods=["gradient"],
        models=["resnet18-std-s0", "resnet18-linf8-s0"],
        n_images=1,
        attack_steps=2,
        practical_samples=0,
        practical_ascent_steps=1,
        sigma_max={"method": "lanczos", "max_iters": 8, "tol": 1e-3},
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CIFAR10_ROOT", str(tmp / "cifar"))
        experiment = load_experiment(run_config)
        (tmp / "work").mkdir()
        workdir = make_workdir(tmp / "work", run_config)
        run_snakemake(workdir, "--cores", "2", "--profile", "profiles/local")
    return workdir, experiment


def test_the_config_is_the_papers_cifar_setting(monkeypatch):
    monkeypatch.setenv("CIFAR10_ROOT", "/data/cifar10")
    experiment = load_experiment(yaml.safe_load((ROOT / "config" / "paper_cifar10.yaml").read_text()))
    assert sorted(experiment.models) == sorted(
        f"{a}-{t}-s0" for a in ("resnet18", "densenet121") for t in ("std", "linf1", "linf2", "linf4", "linf8")
    )
    assert {m.arch for m in experiment.models.values()} == {"cifar_resnet18", "cifar_densenet121"}
    data = experiment.datasets[DATASET]
    assert (data.n_images, data.region_size, experiment.methods["ig"].params["n_steps"]) == (1000, 4, 20)


@pytest.mark.slow
def test_every_model_is_trained_on_the_cifar_batches(paper_run):
    workdir, experiment = paper_run
    models = pd.read_csv(workdir / f"results/default/{DATASET}/tables/models.csv")
    assert (
        set(models["model"]) == set(experiment.models) == {"resnet18-std-s0", "resnet18-linf8-s0", "densenet121-std-s0"}
    )
    assert (models["clean_accuracy"] >= 0.6).all(), models[["model", "clean_accuracy"]]
    card = read_json(workdir / f"results/default/{DATASET}/models/resnet18-linf8-s0.json")
    assert card["recipe"]["optimizer"] == "sgd" and card["spec"]["arch"] == "cifar_resnet18"


@pytest.mark.slow
def test_tables_and_the_paper_side_by_side(paper_run):
    workdir, experiment = paper_run
    selection = read_json(workdir / f"results/default/{DATASET}/tables/selection.json")
    assert selection["n"] >= 2
    gini = pd.read_csv(workdir / f"results/default/{DATASET}/tables/gini_ig.csv")
    rows = gini[(gini["transform"] == "abs") & (gini["scope"] == "global")]
    assert set(rows["models"]) == set(experiment.models)
    comparison = pd.read_csv(workdir / f"results/default/{DATASET}/tables/paper_comparison.csv")
    table1 = comparison[comparison["table"] == "Table 1"]
    # every model has its global and regional Table 1 cell: 3 models x 2 scopes
    assert len(table1) == 6, table1
    assert set(table1["arch"]) == {"ResNet18", "DenseNet"}
    cell = table1[(table1["arch"] == "ResNet18") & (table1["epsilon_255"] == 8) & (table1["metric"] == "gini_global")]
    assert cell["paper"].item() == pytest.approx(0.73)
    assert cell["this_run"].item() == pytest.approx(rows[rows["models"] == "resnet18-linf8-s0"]["mean"].item())
    assert "Duan et al." in (workdir / f"results/default/{DATASET}/tables/paper_comparison.md").read_text()


@pytest.mark.slow
def test_the_configs_bounds_stage_runs_on_the_resnet_pair(paper_run):
    workdir, experiment = paper_run
    summary = pd.read_csv(workdir / f"results/default/{DATASET}/tables/bounds.csv")
    radii = sum(len(v) for v in experiment.bounds.settings["epsilons"].values())
    assert radii == 4 and len(summary) == 2 * radii  # l2 0.25, 0.5 and l∞ 2/255, 8/255 for both models
    assert set(summary["model"]) == {"resnet18-std-s0", "resnet18-linf8-s0"}
    assert (summary["n_images"] == 1).all() and (summary["mean_bound_first_order"] > 0).all()
