"""Attribution maps through captum: method registry, batched computation, NPZ cache."""
