"""Config validation: every bad name or value fails with a message naming it and the valid choices."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ineqbench.config import ConfigError, experiment_name, load_experiment
from tests.helpers.workflow import ROOT, load_config


@pytest.fixture()
def config(default_config):
    return copy.deepcopy(default_config)


def test_default_config_expands_the_grid(config):
    exp = load_experiment(config)
    ids = exp.model_ids("synthetic_shapes")
    assert ids == [
        "test_resnet-std-s0",
        "test_resnet-linf4-s0",
        "test_efficientnet-std-s0",
        "test_efficientnet-linf4-s0",
        "test_resnet-l2eps0.5-s0",
        "test_resnet-linf4-cutout-s0",
        *(f"test_resnet-std-{v}-s0" for v in ("finetuned", "prune_filters_60", "prune_weights_90")),
    ]
    # the comparison families' models are attributed with the table method only
    assert exp.methods_of("test_resnet-l2eps0.5-s0") == ("ig",) and len(exp.methods_of("test_resnet-std-s0")) == 4
    assert "test_resnet-std-finetuned-s0" not in exp.model_ids("synthetic_shapes", "smoothgrad")
    assert exp.models["test_resnet-linf4-s0"].epsilon == pytest.approx(4 / 255)
    assert exp.methods["ig"].params["n_steps"] == 20
    assert exp.datasets["synthetic_shapes"].eval_epsilons == pytest.approx((2 / 255, 4 / 255))


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (
            lambda c: c["datasets"]["synthetic_shapes"].update(builder="cifar11"),
            ["cifar11", "synthetic_shapes", "digits"],
        ),
        (lambda c: c["attribution"].update(methods=["ig", "smoothgrad_q"]), ["smoothgrad_q", "smoothgrad_sq_ig"]),
        (lambda c: c["model_grid"][0].update(recipe="fast"), ["fast", "resnet_std"]),
        (lambda c: c["model_grid"][0].update(arch="test_resnet50x"), ["test_resnet50x", "timm"]),
        (lambda c: c["model_grid"][0].update(epsilons=[0, "8"]), ["'8'", "8/255"]),
        (lambda c: c["model_grid"][0].update(norm="l3"), ["l3", "linf", "l2"]),
        (lambda c: c["datasets"]["synthetic_shapes"].update(region_size=5), ["region_size 5", "32"]),
        (lambda c: c["datasets"]["synthetic_shapes"].update(n_images=5000), ["n_images 5000", "pool_size"]),
        (lambda c: c["inequality"].update(transforms=["square"]), ["square", "abs", "relu"]),
        (lambda c: c["recipes"]["resnet_std"].update(epoch=3), ["epoch", "epochs"]),
        (lambda c: c["recipes"]["resnet_std"].update(optimizer="lion"), ["lion", "adamw", "sgd"]),
        (lambda c: c.update(extra_key=1), ["extra_key"]),
        (lambda c: c["models"].append({"id": "a/b", "dataset": "synthetic_shapes", "arch": "test_resnet"}), ["a/b"]),
        (
            lambda c: c["models"].append(
                {
                    "id": "test_resnet-std-s0",
                    "dataset": "synthetic_shapes",
                    "arch": "test_resnet",
                    "recipe": "resnet_std",
                }
            ),
            ["duplicate", "test_resnet-std-s0"],
        ),
        (lambda c: c["attribution"].update(custom={"ig": {"kind": "integrated_gradients"}}), ["ig", "shadow"]),
        (
            lambda c: c["attribution"].update(
                custom={"ig50": {"kind": "integrated_gradients", "steps": 50}}, methods=["ig", "ig50"]
            ),
            ["steps", "n_steps"],
        ),
        # attacks
        (lambda c: c["attacks"]["noise"].update(types=["type3"]), ["type3", "type1", "type2", "random"]),
        (lambda c: c["attacks"]["noise"].update(ranking="absolute"), ["absolute", "abs", "signed"]),
        (lambda c: c["attacks"]["noise"].update(distribution="laplace"), ["laplace", "gaussian", "uniform"]),
        (lambda c: c["attacks"]["noise"].update(budgets=[500, "5000/0"]), ["5000/0", "fraction"]),
        (lambda c: c["attacks"]["noise"].update(budgets=[0.5, 2.5]), ["2.5", "(0, 1]"]),
        (lambda c: c["attacks"]["noise"].update(table_budget=1000), ["table_budget 1000", "5000/150528"]),
        (lambda c: c["attacks"]["occlusion"].update(colours=["black", "gray"]), ["gray", "grey"]),
        (lambda c: c["attacks"]["occlusion"].update(loop="n_outer"), ["n_outer", "regions_outer", "radius_outer"]),
        (lambda c: c["attacks"]["occlusion"].update(centres="peaks"), ["peaks", "regions", "pixels"]),
        (lambda c: c["attacks"].update(methods=["ig", "lrp"]), ["lrp", "gradshap"]),
        (lambda c: c["attacks"]["transfer"].update(methods=["ig_zero"]), ["ig_zero", "attacked methods"]),
        (
            lambda c: c["attacks"]["transfer"].update(pairs=[{"source": "test_resnet-std-s0", "target": "nope"}]),
            ["nope", "test_resnet-linf4-s0"],
        ),
        (
            lambda c: c["attacks"]["transfer"].update(
                pairs=[{"source": "test_resnet-std-s0", "target": "test_resnet-std-s0"}]
            ),
            ["two models"],
        ),
        (
            lambda c: c["datasets"]["synthetic_shapes"].update(occlusion_budgets=[{"regions": 65, "radius": 2}]),
            ["N = 65", "64 regions"],
        ),
        (lambda c: c["datasets"]["synthetic_shapes"].update(occlusion_budgets=[{"regions": 5}]), ["radius"]),
        # bounds
        (lambda c: c["bounds"].update(methods=["ig", "ixg"]), ["ixg", "input_x_gradient", "integrated_gradients"]),
        (lambda c: c["bounds"].update(methods=["grad"]), ["grad", "gradient"]),
        (lambda c: c["bounds"].update(models=["test_resnet-std-s9"]), ["test_resnet-std-s9", "test_resnet-std-s0"]),
        (lambda c: c["bounds"].update(attacks=["pgd", "ifia_topk"]), ["pgd", "pgd_cross_entropy"]),
        (lambda c: c["bounds"]["sigma_max"].update(method="arnoldi"), ["arnoldi", "lanczos", "power", "dense"]),
        (lambda c: c["bounds"].update(epsilons={"linf": ["8"]}), ["'8'", "8/255"]),
        (lambda c: c["bounds"].update(epsilons={"l1": [1.0]}), ["l1"]),
        (lambda c: c["bounds"].update(epsilons={"l2": [], "linf": []}), ["no radius", "linf"]),
        (lambda c: c["bounds"].update(margin=0.9), ["margin", "0.9"]),
        (lambda c: c["bounds"].update(n_images=800), ["n_images 800", "pool_size 700"]),
    ],
)
def test_bad_values_name_the_value_and_the_valid_choices(config, mutate, fragments):
    mutate(config)
    with pytest.raises(ConfigError) as error:
        load_experiment(config)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_custom_method_ids_resolve_with_defaults(config):
    config["attribution"]["custom"] = {"ig50": {"kind": "integrated_gradients", "n_steps": 50}}
    config["attribution"]["methods"] = ["ig", "ig50"]
    exp = load_experiment(config)
    assert exp.methods["ig50"].params == {
        "n_steps": 50,
        "method": "riemann_right",
        "baseline": "zero",
        "baseline_sigma_normalised": 1.0,
    }


def test_a_misspelt_baseline_fails_at_config_load_not_in_the_attribution_job(config):
    config["attribution"]["custom"] = {"ig_black": {"kind": "integrated_gradients", "baseline": "black"}}
    config["attribution"]["methods"] = ["ig", "ig_black"]
    with pytest.raises(ConfigError) as error:
        load_experiment(config)
    assert "'black'" in str(error.value) and "gaussian, mean, zero" in str(error.value)


def test_bounds_of_the_default_speak_of_the_suites_ig_on_the_standard_and_strongest_models(config):
    bounds = load_experiment(config).bounds
    assert bounds.methods["ig"] == load_experiment(config).methods["ig"]  # the same IG as the Gini tables
    assert bounds.methods["gradient"].kind == "gradient"
    assert bounds.model_ids("synthetic_shapes") == [
        "test_resnet-std-s0",
        "test_resnet-linf4-s0",
        "test_efficientnet-std-s0",
        "test_efficientnet-linf4-s0",
    ]
    assert bounds.settings["epsilons"] == {"l2": [0.5], "linf": [pytest.approx(2 / 255)]}
    config.pop("bounds")
    assert load_experiment(config).bounds.model_ids("synthetic_shapes") == []  # off unless configured


def test_attack_defaults_follow_the_paper(config):
    del config["attacks"]
    del config["datasets"]["synthetic_shapes"]["occlusion_budgets"]
    exp = load_experiment(config)
    assert exp.attacks.methods == tuple(exp.methods)
    assert exp.attacks.noise["ranking"] == "signed" and exp.attacks.noise["distribution"] == "gaussian"
    assert exp.attacks.noise_table_budget == "5000/150528"
    assert exp.attacks.occlusion["loop"] == "regions_outer" and exp.attacks.occlusion["centres"] == "regions"
    assert exp.datasets["synthetic_shapes"].occlusion_budgets == ({"regions": 10, "radius": 4},)  # 32 px
    assert exp.attacks.transfer_methods == ("ig",)
    assert exp.attacks.transfer_pairs["synthetic_shapes"] == (
        ("test_resnet-std-s0", "test_resnet-linf4-s0"),
        ("test_resnet-linf4-s0", "test_resnet-std-s0"),
        ("test_efficientnet-std-s0", "test_efficientnet-linf4-s0"),
        ("test_efficientnet-linf4-s0", "test_efficientnet-std-s0"),
    )


def test_default_occlusion_budgets_by_image_size():
    from ineqbench.config import default_occlusion_budgets

    assert default_occlusion_budgets(224) == [{"regions": 5, "radius": 10}, {"regions": 10, "radius": 20}]
    assert default_occlusion_budgets(32) == [{"regions": 10, "radius": 4}]


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path, monkeypatch):
    for variable in ("IMAGENET_VAL", "IMAGENET_CLASS_INDEX", "CIFAR10_ROOT"):
        monkeypatch.setenv(variable, f"/data/{variable.lower()}")
    exp = load_experiment(yaml.safe_load(path.read_text()))
    assert exp.models and exp.attacks.methods


def test_unset_environment_variable_in_a_data_path_fails_when_the_config_loads(monkeypatch):
    monkeypatch.delenv("IMAGENET_VAL", raising=False)
    monkeypatch.setenv("IMAGENET_CLASS_INDEX", "/data/index.json")
    raw = yaml.safe_load((Path(__file__).parents[2] / "config" / "paper_imagenet.yaml").read_text())
    with pytest.raises(ConfigError, match="datasets/imagenet/options/root: environment variable IMAGENET_VAL"):
        load_experiment(raw)
    monkeypatch.setenv("IMAGENET_VAL", "/data/val")
    assert load_experiment(raw).datasets["imagenet"].options["root"] == "/data/val"


def test_grid_row_name_prefixes_the_ids(config):
    config["model_grid"][0]["name"] = "shapes_resnet"
    config["model_grid"][-1]["init_from"] = "shapes_resnet-std-s{seed}"  # the pruned models start from it
    assert "shapes_resnet-std-s0" in load_experiment(config).models


def test_an_arch_pattern_expands_to_every_matching_timm_name(config):
    config["model_grid"] = [
        {"dataset": "synthetic_shapes", "arch": "convnext_*.fb_in1k", "source": "timm_hub", "epsilons": [0]}
    ]
    config["attacks"]["transfer"] = {"pairs": []}
    config["bounds"]["methods"] = []  # no standard/robust pair to bound
    exp = load_experiment(config)
    assert sorted(exp.models) == [f"convnext_{s}.fb_in1k-std-s0" for s in ("base", "large", "small", "tiny")]
    config["model_grid"][0]["arch"] = "convnext_*.no_such_tag"
    with pytest.raises(ConfigError, match="matches no timm pretrained weights"):
        load_experiment(config)
    config["model_grid"][0].update(arch="convnext_*.fb_in1k", name="convnext")
    with pytest.raises(ConfigError, match="leave `name` empty"):
        load_experiment(config)


def test_a_data_set_without_a_model_is_an_error(config):
    config["datasets"]["shapes_again"] = copy.deepcopy(config["datasets"]["synthetic_shapes"])
    with pytest.raises(ConfigError, match=r"datasets/shapes_again: no model of this data set"):
        load_experiment(config)


def test_a_stage_selecting_no_model_of_a_data_set_is_an_error(config):
    config["model_grid"] = [row for row in config["model_grid"] if row["epsilons"] == [0]]  # no robust model
    config["attacks"]["transfer"] = {"pairs": []}
    with pytest.raises(ConfigError, match=r"bounds/models: 'auto' selects no model of data set 'synthetic_shapes'"):
        load_experiment(config)
    config["bounds"]["models"] = ["test_resnet-std-s0"]
    assert load_experiment(config).bounds.model_ids("synthetic_shapes") == ["test_resnet-std-s0"]


def test_each_config_file_is_its_own_experiment(tmp_path):
    (tmp_path / "config.yaml").touch()
    assert experiment_name([str(tmp_path / "config.yaml")], root=tmp_path) == "default"
    assert experiment_name([], root=tmp_path) == "default"
    assert experiment_name(["config/paper_cifar10.yaml"], root=tmp_path) == "paper_cifar10"
    assert experiment_name(["a.yaml", "b.yml"], root=tmp_path) == "a+b"
    with pytest.raises(ConfigError, match="experiment name 'my run'"):
        experiment_name(["my run.yaml"], root=tmp_path)
    assert load_experiment(load_config(ROOT / "config.yaml"), name="paper_cifar10").results == "results/paper_cifar10"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_tset": 500}, r"datasets/synthetic_shapes/options: .*'n_tset' was unexpected.*valid keys: seed, n_train"),
        ({"n_test": "many"}, r"datasets/synthetic_shapes/options/n_test: 'many' is not of type 'integer'"),
        ({"n_train": 0}, r"datasets/synthetic_shapes/options/n_train: 0 is less than the minimum of 1"),
    ],
)
def test_data_builder_options_are_checked_by_name_type_and_range(config, options, message):
    config["datasets"]["synthetic_shapes"]["options"].update(options)
    with pytest.raises(ConfigError, match=message):
        load_experiment(config)


def test_a_pool_larger_than_the_test_split_is_an_error(config):
    config["datasets"]["synthetic_shapes"]["pool_size"] = 1001  # n_test is 1000
    with pytest.raises(ConfigError, match=r"pool_size 1001 exceeds the 1000 test images .* at most 1000"):
        load_experiment(config)


def test_a_grid_error_names_its_row(config):
    config["model_grid"][1]["epsilons"] = ["4/25x"]
    with pytest.raises(ConfigError, match=r"model_grid: row 1 \(synthetic_shapes, test_resnet\): epsilon '4/25x'"):
        load_experiment(config)


# ---- comparison families: variants and init_from ----
PRUNED_ROW = {
    "dataset": "synthetic_shapes",
    "arch": "test_resnet",
    "recipe": "resnet_std",
    "epsilons": [0],
    "seeds": [0, 1],
    "variants": ["finetuned", "prune_filters_30"],
    "init_from": "test_resnet-std-s{seed}",
}


@pytest.fixture()
def ladder(config):
    """The default's models of the ε ladder only (its family rows left out)."""
    config["model_grid"] = config["model_grid"][:4]
    del config["variants"]  # the built-in ones only
    return config


