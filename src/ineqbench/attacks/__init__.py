"""The attack stage: attribution-guided attacks (inductive noise and occlusion, Duan et al. 3.2), their
random-region control, the transfer between models, and their tables (Tables 2 to 4, Figures 3 and 4).

Each attack family registers itself in `families.ATTACK_FAMILIES` when its module is imported; importing
this package imports the built-in ones.
"""

from ineqbench.attacks import noise, occlusion, random_occlusion  # noqa: F401  (each registers its family)
