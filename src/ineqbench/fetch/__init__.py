"""Fetching model weights: downloads, safe conversion, per-source loaders."""
