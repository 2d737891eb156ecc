"""Reference data of Duan et al. (2023) and the paper-vs-run comparison.

The run tables are built by hand in the column format of the suite's aggregate CSVs (as in
results/<dataset>/tables/), and once through the suite's own table code, so a change of that
format shows up here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ineqbench.attacks.tables import ablation_table, occlusion_table
from ineqbench.models.spec import ModelSpec, epsilon_label
from ineqbench.paper.comparison import (
    OUTPUT_COLUMNS,
    compare_with_paper,
    paper_arch,
    paper_comparison,
    paper_training,
)
from ineqbench.reference import COLUMNS, KEY, load_reference
from ineqbench.reporting.tables import column_label, summarise

EPS8 = 8 / 255


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return load_reference()


def cell(reference: pd.DataFrame, **key) -> pd.Series:
    mask = np.ones(len(reference), dtype=bool)
    for column, value in key.items():
        mask &= reference[column] == value
    rows = reference[mask]
    assert len(rows) == 1, key
    return rows.iloc[0]


# --- reference data ---------------------------------------------------------------------------------
def test_reference_has_its_columns_and_one_row_per_published_number(reference):
    assert list(reference.columns) == COLUMNS
    assert reference["table"].value_counts().to_dict() == {
        "Table 1": 50,
        "Table 2": 30,
        "Table 3": 48,
        "RMT README": 15,
        "Text": 28,
    }
    assert not reference.duplicated(subset=KEY).any()
    assert reference["value"].notna().all()
    assert set(reference["dataset"]) == {"cifar10", "imagenet"}
    assert set(reference["training"]) == {"standard", "linf"}
    assert set(reference["arch"]) <= {"", "ResNet18", "ResNet50", "WideResNet", "DenseNet"}
    assert set(reference["method"]) <= {"", "ig", "ixg", "gradshap", "smoothgrad"}
    rates = reference[reference["metric"] != "gini_global"]
    assert rates["value"].between(0, 1).all()  # percentages stored as fractions


def test_reference_cells_match_the_notes(reference):
    row = cell(reference, table="Table 1", dataset="imagenet", arch="ResNet50", epsilon_255=8.0, metric="gini_global")
    assert (row["value"], row["std"], row["method"]) == (0.94, 0.01, "ig")
    row = cell(
        reference, table="Table 1", dataset="cifar10", arch="DenseNet", training="standard", metric="gini_regional"
    )
    assert (row["value"], row["std"]) == (0.79, 0.02)
    row = cell(reference, table="Table 2", training="standard", setting="N=10, R=20", colour="grey")
    assert row["value"] == pytest.approx(0.301) and np.isnan(row["std"])
    assert cell(reference, table="Table 2", epsilon_255=2.0, setting="N=5, R=10", colour="white")[
        "value"
    ] == pytest.approx(0.575)
    row = cell(reference, table="Table 3", method="smoothgrad", epsilon_255=8.0, metric="noise_type2_error")
    assert row["value"] == pytest.approx(0.983) and "not stated" in row["note"]
    assert (
        cell(reference, table="Table 3", method="gradshap", training="standard", metric="gini_global")["value"] == 0.62
    )
    assert cell(reference, table="RMT README", arch="WideResNet", epsilon_255=0.5)["value"] == pytest.approx(0.7582)
    assert cell(reference, table="Text", dataset="cifar10", training="linf", colour="grey")["value"] == pytest.approx(
        0.381
    )
    assert (reference["source"] != "").all()


def test_table3_ig_occlusion_equals_table2(reference):
    """The notes' reason for Table 3's budget: its IG occlusion cells are Table 2's N=5, R=10 cells."""
    key = ["training", "epsilon_255", "colour"]
    t3 = reference[
        (reference["table"] == "Table 3") & (reference["method"] == "ig") & (reference["metric"] == "occlusion_error")
    ].set_index(key)["value"]
    t2 = reference[(reference["table"] == "Table 2") & (reference["setting"] == "N=5, R=10")].set_index(key)["value"]
    assert len(t3) == 6 and (t3 == t2.loc[t3.index]).all()


def test_unknown_reference_name_is_refused():
    with pytest.raises(KeyError, match="duan2023"):
        load_reference("duan2032")


# --- matching -----------------------------------------------------------------------------------------
def test_architectures_and_threat_models_map_to_paper_names():
    assert paper_arch("resnet50.tv_in1k") == "ResNet50"
    assert paper_arch("cifar_densenet121") == "DenseNet"
    assert paper_arch("wide_resnet50_2") == "WideResNet"
    assert paper_arch("convnext_tiny.fb_in1k") is None
    assert paper_training("none", 0.0) == ("standard", 0.0)
    assert paper_training("linf", EPS8) == ("linf", 8.0)
    assert paper_training("linf", 0.5 / 255) == ("linf", 0.5)
    assert paper_training("l2", 3.0) is None


