"""Reading a config file with the position of every mistake YAML can see: a syntax error or a key given
twice (which YAML would silently resolve to the last value), as `file, line L, column C: problem`.

Snakemake reads `--configfile` itself, before the workflow, and reports a syntax error without its
position; the Snakefile checks config.yaml with this first, and `python -m ineqbench.config FILE...`
checks any config file (syntax, then the whole validation) without Snakemake.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from ineqbench.settings import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (first on line {seen[key] + 1})", mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: str | Path) -> dict:
    """The mapping in a YAML config file; ConfigError naming the line and column of a syntax error or a
    repeated key, or saying what the top level is instead of a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        config = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = ": ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError(f"{where}: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {error}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(config).__name__}")
    return config


def check_syntax(path: str | Path) -> None:
    """Exit with the positioned error unless `path` reads as a config mapping (for the Snakefile, which
    lets Snakemake load the file afterwards)."""
    try:
        read_config_file(path)
    except ConfigError as error:
        sys.exit(f"ineqbench: invalid configuration: {error}")
