"""timm's architecture and pretrained-weight names, read once per installed timm and kept in the user's
cache, so that checking a config's architectures does not import timm (and torch) on every dry run.

The list is keyed by timm's version and by the source of `ineqbench.models.cifar` (which registers the
CIFAR architectures with timm); a new timm or a changed registration makes a new list.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path


@dataclass(frozen=True)
class TimmNames:
    architectures: frozenset[str]  # timm.list_models(): names timm.create_model builds
    pretrained: frozenset[str]  # timm.list_pretrained(): arch.tag names with pretrained weights

    def is_model(self, name: str) -> bool:
        """timm.is_model: the architecture of `name`, any tag dropped, is known."""
        return name.split(".")[0] in self.architectures

    def matching(self, pattern: str, pretrained: bool) -> list[str]:
        return sorted(fnmatch.filter(self.pretrained if pretrained else self.architectures, pattern))


def _cache_file() -> Path:
    key = hashlib.sha256(resources.files("ineqbench.models").joinpath("cifar.py").read_bytes()).hexdigest()[:12]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ineqbench"
    return root / f"timm-names-{metadata.version('timm')}-{key}.json"


def _from_timm() -> dict[str, list[str]]:
    import timm

    from ineqbench.models import cifar  # noqa: F401  (registers the CIFAR architectures with timm)

    return {"architectures": timm.list_models(), "pretrained": timm.list_pretrained()}


@cache
def timm_names() -> TimmNames:
    path = _cache_file()
    try:
        names = json.loads(path.read_text())
    except (OSError, ValueError):
        names = _from_timm()
        try:  # written whole or not at all: a concurrent dry run reads either list or none
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "w") as out:
                json.dump(names, out)
            os.replace(tmp, path)
        except OSError:  # a read-only home: check against the live list, every time
            pass
    return TimmNames(frozenset(names["architectures"]), frozenset(names["pretrained"]))