# --- run tables in the suite's format -----------------------------------------------------------------
def training_columns(norm: str, eps: float) -> dict:
    spec = ModelSpec(id="x", dataset="d", arch="a", norm=norm, epsilon=eps)
    return {
        "training": column_label(spec),
        "norm": "none" if eps == 0 else norm,
        "epsilon": eps,
        "epsilon_label": epsilon_label(eps, norm),
    }


def model_id(arch: str, eps: float) -> str:
    return f"{arch}-{'std' if eps == 0 else f'linf{eps * 255:g}'}-s0"


def gini_csv(
    values: dict[tuple[str, float], tuple[float, float]], dataset: str = "imagenet_val", method: str = "ig"
) -> pd.DataFrame:
    """gini_<method>.csv: (arch, ε) -> (global mean, regional mean); a relu row that must be ignored."""
    rows = []
    for transform in ("abs", "relu"):
        for scope in ("global", "regional", "mass_in_mask"):
            for (arch, eps), (g, r) in values.items():
                mean = {"global": g, "regional": r, "mass_in_mask": 0.5}[scope] - (0.2 if transform == "relu" else 0)
                rows.append(
                    {
                        "dataset": dataset,
                        "method": method,
                        "transform": transform,
                        "scope": scope,
                        "arch": arch,
                        **training_columns("linf", eps),
                        "n_seeds": 1,
                        "n_images": 1000,
                        "n_zero_mass": 0,
                        "mean": mean,
                        "std": 0.03,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "models": model_id(arch, eps),
                    }
                )
    return pd.DataFrame(rows)


def occlusion_csv(values: dict[tuple[str, str, str, float], float], method: str = "ig") -> pd.DataFrame:
    """occlusion_<method>.csv: (budget, colour, arch, ε) -> error rate."""
    rows = [
        {
            "budget": budget,
            "colour": colour,
            "arch": arch,
            **training_columns("linf", eps),
            "n_seeds": 1,
            "n_images": 1000,
            "mean": rate,
            "std": np.sqrt(rate * (1 - rate)),
            "ci_low": rate - 0.03,
            "ci_high": rate + 0.03,
            "models": model_id(arch, eps),
            "mean_area_at_success": 0.05,
            "dataset": "imagenet_val",
            "method": method,
        }
        for (budget, colour, arch, eps), rate in values.items()
    ]
    return pd.DataFrame(rows)


def ablation_csv(values: dict[tuple[str, str, float, str], float]) -> pd.DataFrame:
    """ablation.csv: (method, arch, ε, column) -> mean."""
    rows = [
        {
            "method": method,
            "arch": arch,
            **{k: v for k, v in training_columns("linf", eps).items() if k != "epsilon_label"},
            "column": column,
            "mean": mean,
            "std": 0.1,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n_seeds": 1,
            "n_images": 1000,
            "models": model_id(arch, eps),
            "dataset": "imagenet_val",
        }
        for (method, arch, eps, column), mean in values.items()
    ]
    return pd.DataFrame(rows)


def models_csv(entries: dict[tuple[str, float], float]) -> pd.DataFrame:
    rows = [
        {
            "model": model_id(arch, eps),
            "arch": arch,
            "training": training_columns("linf", eps)["training"],
            "seed": 0,
            "clean_accuracy": acc,
            "train_seconds": None,
        }
        for (arch, eps), acc in entries.items()
    ]
    return pd.DataFrame(rows)


def imagenet_run() -> dict[str, pd.DataFrame]:
    """ResNet50 standard and ε=8 (+ a ConvNeXt the paper does not have), the paper's two budgets."""
    gini = gini_csv(
        {
            ("resnet50", 0.0): (0.60, 0.80),
            ("resnet50", EPS8): (0.90, 0.95),
            ("convnext_tiny.fb_in1k", 0.0): (0.55, 0.70),
        }
    )
    occ = {}
    for budget, base in (("N=5, R=10", 0.2), ("N=10, R=20", 0.3)):
        for i, colour in enumerate(("black", "grey", "white")):
            for arch, eps in (("resnet50", 0.0), ("resnet50", EPS8), ("convnext_tiny.fb_in1k", 0.0)):
                occ[(budget, colour, arch, eps)] = base + 0.01 * i + (0.4 if eps else 0)
    occlusion = occlusion_csv(occ)
    ablation = {}
    for arch, eps in (("resnet50", 0.0), ("resnet50", EPS8), ("convnext_tiny.fb_in1k", 0.0)):
        g = gini.query("transform == 'abs' and scope == 'global' and arch == @arch and epsilon == @eps")["mean"].item()
        ablation[("ig", arch, eps, "Gini")] = g
        ablation[("ig", arch, eps, "Noise I")] = 0.25 + (0.3 if eps else 0)
        ablation[("ig", arch, eps, "Noise II")] = 0.5 + (0.3 if eps else 0)
        for colour, label in (("black", "Occ-B"), ("grey", "Occ-G"), ("white", "Occ-W")):
            ablation[("ig", arch, eps, label)] = occ[("N=5, R=10", colour, arch, eps)]
    return {"gini_ig": gini, "occlusion_ig": occlusion, "ablation": ablation_csv(ablation)}


