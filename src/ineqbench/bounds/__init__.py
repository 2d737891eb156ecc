"""Worst-case attribution deviation (Wang & Kong, CVPR 2023): differentiable attributions, the spectral
norm of their input Jacobian, and the Euclidean and cosine bounds built from it."""
