"""The version of the code a rule runs: a hash of its script and of the script's import closure within
the package, per module, so that an edit anywhere a job's code reaches makes exactly the outputs of that
rule out of date (Snakemake's own code trigger sees only the script).

The closure follows `import` statements and the "ineqbench.module" / "ineqbench.module:attribute"
strings through which registries import their entries lazily (`Registry.declare`, `Lazy`), so it never
misses a module a job can run; it may include one it does not (every attack family's module is reachable
from the family registry). A package's data files (the paper's reference numbers) count as its code.
Each module is hashed from its syntax tree without docstrings: comments, docstrings and formatting do not
change a version. Nothing here imports torch: the DAG computes these while it is built.
"""

from __future__ import annotations

import ast
import hashlib
import re
from functools import cache
from pathlib import Path

PACKAGE = "ineqbench"
PACKAGE_DIR = Path(__file__).resolve().parent
_MODULE_REF = re.compile(rf"^({PACKAGE}(?:\.\w+)+)(?::\w+)?$")
_DOCSTRING_HOLDERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def module_file(name: str) -> Path | None:
    """The source file of package module `name`, None if it is not one (an attribute, another package)."""
    base = PACKAGE_DIR.parent.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_HOLDERS) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


@cache
def source_hash(path: Path) -> str:
    """sha256 of the file's syntax tree without docstrings (positions are not part of the dump)."""
    tree = _without_docstrings(ast.parse(path.read_text(), filename=str(path)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _data_hash(package_dir: Path) -> str | None:
    files = sorted(p for p in package_dir.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@cache
def _imports(path: Path, package: str) -> frozenset[str]:
    """Package modules that the file at `path` (in package `package`) imports or names as a lazy target."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            named |= {module} | {f"{module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (ref := _MODULE_REF.match(node.value)):
            named.add(ref.group(1))
    # importing a.b.c runs a, a.b and a.b.c
    parents = {".".join(name.split(".")[:i]) for name in named for i in range(1, name.count(".") + 2)}
    return frozenset(m for m in parents if m.split(".")[0] == PACKAGE and module_file(m) is not None)


def closure(script: str | Path) -> dict[str, str]:
    """{module or data: hash} of every package module the script can run, and the package data beside them."""
    found: dict[str, str] = {}
    pending = list(_imports(Path(script).resolve(), ""))
    while pending:
        name = pending.pop()
        if name in found:
            continue
        path = module_file(name)
        found[name] = source_hash(path)
        if path.name == "__init__.py" and (data := _data_hash(path.parent)):
            found[f"{name}/data"] = data
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        pending += [m for m in _imports(path, package) if m not in found]
    return dict(sorted(found.items()))


@cache
def code_version(script: str | Path) -> str:
    """The version of what a rule runs: its script and the script's closure, 16 hex digits."""
    digest = hashlib.sha256(source_hash(Path(script).resolve()).encode())
    for name, value in closure(script).items():
        digest.update(f"\n{name}={value}".encode())
    return digest.hexdigest()[:16]


def script_of(rule: str, scripts_dir: str | Path = "workflow_scripts") -> Path:
    """A rule's script: house style names it after the rule."""
    return Path(scripts_dir) / f"{rule}.py"
