"""The attack tables on hand-made rows: an attacked image whose logits were NaN is counted per model
(`n_nonfinite`, the caption's note) and left out of the error rate, never averaged in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ineqbench.attacks.inputs import logits_finite, predict
from ineqbench.attacks.tables import noise_table, noise_wide, nonfinite_by_model, occlusion_table, transfer_table
from ineqbench.models.logits import NO_CLASS
from ineqbench.models.spec import ModelSpec

SPECS = {
    "std": ModelSpec(id="std", dataset="d", arch="net"),
    "at": ModelSpec(id="at", dataset="d", arch="net", epsilon=8 / 255),
}


class NanForDarkImages(nn.Module):
    """Class 1 for bright images; NaN logits (class 0 by argmax) for dark ones."""

    def forward(self, x):
        bright = x.flatten(1).mean(1)
        logits = torch.stack([torch.zeros_like(bright), bright], dim=1)
        return torch.where((bright < 0.5)[:, None], torch.full_like(logits, float("nan")), logits)


def test_an_attacked_image_with_nan_logits_predicts_no_class_and_is_marked():
    prediction, margin = predict(NanForDarkImages(), torch.tensor([0.9, 0.1]).view(2, 1, 1, 1))
    assert prediction.tolist() == [1, NO_CLASS] and np.isnan(margin[1])
    assert logits_finite(prediction).tolist() == [True, False]


def noise_rows(fooled: dict[str, list[bool]], finite: dict[str, list[bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": model,
                "pool_index": i,
                "noise_type": "type1",
                "k": 3,
                "fraction": 0.1,
                "fooled": f,
                "logits_finite": ok,
            }
            for model in fooled
            for i, (f, ok) in enumerate(zip(fooled[model], finite[model]))
        ]
    )


def test_a_noise_row_with_nan_logits_is_counted_not_averaged_in():
    rows = noise_rows(
        {"std": [True, False, True, True], "at": [False, False, True, False]},
        {"std": [True, True, True, False], "at": [True] * 4},
    )
    summary = noise_table(rows, SPECS, n_boot=10, seed=0).set_index("training")
    assert summary.loc["Std. trained", "mean"] == pytest.approx(2 / 3)  # not 3/4: the NaN row is out
    assert summary.loc["Std. trained", "n_images"] == 3 and summary.loc["Std. trained", "n_nonfinite"] == 1
    assert summary.loc["ε = 8/255", "mean"] == 0.25 and summary.loc["ε = 8/255", "n_nonfinite"] == 0
    wide = noise_wide(summary.reset_index()).iloc[0]
    assert wide["Std. trained"].endswith("(N = 3)") and "(N = " not in wide["ε = 8/255"]
    assert nonfinite_by_model(rows) == {"std": 1}


def test_rows_of_files_made_before_the_flag_count_as_finite():
    rows = noise_rows({"std": [True, False]}, {"std": [True, True]}).drop(columns="logits_finite")
    summary = noise_table(rows, SPECS, n_boot=10, seed=0)
    assert summary.iloc[0]["n_nonfinite"] == 0 and nonfinite_by_model(rows) == {}


def test_an_occlusion_stop_at_nan_logits_joins_neither_the_rate_nor_the_area():
    rows = pd.DataFrame(
        {
            "model": "std",
            "pool_index": [0, 1, 2],
            "budget": "N=1, R=1",
            "colour": "black",
            "success": [True, False, True],  # image 2 "succeeded" only because its logits were NaN
            "area_fraction": [0.1, 0.2, 0.9],
            "logits_finite": [True, True, False],
        }
    )
    row = occlusion_table(rows, SPECS, n_boot=10, seed=0).iloc[0]
    assert row["mean"] == 0.5 and row["n_nonfinite"] == 1 and row["mean_area_at_success"] == pytest.approx(0.1)


def test_a_transfer_row_with_nan_logits_on_the_target_is_counted_not_averaged_in():
    transfer = pd.DataFrame(
        {
            "source": "std",
            "target": "at",
            "attack": "noise",
            "setting": "type1",
            "budget": "3",
            "pool_index": [0, 1, 2],
            "source_fooled": [True, True, True],
            "prediction": [1, 1, 1],
            "source_prediction_rebuilt": [1, 1, 1],
            "target_prediction": [1, 0, NO_CLASS],
            "target_fooled": [True, False, True],
        }
    )
    row = transfer_table(transfer, SPECS).iloc[0]
    assert row["n_images"] == 2 and row["n_nonfinite"] == 1 and row["transfer_share"] == 0.5
    assert row["rebuild_mismatches"] == 0
