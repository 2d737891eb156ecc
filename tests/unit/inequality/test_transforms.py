"""abs vs relu transforms of a signed attribution map."""

import pytest
import torch

from ineqbench.gini import global_gini
from ineqbench.inequality.transforms import TRANSFORMS
from ineqbench.registry import UnknownNameError


def signed_map() -> torch.Tensor:
    return torch.tensor([-2.0, -1.0, 0.0, 3.0]).reshape(1, 1, 2, 2)


def test_registered_transforms():
    assert TRANSFORMS.names() == ["abs", "relu"]
    with pytest.raises(UnknownNameError, match="Did you mean 'abs'"):
        TRANSFORMS.get("abss")


def test_abs_and_relu_values():
    m = signed_map()
    assert TRANSFORMS.get("abs")(m).flatten().tolist() == [2.0, 1.0, 0.0, 3.0]
    assert TRANSFORMS.get("relu")(m).flatten().tolist() == [0.0, 0.0, 0.0, 3.0]


def test_gini_differs_between_abs_and_relu_as_computed_by_hand():
    m = signed_map()
    g_abs, _ = global_gini(TRANSFORMS.get("abs")(m))
    g_relu, _ = global_gini(TRANSFORMS.get("relu")(m))
    # abs -> sorted [0, 1, 2, 3]: 2 * (1*0 + 2*1 + 3*2 + 4*3) / (4 * 6) - 5/4 = 5/12
    assert g_abs.item() == pytest.approx(5 / 12, abs=1e-12)
    # relu -> one-hot of length 4: 1 - 1/4
    assert g_relu.item() == pytest.approx(0.75, abs=1e-12)


def test_relu_of_all_negative_map_is_zero_mass():
    g, zero = global_gini(TRANSFORMS.get("relu")(-torch.ones(1, 3, 2, 2)))
    assert zero.item() and g.item() == 0.0
    g, zero = global_gini(TRANSFORMS.get("abs")(-torch.ones(1, 3, 2, 2)))
    assert not zero.item() and g.item() == pytest.approx(0.0, abs=1e-12)
