"""config/paper_imagenet.yaml, end to end, as a cluster user runs it, on stand-ins made here:

- ImageNet validation in the ImageFolder layout with the standard 1000-class index (a few folders),
  found through IMAGENET_VAL and IMAGENET_CLASS_INDEX as the config's comments say;
- robust-models-transfer checkpoints of the real architecture in the real format (MadryLab dicts with
  module.model., module.attacker.model. and normaliser keys), random weights, served from 127.0.0.1
  under the real file names, with the config's own source and ids.

What the test changes, and why: image size 64 instead of 224 and a few images (a 2-core CPU), only IG
(each method is its own job; every method runs in the embedded default), AutoAttack's APGD-CE alone
on 4 images instead of the standard version, and the ResNet-18 family only, its standard and 8/255
checkpoints (1, 2, 4 /255 are the same code path; ResNet-50 and WRN-50-2 files are 0.2 and 0.55 GB each in
this format, and tests/unit/fetch/test_real_architectures.py loads one of each). Everything else is the shipped config.
The classifier heads are biased towards the first folder's class, so random-weight models agree on
those images and the "correct for all models" selection is not empty.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import timm
import torch
import yaml

from ineqbench.config import load_experiment
from ineqbench.fetch.sources import rmt_filename
from ineqbench.io import read_json
from tests.helpers.checkpoints import rmt_checkpoint
from tests.helpers.data import write_imagenet_folder
from tests.helpers.loopback import LoopbackServer
from tests.helpers.workflow import ROOT, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow
DATASET = "imagenet"
WNIDS = [f"n{index:08d}" for index in range(1000)]
FOLDERS = [WNIDS[7], WNIDS[420]]  # the predicted class is WNIDS[7]


def biased_random_network(arch: str, seed: int) -> torch.nn.Module:
    """Random weights, but the head favours class 7 strongly: every model predicts it on most images."""
    torch.manual_seed(seed)
    model = timm.create_model(arch, num_classes=1000).eval()
    with torch.no_grad():
        model.fc.weight.mul_(0.01)
        model.fc.bias.zero_()
        model.fc.bias[7] = 10.0
    return model


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paper_imagenet")
    val, class_index = write_imagenet_folder(
        tmp / "imagenet", classes=FOLDERS, per_class=4, seed=0, size=(96, 80), index_classes=WNIDS
    )
    config = yaml.safe_load((ROOT / "config" / "paper_imagenet.yaml").read_text())
    run_config = copy.deepcopy(config)
    data = run_config["datasets"][DATASET]
    data["options"].update(image_size=64, resize=73, subset=None)
    data.update(pool_size=8, n_images=3, eval_images=4, eval_pgd_steps=2)
    # the ResNet-18 family's standard and 8/255 checkpoints (1, 2, 4 /255 are the same code path)
    run_config["model_grid"] = [{**config["model_grid"][0], "epsilons": [0, "8/255"]}]
    run_config["models"] = []
    run_config["attribution"].update(methods=["ig"], batch_size=4)
    run_config["bounds"]["methods"] = []  # second-order IG at 224 px costs minutes per image on a CPU
    run_config["autoattack"] = {"attacks": ["apgd-ce"], "n_images": 4}  # the standard version: GPU hours
    run_config["fetch"]["download_dir"] = str(tmp / "downloads")

    with LoopbackServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("IMAGENET_VAL", str(val))
        env.setenv("IMAGENET_CLASS_INDEX", str(class_index))
        run_config["model_grid"][0]["source_options"] = {"base_url": server.url("")}
        experiment = load_experiment(run_config)
        for i, spec in enumerate(experiment.models.values()):
            path = tmp / "served.ckpt"
            torch.save(rmt_checkpoint(biased_random_network(spec.arch, seed=i)), path)
            server.add(rmt_filename(spec), path.read_bytes())
        (tmp / "work").mkdir()
        workdir = make_workdir(tmp / "work", run_config)
        run_snakemake(workdir, "--cores", "2", "--profile", "profiles/local")
        requested = [path for path, _ in server.requests]
    return workdir, experiment, requested


def test_the_config_serves_the_papers_fifteen_checkpoints_by_their_published_names(monkeypatch):
    monkeypatch.setenv("IMAGENET_VAL", "/data/val")
    monkeypatch.setenv("IMAGENET_CLASS_INDEX", "/data/index.json")
    config = yaml.safe_load((ROOT / "config" / "paper_imagenet.yaml").read_text())
    experiment = load_experiment(config)
    names = sorted(rmt_filename(m) for m in experiment.models.values())
    expected = sorted(
        [f"{a}_l2_eps0.ckpt" for a in ("resnet18", "resnet50", "wide_resnet50_2")]
        + [
            f"{a}_linf_eps{e}.ckpt"
            for a in ("resnet18", "resnet50", "wide_resnet50_2")
            for e in ("1.0", "2.0", "4.0", "8.0")
        ]
        + ["resnet50_l2_eps5.ckpt"]
    )
    assert names == expected
    data = experiment.datasets[DATASET]
    assert (data.n_images, data.region_size, experiment.methods["ig"].params["n_steps"]) == (1000, 16, 20)
    assert data.occlusion_budgets == ({"regions": 5, "radius": 10}, {"regions": 10, "radius": 20})


@pytest.mark.slow
def test_every_checkpoint_was_downloaded_once_and_converted(paper_run):
    workdir, experiment, requested = paper_run
    assert sorted(requested) == sorted(rmt_filename(m) for m in experiment.models.values())
    for model in experiment.models:
        record = read_json(workdir / f"results/default/{DATASET}/fetched/{model}.json")
        assert record["fetch"]["layout"] == "robust_models_transfer"
        assert record["fetch"]["url"].startswith("http://127.0.0.1:")
        assert record["mean"] == pytest.approx([0.485, 0.456, 0.406])
        assert record["num_classes"] == 1000
        card = read_json(workdir / f"results/default/{DATASET}/models/{model}.json")
        assert card["clean_accuracy"] == pytest.approx(0.5)  # half the images are of the favoured class
        assert set(card["robust_accuracy"]["linf"]) >= {"1/255", "4/255"}


@pytest.mark.slow
def test_tables_cover_every_model_on_the_selected_images(paper_run):
    workdir, experiment, _ = paper_run
    selection = read_json(workdir / f"results/default/{DATASET}/tables/selection.json")
    assert selection["n"] == 3
    gini = pd.read_csv(workdir / f"results/default/{DATASET}/tables/gini_ig.csv")
    rows = gini[(gini["transform"] == "abs") & (gini["scope"] == "regional")]
    assert set(rows["models"]) == set(experiment.models) and (rows["n_images"] == 3).all()
    assert rows["mean"].between(0, 1).all()
    for kind in ("noise", "occlusion", "transfer"):
        table = pd.read_csv(workdir / f"results/default/{DATASET}/tables/{kind}_ig.csv")
        assert len(table) > 0, kind
    occlusion = pd.read_csv(workdir / f"results/default/{DATASET}/tables/occlusion_ig.csv")
    assert set(occlusion["budget"]) == {"N=5, R=10", "N=10, R=20"}


@pytest.mark.slow
def test_per_class_inequality_reads_every_image_of_the_folder_shard_by_shard(paper_run):
    workdir, _, _ = paper_run
    per_class = pd.read_csv(workdir / f"results/default/{DATASET}/tables/per_class_ig.csv")
    # all 8 images of the folder, in its 2 classes
    assert per_class.groupby(["model", "scope"])["n_images"].sum().eq(8).all()
    assert set(per_class["class_name"]) == {f"{WNIDS[7]}_name", f"{WNIDS[420]}_name"}
    shards = list((workdir / f"results/default/{DATASET}/inequality_all").glob("*/ig.shards/shard-*.parquet"))
    assert len(shards) == 2  # one shard per model of the pair
