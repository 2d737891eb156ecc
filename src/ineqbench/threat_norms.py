"""The threat norms' names, declared without torch so that the config checks a model's norm before any
job runs; the PGD geometry of each (random start, ascent direction, projection) is added in
`ineqbench.threats`."""

from __future__ import annotations

from ineqbench.registry import Registry

THREAT_NORMS = Registry("threat norm")
for _name in ("linf", "l2"):
    THREAT_NORMS.declare(_name, "ineqbench.threats")