def rows_of(comparison: pd.DataFrame, **key) -> pd.DataFrame:
    mask = np.ones(len(comparison), dtype=bool)
    for column, value in key.items():
        mask &= comparison[column] == value
    return comparison[mask]


def test_imagenet_run_puts_paper_and_run_side_by_side(reference):
    comparison = paper_comparison(imagenet_run(), "imagenet", reference)
    assert list(comparison.columns) == OUTPUT_COLUMNS
    # Table 1: ResNet50 global and regional, std and ε=8, from the abs rows only
    t1 = rows_of(comparison, table="Table 1")
    assert len(t1) == 4 and set(t1["arch"]) == {"ResNet50"}
    row = rows_of(t1, metric="gini_global", epsilon_255=8.0).iloc[0]
    assert (row["paper"], row["paper_std"], row["this_run"], row["this_run_std"]) == (0.94, 0.01, 0.90, 0.03)
    assert row["difference"] == pytest.approx(-0.04)
    assert row["n_images"] == 1000 and row["models"] == "resnet50-linf8-s0" and row["run_arch"] == "resnet50"
    row = rows_of(t1, metric="gini_regional", training="standard").iloc[0]
    assert row["paper"] == 0.84 and row["difference"] == pytest.approx(0.80 - 0.84)
    # Table 2: both budgets, three colours, std and ε=8
    t2 = rows_of(comparison, table="Table 2")
    assert len(t2) == 12
    row = rows_of(t2, setting="N=10, R=20", colour="grey", training="standard").iloc[0]
    assert row["paper"] == pytest.approx(0.301) and row["this_run"] == pytest.approx(0.31)
    assert row["difference"] == pytest.approx(0.31 - 0.301)
    assert row["this_run_ci_low"] == pytest.approx(0.28)
    row = rows_of(t2, setting="N=5, R=10", colour="white", epsilon_255=8.0).iloc[0]
    assert row["paper"] == pytest.approx(0.717) and row["this_run"] == pytest.approx(0.62)
    # Table 3: IG only in this run; Gini, Noise I/II and the three colours at the identified N=5, R=10
    t3 = rows_of(comparison, table="Table 3")
    assert len(t3) == 12 and set(t3["method"]) == {"ig"}
    row = rows_of(t3, metric="noise_type1_error", epsilon_255=8.0).iloc[0]
    assert row["paper"] == pytest.approx(0.639) and row["difference"] == pytest.approx(0.55 - 0.639)
    assert "not stated" in row["note"]
    row = rows_of(t3, metric="occlusion_error", colour="black", training="standard").iloc[0]
    assert row["setting"] == "N=5, R=10" and row["paper"] == pytest.approx(0.316) and row["this_run"] == 0.2
    assert rows_of(t3, metric="gini_global", epsilon_255=8.0)["this_run"].item() == 0.90
    # paper values never come from the text, and a ConvNeXt (no paper name) is ignored
    assert set(comparison["table"]) == {"Table 1", "Table 2", "Table 3"}
    assert not comparison["models"].str.contains("convnext").any()
    assert not comparison.duplicated(subset=[*KEY, "run_arch"]).any()


def test_timm_tag_matches_and_each_run_architecture_gets_its_row(reference):
    run = {"gini_ig": gini_csv({("resnet50.tv_in1k", 0.0): (0.61, 0.83), ("resnet50", 0.0): (0.63, 0.85)})}
    comparison = paper_comparison(run, "imagenet", reference)
    t1 = rows_of(comparison, metric="gini_global")
    assert t1["run_arch"].tolist() == ["resnet50", "resnet50.tv_in1k"]
    assert (t1["arch"] == "ResNet50").all() and (t1["paper"] == 0.62).all()
    assert t1["difference"].tolist() == pytest.approx([0.01, -0.01])


