"""The predict stage's columns from hand-made logits: a row with a NaN or Inf predicts no class and is
incorrect, even on an image of class 0, where argmax of a leading NaN would have said "correct"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ineqbench.models.logits import NO_CLASS, predicted_class
from ineqbench.models.predict_job import prediction_columns
from ineqbench.reporting.selection import correct_for_all

NAN, INF = float("nan"), float("inf")


def test_nan_logits_on_a_class_0_image_count_as_incorrect():
    assert torch.tensor([[NAN, 1.0, 2.0]]).argmax(1).item() == 0  # the trap: argmax names class 0
    logits = np.array([[NAN, 1.0, 2.0], [INF, 0.0, 1.0], [3.0, 1.0, 2.0], [0.0, 5.0, 1.0]], np.float32)
    labels = np.array([0, 0, 0, 1])
    columns = prediction_columns(logits, labels)
    assert columns["prediction"].tolist() == [NO_CLASS, NO_CLASS, 0, 1]
    assert columns["correct"].tolist() == [False, False, True, True]
    assert columns["logits_finite"].tolist() == [False, False, True, True]
    assert np.isnan(columns["margin"][:2]).all() and columns["margin"][2:].tolist() == [1.0, 4.0]


def test_an_image_with_nan_logits_never_enters_the_selection():
    logits = np.array([[NAN, 0.0], [1.0, 0.0], [1.0, 0.0]], np.float32)
    frame = pd.DataFrame({"pool_index": [0, 1, 2], **prediction_columns(logits, np.zeros(3, int))})
    assert correct_for_all({"m": frame}, n_images=3).pool_index.tolist() == [1, 2]


def test_predicted_class_keeps_finite_rows_and_an_empty_batch():
    assert predicted_class(torch.tensor([[0.0, 2.0], [-INF, 1.0]])).tolist() == [1, NO_CLASS]
    assert predicted_class(torch.zeros(0, 3)).shape == (0,)
