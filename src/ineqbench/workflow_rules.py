"""What the Slurm profile needs to know of the workflow's rules, read from the rules files themselves,
so no rule is listed by hand anywhere else.

A rule needs a GPU when its own `resources:` say `gpu=1`, and its `runtime=` (minutes) is its time
limit. Submissions follow the rules' outputs: a rule with a `{model}` output that makes no weights joins
its model's submission (evaluation, predictions, attributions, scores, attacks, bounds); a rule writing
under `tables/` or `figures/` joins its data set's table submission; the rest (data preparation, training,
which is long and resumable, the transfer between two models) are submissions of their own. Local
rules (downloads on the head node) are never submitted.

The rules files keep one house style (DESIGN.md: one key order, literal paths), which is what this
reader relies on; the tests compare what it finds with Snakemake's own dry run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_RULE = re.compile(r"^rule (\w+):\n((?:(?:    .*)?\n)*)", re.M)
_DIRECTIVE = re.compile(r"^    (\w+):(.*)$")
_PATH = re.compile(r'"<results>(/[^"]+)"')
_RESOURCE = re.compile(r"^\s+(\w+)=([^,#]+),?")


@dataclass(frozen=True)
class RuleInfo:
    name: str
    outputs: tuple[str, ...]
    resources: dict[str, str]
    local: bool

    @property
    def gpu(self) -> bool:
        return self.resources.get("gpu") == "1"

    @property
    def runtime(self) -> int | None:
        value = self.resources.get("runtime")
        return int(value) if value is not None else None

    @property
    def submission(self) -> str | None:
        """'model' or 'tables' (grouped), None for a submission of its own or a local rule."""
        if self.local:
            return None
        if any("{model}" in p for p in self.outputs) and not any(p.endswith(".safetensors") for p in self.outputs):
            return "model"
        if self.outputs and all(re.match(r"/\{dataset\}/(tables|figures)/", p) for p in self.outputs):
            return "tables"
        return None


def _sections(body: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in body.splitlines():
        if match := _DIRECTIVE.match(line):
            current = match.group(1)
            sections[current] = [match.group(2)]
        elif current is not None:
            sections[current].append(line)
    return sections


def read_rules(rules_dir: str | Path = "rules") -> dict[str, RuleInfo]:
    """Every rule of the `.smk` files in `rules_dir`, by name."""
    rules = {}
    for path in sorted(Path(rules_dir).glob("*.smk")):
        for match in _RULE.finditer(path.read_text()):
            sections = _sections(match.group(2))
            resources = {}
            for line in sections.get("resources", []):
                if resource := _RESOURCE.match(line):
                    resources[resource.group(1)] = resource.group(2).strip()
            outputs = tuple(p for line in sections.get("output", []) for p in _PATH.findall(line))
            local = "True" in "".join(sections.get("localrule", []))
            rules[match.group(1)] = RuleInfo(match.group(1), outputs, resources, local)
    return rules


@dataclass(frozen=True)
class SlurmPlan:
    gpu: dict[str, int]  # GPU rule -> time limit in minutes
    per_model: list[str]  # rules grouped into one submission per model
    tables: list[str]  # rules grouped into one submission per data set


def slurm_plan(rules_dir: str | Path = "rules") -> SlurmPlan:
    rules = read_rules(rules_dir).values()
    missing = [r.name for r in rules if r.gpu and r.runtime is None]
    if missing:
        raise ValueError(f"GPU rules without a runtime (minutes) in their resources: {missing}")
    return SlurmPlan(
        gpu={r.name: r.runtime for r in rules if r.gpu},
        per_model=[r.name for r in rules if r.submission == "model"],
        tables=[r.name for r in rules if r.submission == "tables"],
    )