def test_a_row_expands_one_model_per_variant_starting_from_the_model_of_its_seed(ladder):
    config = ladder
    config["model_grid"][0]["seeds"] = [0, 1]
    config["model_grid"].append(PRUNED_ROW)
    exp = load_experiment(config)
    pruned = exp.models["test_resnet-std-prune_filters_30-s1"]
    assert (pruned.variant, pruned.init_from, pruned.seed) == ("prune_filters_30", "test_resnet-std-s1", 1)
    assert exp.models["test_resnet-std-finetuned-s0"].init_from == "test_resnet-std-s0"
    assert exp.variants["prune_filters_30"].amount == 0.3 and exp.variants["cutout"].cutout == 0.5
    # a plain model's spec reads as before variants existed: its jobs' params are unchanged
    assert "variant" not in exp.models["test_resnet-std-s0"].as_dict()


def test_a_config_adds_its_own_variant_beside_the_built_in_ones(ladder):
    config = ladder
    config["variants"] = {"prune_weights_70": {"prune": "magnitude", "amount": 0.7}}
    config["model_grid"].append({**PRUNED_ROW, "seeds": [0], "variants": ["prune_weights_70", "prune_weights_90"]})
    exp = load_experiment(config)
    assert exp.variants["prune_weights_70"].amount == 0.7 and "prune_weights_90" in exp.variants


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"variants": ["prune_filter_30"]}, ["unknown variant 'prune_filter_30'", "prune_filters_30"]),
        ({"init_from": None}, ["prunes a trained model", "init_from"]),
        ({"init_from": "test_resnet-std-s{seed}x"}, ["'test_resnet-std-s0x'", "Did you mean 'test_resnet-std-s0'"]),
        ({"init_from": "test_efficientnet-std-s0"}, ["test_efficientnet", "its own architecture (test_resnet)"]),
        ({"variants": [""], "name": "tuned"}, ["names a variant", "finetuned"]),
    ],
)
def test_a_bad_variant_or_lineage_names_the_model_and_what_is_valid(ladder, change, fragments):
    config = ladder
    config["model_grid"].append({**PRUNED_ROW, "seeds": [0], **change})
    with pytest.raises(ConfigError) as error:
        load_experiment(config)
    assert all(f in str(error.value) for f in fragments), str(error.value)


def test_a_pruning_variant_needs_an_amount_and_a_known_method(config):
    config["variants"] = {"half": {"prune": "magnitude"}}
    with pytest.raises(ConfigError, match=r"variants/half: prune 'magnitude' with amount 0.0"):
        load_experiment(config)
    config["variants"] = {"half": {"prune": "random", "amount": 0.5}}
    with pytest.raises(ConfigError, match=r"variants/half/prune: unknown pruning method 'random'.*l1_filter"):
        load_experiment(config)


def test_models_that_start_from_each_other_in_a_cycle_are_refused(config):
    entry = {"dataset": "synthetic_shapes", "arch": "test_resnet", "recipe": "resnet_std", "variant": "finetuned"}
    config["models"] = [{**entry, "id": "a", "init_from": "b"}, {**entry, "id": "b", "init_from": "a"}]
    with pytest.raises(ConfigError, match=r"init_from forms a cycle: a -> b -> a"):
        load_experiment(config)
