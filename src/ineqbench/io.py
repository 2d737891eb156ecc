"""Atomic writers and readers for every artefact, plus file hashing.

Everything is written to a temporary file in the target folder and renamed into place, so a killed
job never leaves a truncated NPZ, Parquet or checkpoint that a later run would take as complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ineqbench.errors import CorruptFile

if TYPE_CHECKING:  # pandas is imported by the writers that need it: the DAG reads ledgers without it
    import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj`, first 16 hex digits: the config hash of provenance."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix or target.suffix)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs should be as readable as any other
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(target)  # a failed write (full disk) names no file; name the output
        raise


def _write(path: str | Path, writer: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        writer(tmp)


def write_json(path: str | Path, obj: Any) -> None:
    _write(path, lambda p: p.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    _write(path, lambda p: np.savez(p, **arrays))


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, ValueError) as error:  # truncated, overwritten, not an NPZ
        raise CorruptFile(path, f"not a readable NPZ: {error}") from error


def write_parquet(path: str | Path, frame: pd.DataFrame, metadata: dict | None = None) -> None:
    """Parquet with optional key-value metadata (provenance) in the schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"ineqbench": json.dumps(metadata, default=str).encode()}
        )
    _write(path, lambda p: pq.write_table(table, p))


def read_parquet_metadata(path: str | Path) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(b"ineqbench", b"{}"))


def write_text(path: str | Path, text: str) -> None:
    _write(path, lambda p: p.write_text(text))


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes: about 0.7 s per GiB on one core with the CPU's SHA extensions
    (benchmarks/bench_checksum.py)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