def test_non_matching_runs_give_nothing(reference):
    other = {"gini_ig": gini_csv({("convnext_tiny.fb_in1k", 0.0): (0.5, 0.7), ("resnet50", 3 / 255): (0.8, 0.9)})}
    assert paper_comparison(other, "imagenet", reference).empty  # unknown arch; ε = 3 is not on the ladder
    l2 = gini_csv({("resnet50", 8 / 255): (0.8, 0.9)}).assign(norm="l2")
    assert paper_comparison({"gini_ig": l2}, "imagenet", reference).empty
    # a CIFAR10 run compares with CIFAR10 rows only: no ResNet50 there
    assert paper_comparison({"gini_ig": gini_csv({("resnet50", 0.0): (0.6, 0.8)})}, "cifar10", reference).empty
    with pytest.raises(ValueError, match="paper_dataset"):
        paper_comparison({}, "mnist", reference)


def test_cifar10_run_matches_table1(reference):
    run = {
        "gini_ig": gini_csv(
            {("cifar_resnet18", 0.0): (0.6, 0.8), ("cifar_densenet121", 4 / 255): (0.7, 0.86)}, dataset="cifar10"
        )
    }
    comparison = paper_comparison(run, "cifar10", reference)
    assert len(comparison) == 4 and set(comparison["dataset"]) == {"cifar10"}
    row = rows_of(comparison, arch="DenseNet", metric="gini_regional").iloc[0]
    assert (row["epsilon_255"], row["paper"], row["paper_std"]) == (4.0, 0.87, 0.04)
    assert row["difference"] == pytest.approx(-0.01)


def test_ablation_columns_with_an_unidentified_or_other_setting_are_left_out(reference):
    run = imagenet_run()
    # the run's ablation used N=10, R=20 (not the paper's Table 3 budget) and the relu transform
    ablation = run["ablation"].copy()
    for colour, label in (("black", "Occ-B"), ("grey", "Occ-G"), ("white", "Occ-W")):
        for eps in (0.0, EPS8):
            mask = (ablation["column"] == label) & (ablation["epsilon"] == eps) & (ablation["arch"] == "resnet50")
            occ = run["occlusion_ig"]
            ablation.loc[mask, "mean"] = occ[
                (occ["budget"] == "N=10, R=20")
                & (occ["colour"] == colour)
                & (occ["epsilon"] == eps)
                & (occ["arch"] == "resnet50")
            ]["mean"].item()
    ablation.loc[ablation["column"] == "Gini", "mean"] -= 0.2  # = the relu rows of gini_ig
    t3 = rows_of(paper_comparison({**run, "ablation": ablation}, "imagenet", reference), table="Table 3")
    assert set(t3["metric"]) == {"noise_type1_error", "noise_type2_error"}
    # without the gini and occlusion tables nothing identifies them either
    t3 = paper_comparison({"ablation": run["ablation"]}, "imagenet", reference)
    assert set(t3["metric"]) == {"noise_type1_error", "noise_type2_error"}


def test_clean_accuracy_of_robust_checkpoints_meets_the_readme(reference):
    run = {
        "models": models_csv({("resnet50", 0.0): 0.76, ("resnet50", 0.5 / 255): 0.73, ("wide_resnet50_2", EPS8): 0.61})
    }
    comparison = paper_comparison(run, "imagenet", reference)
    assert comparison["table"].tolist() == ["RMT README", "RMT README"]  # no standard model in the README
    row = rows_of(comparison, arch="WideResNet").iloc[0]
    assert row["paper"] == pytest.approx(0.6082) and row["difference"] == pytest.approx(0.61 - 0.6082)
    assert rows_of(comparison, arch="ResNet50")["epsilon_255"].item() == 0.5


