"""How a signed attribution map becomes the non-negative population the Gini is taken over.

`abs`: |A|, the paper's text ("the sorted absolute value of the flattened feature attribution maps").
`relu`: max(A, 0), the released code at HEAD (alibaba/easyrobust 267c92a), negatives dropped.
"""

from __future__ import annotations

import torch

from ineqbench.inequality.settings import TRANSFORMS

TRANSFORMS.add("abs", torch.abs)
TRANSFORMS.add("relu", torch.relu)
