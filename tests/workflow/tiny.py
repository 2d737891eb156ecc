"""A small variant of the embedded default for the cluster and incremental-rerun tests: two models of one
architecture (standard and l∞ 4/255, so one transfer pair), two methods, 40 pool images, IG bounds on 2
images; every stage of the DAG runs, in seconds per job instead of minutes."""

from __future__ import annotations

import copy

import pandas as pd
import yaml

from tests.conftest import ROOT

DATASET = "synthetic_shapes"
METHODS = ["ixg", "ig"]
MODELS = ["test_resnet-std-s0", "test_resnet-linf4-s0"]
BOUND_METHOD = "ig"  # the bounds of the table method, one job per model


def tiny_config(epochs: int = 2, n_train: int = 400) -> dict:
    config = copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text()))
    dataset = config["datasets"][DATASET]
    dataset["options"].update(n_train=n_train, n_test=120)
    dataset.update(pool_size=40, n_images=10, eval_images=20, eval_pgd_steps=2,
                   occlusion_budgets=[{"regions": 2, "radius": 2}])
    for recipe in config["recipes"].values():
        recipe.update(epochs=epochs, pgd_steps=1, eps_warmup_epochs=1)
    config["model_grid"] = [
        {"dataset": DATASET, "arch": "test_resnet", "recipe": "resnet_std", "epsilons": [0], "seeds": [0]},
        {"dataset": DATASET, "arch": "test_resnet", "recipe": "resnet_at", "epsilons": ["4/255"], "seeds": [0]},
    ]
    config["attribution"]["methods"] = list(METHODS)
    config["attacks"]["noise"]["budgets"] = ["500/150528", "5000/150528"]
    config["attacks"]["noise"]["table_budget"] = "5000/150528"
    config["bounds"].update(methods=[BOUND_METHOD], models="all", n_images=2, attack_steps=2,
                            sigma_max={"method": "lanczos", "max_iters": 8, "tol": 1e-3})
    return config


# Columns that measure the run rather than the models (wall time), left out when two runs are compared.
RUN_DEPENDENT_COLUMNS = {"train_seconds"}


def tables(workdir) -> dict[str, pd.DataFrame]:
    """Every CSV table of the run, by file name."""
    folder = workdir / "results" / DATASET / "tables"
    return {path.name: pd.read_csv(path).drop(columns=RUN_DEPENDENT_COLUMNS, errors="ignore")
            for path in sorted(folder.glob("*.csv"))}


def assert_same_tables(ours: dict[str, pd.DataFrame], reference: dict[str, pd.DataFrame]) -> None:
    assert sorted(ours) == sorted(reference)
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(ours[name], frame, check_exact=False, rtol=1e-6, atol=1e-9,
                                      obj=name)
