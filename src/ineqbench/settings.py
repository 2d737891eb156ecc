"""Settings classes: the one place where a config key's default and description are written.

A section of the config is a dataclass whose fields are made with `setting(default, doc, **keywords)`.
`schema_of(cls)` turns it into the JSON schema of that section: the type from the annotation, the
default, the description, and any extra JSON-schema keywords (minimum, pattern, oneOf, ...).
`ineqbench.config` composes the sections registered in `CONFIG_SECTIONS` into the schema it validates
(and fills defaults) against, and docs/settings.md is generated from that schema. Nothing here imports
torch: validating a config and building the DAG must stay cheap.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from typing import Any

from ineqbench.registry import Registry


class ConfigError(ValueError):
    """A configuration problem, reported before any job runs."""


def check_name(name: str, registry: Registry, where: str) -> None:
    """ConfigError naming the config key `where` unless `name` is in `registry` (with the valid names)."""
    if name not in registry:
        raise ConfigError(f"{where}: {registry.unknown_message(name)}")


def setting(default: Any = MISSING, doc: str = "", *, config: bool = True, **keywords: Any):
    """A settings field with its one-line description. `keywords` are extra JSON-schema keywords;
    config=False marks a field the experiment sets (the seed), which is not a key of the section."""
    metadata = {"doc": doc, "schema": keywords, "config": config}
    if default is MISSING:
        return field(metadata=metadata)
    if isinstance(default, list | dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}


def _type_schema(annotation: Any) -> dict:
    if dataclasses.is_dataclass(annotation):
        return schema_of(annotation)
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        parts = [_type_schema(a) for a in args]
        kinds = [p.pop("type") for p in parts]
        merged = {k: v for p in parts for k, v in p.items()}
        return {"type": [k for kind in kinds for k in (kind if isinstance(kind, list) else [kind])], **merged}
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(args[0])} if args and args[0] is not Any else {"type": "array"}
    if annotation is dict or origin is dict:
        if len(args) == 2 and args[1] is not Any:
            return {"type": "object", "additionalProperties": _type_schema(args[1])}
        return {"type": "object"}
    if annotation is Any:
        return {}
    raise TypeError(f"no JSON-schema type for the annotation {annotation!r}")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
    else:
        return MISSING
    if dataclasses.is_dataclass(value):
        return {}
    return list(value) if isinstance(value, tuple) else value


def config_fields(cls) -> list[dataclasses.Field]:
    """The fields of `cls` that are keys of its config section."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("config", True)]


def schema_of(cls, description: str | None = None) -> dict:
    """The JSON schema of the section `cls` describes (no unknown keys; fields without default required)."""
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for f in config_fields(cls):
        node = {**_type_schema(hints[f.name]), **f.metadata.get("schema", {})}
        if "oneOf" in node or "enum" in node or "const" in node:
            node.pop("type", None)
            node.pop("items", None)
        default = _default(f)
        if default is MISSING:
            required.append(f.name)
        else:
            node["default"] = default
        if f.metadata.get("doc"):
            node["description"] = f.metadata["doc"]
        properties[f.name] = node
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    doc = description if description is not None else (cls.__doc__ or "").strip().split("\n\n")[0]
    if doc and not doc.startswith(cls.__name__ + "("):  # dataclass's generated docstring says nothing
        schema["description"] = " ".join(doc.split())
    return schema


def defaults_of(cls) -> dict:
    """The section as the config gets it when the user sets nothing: every config key's default, the
    nested sections' filled in."""
    found = {}
    for f in config_fields(cls):
        value = (
            f.default
            if f.default is not MISSING
            else f.default_factory()
            if f.default_factory is not MISSING
            else MISSING
        )
        if dataclasses.is_dataclass(value):
            found[f.name] = defaults_of(type(value))
        elif value is not MISSING:
            found[f.name] = _default(f)
    return found


@dataclass(frozen=True)
class ConfigSection:
    """A top-level config section: its settings class (or a list or mapping of one), its default (none:
    the section is required) and, for a stage, how the checked raw section becomes the stage's part of
    the `Experiment`: `resolve(raw_section, shared)`, raising ConfigError, run once the shared parts
    (seed, data sets, models, methods) are built."""

    settings: Any
    default: Any = dataclasses.field(default_factory=dict)
    resolve: Callable[[dict, Any], Any] | None = None
    keywords: dict = dataclasses.field(default_factory=dict)  # extra JSON-schema keywords

    def schema(self) -> dict:
        node = {**_type_schema(self.settings), **self.keywords}
        if self.default is not MISSING:
            node["default"] = self.default
        return node


CONFIG_SECTIONS: Registry[ConfigSection] = Registry("config section")
