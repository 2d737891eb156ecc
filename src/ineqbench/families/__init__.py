"""The comparison families of the inequality paper's appendix: l2 adversarial training (A.5), sparsity
from pruning (A.6) and Cutout with adversarial training (A.9, Table 8). Each family is a table of its
models beside the plain standard and l∞ models of the same architecture, read from the stages' tables."""