def test_tables_written_by_the_suite_feed_the_comparison(reference):
    """The suite's own summarise / occlusion_table / ablation_table make the run tables."""
    specs = {
        m: ModelSpec(id=m, dataset="imagenet_val", arch="resnet50", epsilon=e)
        for m, e in (("resnet50-std-s0", 0.0), ("resnet50-linf8-s0", EPS8))
    }
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        [
            {
                "model": m,
                "pool_index": i,
                "transform": t,
                "gini_global": g + rng.normal(0, 0.01),
                "gini_regional": 0.9,
                "zero_mass": False,
            }
            for m, g in (("resnet50-std-s0", 0.6), ("resnet50-linf8-s0", 0.9))
            for t in ("abs", "relu")
            for i in range(20)
        ]
    )
    gini = summarise(
        scores, specs, value_columns={"global": "gini_global", "regional": "gini_regional"}, n_boot=10, seed=0
    )
    gini.insert(0, "dataset", "imagenet_val")
    gini.insert(1, "method", "ig")
    occ_rows = pd.DataFrame(
        [
            {
                "model": m,
                "pool_index": i,
                "budget": b,
                "colour": c,
                "success": bool(rng.random() < p),
                "area_fraction": 0.01,
            }
            for m, p in (("resnet50-std-s0", 0.3), ("resnet50-linf8-s0", 0.7))
            for b in ("N=5, R=10", "N=10, R=20")
            for c in ("black", "grey", "white")
            for i in range(20)
        ]
    )
    occlusion = occlusion_table(occ_rows, specs, n_boot=10, seed=0).assign(
        dataset="imagenet_val", method="ig", attack="occlusion"
    )
    noise_rows = pd.DataFrame(
        [
            {"model": m, "pool_index": i, "noise_type": t, "fooled": bool(i % 2)}
            for m in specs
            for t in ("type1", "type2")
            for i in range(20)
        ]
    )
    occ_table = occ_rows[occ_rows["budget"] == "N=5, R=10"]
    ablation = ablation_table(
        scores[scores["transform"] == "abs"].assign(method="ig"),
        {
            "noise": noise_rows.assign(method="ig", setting=noise_rows["noise_type"]),
            "occlusion": occ_table.assign(method="ig", setting=occ_table["colour"], fooled=occ_table["success"]),
        },
        specs,
        n_boot=10,
        seed=0,
    ).assign(dataset="imagenet_val")
    run = {"gini_ig": gini, "occlusion_ig": occlusion, "ablation": ablation}
    comparison = paper_comparison(run, "imagenet", reference)
    assert comparison["table"].value_counts().to_dict() == {"Table 1": 4, "Table 2": 12, "Table 3": 12}
    t3_occ = rows_of(comparison, table="Table 3", metric="occlusion_error")
    assert (t3_occ["setting"] == "N=5, R=10").all()
    expected = occlusion.query("budget == 'N=5, R=10' and colour == 'grey' and norm == 'none'")["mean"].item()
    assert rows_of(t3_occ, colour="grey", training="standard")["this_run"].item() == pytest.approx(expected)


# --- the job -------------------------------------------------------------------------------------------
def test_job_writes_the_comparison_and_its_markdown(tmp_path):
    paths = {}
    for kind, frame in imagenet_run().items():
        paths[kind] = str(tmp_path / f"{kind}.csv")
        frame.to_csv(paths[kind], index=False)
    csv_path, md_path = tmp_path / "out" / "paper_comparison.csv", tmp_path / "out" / "paper_comparison.md"
    compare_with_paper(paper_dataset="imagenet", table_paths=paths, csv_path=str(csv_path), md_path=str(md_path))
    written = pd.read_csv(csv_path)
    assert list(written.columns) == OUTPUT_COLUMNS and len(written) == 28
    md = md_path.read_text()
    assert md.startswith("### Duan et al. (2023) vs this run on imagenet_val")
    assert (
        "| Table 1 | ResNet50 | resnet50 | ε = 8/255 | ig | Gini (global) |  | 0.94 ± 0.01 | 0.90 ± 0.03 | -0.04 "
        "| 1000 |" in md
    )
    assert (
        "| Table 2 | ResNet50 | resnet50 | Std. trained | ig | Occ-G error | N=10, R=20 | 30.1% | 31.0% | +0.9 pp "
        "| 1000 |" in md
    )
    assert "noise threshold of Table 3 is not stated" in md
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["paper_comparison.csv", "paper_comparison.md"]


def test_job_on_synthetic_data_says_so_in_one_sentence(tmp_path):
    path = tmp_path / "gini_ig.csv"
    gini_csv({("test_resnet", 0.0): (0.6, 0.8)}, dataset="synthetic_shapes").to_csv(path, index=False)
    csv_path, md_path = tmp_path / "c.csv", tmp_path / "c.md"
    compare_with_paper(
        paper_dataset=None, table_paths={"gini_ig": str(path)}, csv_path=str(csv_path), md_path=str(md_path)
    )
    written = pd.read_csv(csv_path)
    assert written.empty and list(written.columns) == OUTPUT_COLUMNS
    md = md_path.read_text()
    assert md.startswith("No model of this run matches a setting of Duan et al. (2023);") and md.count(".\n") == 1
    assert "|" not in md
    compare_with_paper(
        paper_dataset="imagenet", table_paths={"gini_ig": str(path)}, csv_path=str(csv_path), md_path=str(md_path)
    )
    assert md_path.read_text().startswith("No model of this run matches a setting of Duan et al. (2023); no arch")
