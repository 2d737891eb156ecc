"""Attacks on images: PGD (used for adversarial training and robust accuracy) and, later, the
attribution-guided noise and occlusion attacks."""
