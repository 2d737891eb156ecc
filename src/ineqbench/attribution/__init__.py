"""Attribution maps: method registry, the pass engine and its per-image draws, batched computation, NPZ cache."""
