"""The attribution cache: a sharded, memory-mapped NPZ of one model's maps for one method.

File format: an uncompressed (ZIP_STORED, ZIP64) zip that `np.load` opens like any NPZ, holding

- `attributions_<start:07d>.npy`: the maps of pool positions start, start + 1, ... (stored dtype,
  (n, C, H, W)); shards follow each other without gaps, all of `shard_images` maps but the last;
- `pool_index.npy`, `labels.npy`, `convergence_delta.npy`: one entry per map (NaN delta if none);
- `meta.npy`: the provenance dict as a JSON string in a 0-d unicode array.

Caches written before the sharding by `np.savez` hold one `attributions.npy` member instead: it is
read as a single shard. Because the members are stored uncompressed, each shard is memory-mapped in
place (np.memmap at the member's data offset) and a reader copies only the rows it asks for, as
float32; the writer holds at most one shard, so neither side needs the whole (N, C, H, W) array in
memory (1.8 GB of float32 for 3000 ImageNet maps).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ineqbench.errors import CorruptFile
from ineqbench.io import atomic_path, sha256_file, write_json

SHARD_PREFIX = "attributions_"
LEGACY_MEMBER = "attributions.npy"
SMALL_ARRAYS = ("pool_index", "labels", "convergence_delta")
_SHARD_NAME = re.compile(rf"^{SHARD_PREFIX}(\d{{7}})\.npy$")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zip local file header: 30 bytes, name and extra lengths last
_LOCAL_SIGNATURE = b"PK\x03\x04"
_PROGRESS = "progress.json"  # the staging folder's record of its complete shards


def shard_name(start: int) -> str:
    return f"{SHARD_PREFIX}{start:07d}.npy"


class AttributionWriter:
    """Streams maps into a sharded cache at `path`, written atomically, resumable shard by shard.

    `shape` is the shape of one map (C, H, W); maps are stored as `dtype`. Use as a context manager:
    `append` batches of maps in pool order (with any per-image arrays, e.g. convergence_delta), `add`
    the small arrays known up front, set `meta`. Each full shard is written at once, with its sha256,
    to a staging folder beside `path` (`.<name>.partial/`); on a clean exit the shards are copied into
    the cache, which is renamed into place, and the folder removed.

    On an exception (or a kill) the complete shards stay in the staging folder when a `resume_key` is
    given: the next writer with the same key, size, shape, dtype and shard size keeps every intact
    shard and reports how many maps it holds (`n_resumed`), so the caller computes only the rest. Any
    other staging folder is discarded. Without a key nothing is left behind.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_images: int,
        shape: tuple[int, ...],
        dtype: Any,
        shard_images: int = 1000,
        meta: dict | None = None,
        resume_key: str | None = None,
    ) -> None:
        if shard_images < 1:
            raise ValueError(f"shard_images must be at least 1, got {shard_images}")
        self.path = Path(path)
        self.n_images = int(n_images)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.shard_images = int(shard_images)
        self.meta = meta
        self.resume_key = resume_key
        self.staging = self.path.with_name(f".{self.path.name}.partial")
        self._arrays: dict[str, np.ndarray] = {}
        self._buffer = np.empty((min(self.shard_images, max(self.n_images, 1)), *self.shape), self.dtype)
        self._per_image: dict[str, list[np.ndarray]] = {}  # the buffer's per-image arrays, by name
        self._filled = 0  # maps in the buffer
        self._start = 0  # pool position of the buffer's first map
        self._shards: list[dict] = []  # the staged shards: start, n, {file: sha256}
        self.n_resumed = 0

    @property
    def n_written(self) -> int:
        """Maps appended so far (resumed ones included)."""
        return self._start + self._filled

    def _identity(self) -> dict:
        return {
            "key": self.resume_key,
            "n_images": self.n_images,
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "shard_images": self.shard_images,
        }

    def __enter__(self) -> AttributionWriter:
        self._shards = self._intact_staged_shards()
        self._start = self.n_resumed = sum(shard["n"] for shard in self._shards)
        self.staging.mkdir(parents=True, exist_ok=True)
        for stray in self.staging.iterdir():  # a partial shard or a temporary file of a killed writer
            if stray.name != _PROGRESS and stray.name not in {f for shard in self._shards for f in shard["files"]}:
                stray.unlink()
        self._save_progress()
        return self

    def _intact_staged_shards(self) -> list[dict]:
        """The shards of an earlier writer of the same cache, up to the first damaged one; [] (and the
        staging folder removed) when there is no key or the earlier writer's identity differs."""
        progress = self.staging / _PROGRESS
        try:
            recorded = json.loads(progress.read_text())
        except (OSError, ValueError):
            recorded = None
        if self.resume_key is None or recorded is None or recorded.get("identity") != self._identity():
            shutil.rmtree(self.staging, ignore_errors=True)
            return []
        kept = []
        for shard in recorded["shards"]:
            files = shard["files"]
            if not all((self.staging / f).is_file() and sha256_file(self.staging / f) == h for f, h in files.items()):
                break
            kept.append(shard)
        return kept

    def _save_progress(self) -> None:
        write_json(self.staging / _PROGRESS, {"identity": self._identity(), "shards": self._shards})

    def append(self, maps: np.ndarray, **per_image: np.ndarray) -> None:
        """Add a batch (n, C, H, W) of maps, the next n pool positions, with any per-image arrays (n,)."""
        maps = np.asarray(maps)
        if maps.shape[1:] != self.shape:
            raise ValueError(f"maps of shape {maps.shape[1:]} appended to a cache of {self.shape} maps")
        if self.n_written + len(maps) > self.n_images:
            raise ValueError(f"more than the {self.n_images} announced maps appended")
        done = 0
        while done < len(maps):
            take = min(len(maps) - done, len(self._buffer) - self._filled)
            self._buffer[self._filled : self._filled + take] = maps[done : done + take]
            for name, array in per_image.items():
                self._per_image.setdefault(name, []).append(np.asarray(array)[done : done + take])
            self._filled += take
            done += take
            if self._filled == len(self._buffer) or self.n_written == self.n_images:
                self._flush()

    def add(self, **arrays: np.ndarray) -> None:
        """The small per-image arrays known up front (pool_index, labels), written on exit."""
        for name, array in arrays.items():
            if name == "meta" or name.startswith(SHARD_PREFIX) or name == LEGACY_MEMBER[:-4]:
                raise ValueError(f"{name!r} is a reserved member name")
            self._arrays[name] = np.asarray(array)

    def _stage(self, name: str, array: np.ndarray) -> str:
        """Write one staged array atomically; returns its sha256."""
        with atomic_path(self.staging / name) as tmp, open(tmp, "wb") as f:
            np.lib.format.write_array(f, array, allow_pickle=False)
        return sha256_file(self.staging / name)

    def _flush(self) -> None:
        if not self._filled:
            return
        files = {shard_name(self._start): self._stage(shard_name(self._start), self._buffer[: self._filled])}
        for name, parts in self._per_image.items():
            staged = f"{name}_{self._start:07d}.npy"
            files[staged] = self._stage(staged, np.concatenate(parts))
        self._shards.append({"start": self._start, "n": self._filled, "files": files})
        self._save_progress()
        self._per_image = {}
        self._start += self._filled
        self._filled = 0

    def _write_cache(self, zf: zipfile.ZipFile) -> None:
        def member(name: str, array: np.ndarray) -> None:
            with zf.open(name, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)

        per_image: dict[str, list[np.ndarray]] = {}
        for shard in self._shards:
            for staged in shard["files"]:
                if _SHARD_NAME.match(staged):
                    zf.write(self.staging / staged, staged)  # stored: the reader memory-maps it in place
                else:
                    per_image.setdefault(staged[: -len("_0000000.npy")], []).append(np.load(self.staging / staged))
        if self.n_images == 0:  # an empty cache still records the map shape and dtype
            member(shard_name(0), np.empty((0, *self.shape), self.dtype))
        for name, parts in per_image.items():
            member(f"{name}.npy", np.concatenate(parts))
        for name, array in self._arrays.items():
            member(f"{name}.npy", array)
        if self.meta is not None:
            member("meta.npy", np.array(json.dumps(self.meta, default=str)))

    def __exit__(self, exc_type, exc, tb) -> None:
        self._buffer = np.empty((0, *self.shape), self.dtype)  # the shard buffer is the big allocation
        if exc_type is not None:
            if self.resume_key is None:
                shutil.rmtree(self.staging, ignore_errors=True)
            return
        try:
            self._flush()
            if self.n_written != self.n_images:
                raise ValueError(f"{self.n_written} maps appended, {self.n_images} announced")
            with atomic_path(self.path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                self._write_cache(zf)
        except BaseException:
            if self.resume_key is None:
                shutil.rmtree(self.staging, ignore_errors=True)
            raise
        shutil.rmtree(self.staging, ignore_errors=True)


def _data_offset(f, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its LOCAL header, whose extra field (ZIP64 sizes)
    may differ in length from the central directory's."""
    f.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
    if fields[0] != _LOCAL_SIGNATURE:
        raise ValueError(f"bad local header for {info.filename}")
    name_length, extra_length = fields[-2], fields[-1]
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _open_shard(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """The member as an np.memmap when it is stored uncompressed, else read into memory."""
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:  # bit 0: encrypted
        with open(path, "rb") as f:
            start = _data_offset(f, info)
            f.seek(start)
            version = np.lib.format.read_magic(f)
            header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(
                version
            )
            if header is not None:
                shape, fortran, dtype = header(f)
                offset = f.tell()
                if not dtype.hasobject and int(np.prod(shape)) > 0:  # mmap cannot map zero bytes
                    return np.memmap(
                        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
                    )
    with zf.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


class AttributionMaps:
    """Lazy read-only (N, C, H, W) view of a cache's maps; indexing returns float32 copies of the
    requested rows only.

    Accepts an int, a slice, a boolean mask of length N or an integer index array (list) as the row
    index, optionally followed by indices of the other axes. `iter_batches` walks the maps in pool
    order; `to_array` (or `np.asarray`) loads all of them; `select` is a lazy view of some rows.
    """

    def __init__(
        self, path: str | Path, _shards: list[tuple[int, np.ndarray]] | None = None, _rows: np.ndarray | None = None
    ) -> None:
        self.path = Path(path)
        self._shards = _shards if _shards is not None else self._open(self.path)
        self._starts = np.array([start for start, _ in self._shards], dtype=np.int64)
        total = sum(len(shard) for _, shard in self._shards)
        self._rows = _rows  # positions in the file of this view's rows; None: all, in order
        first = self._shards[0][1]
        self._map_shape = first.shape[1:]
        self._dtype = first.dtype
        self._length = total if _rows is None else len(_rows)

    @classmethod
    def _open(cls, path: Path) -> list[tuple[int, np.ndarray]]:
        try:
            return cls._open_shards(path)
        except (zipfile.BadZipFile, EOFError, ValueError) as error:  # truncated or overwritten
            raise CorruptFile(path, f"not a readable attribution cache: {error}") from error

    @staticmethod
    def _open_shards(path: Path) -> list[tuple[int, np.ndarray]]:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            starts = sorted((int(m.group(1)), name) for name in infos if (m := _SHARD_NAME.match(name)))
            if not starts and LEGACY_MEMBER in infos:
                starts = [(0, LEGACY_MEMBER)]
            if not starts:
                raise ValueError(f"{path} holds no attribution maps")
            shards, expected = [], 0
            for start, name in starts:
                if start != expected:
                    raise ValueError(f"{path}: shard {name} starts at {start}, expected {expected}")
                shard = _open_shard(path, zf, infos[name])
                if shards and (shard.shape[1:] != shards[0][1].shape[1:] or shard.dtype != shards[0][1].dtype):
                    raise ValueError(f"{path}: shard {name} is {shard.dtype} {shard.shape}, unlike the first")
                shards.append((start, shard))
                expected += len(shard)
        return shards

    # ---- array-like surface ----

    def __len__(self) -> int:
        return self._length

    @property
    def shape(self) -> tuple[int, ...]:
        return (self._length, *self._map_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self._map_shape)

    @property
    def dtype(self) -> np.dtype:
        """The stored dtype; reads always return float32."""
        return self._dtype

    @property
    def shards(self) -> list[np.ndarray]:
        """The stored arrays, one per shard: np.memmap objects unless a member had to be read."""
        return [shard for _, shard in self._shards]

    def __repr__(self) -> str:
        return (
            f"AttributionMaps({str(self.path)!r}, shape={self.shape}, dtype={self.dtype}, shards={len(self._shards)})"
        )

    def _positions(self, key: Any) -> tuple[np.ndarray, bool]:
        """(rows of this view as file positions, whether the key was a scalar)."""
        n = self._length
        if isinstance(key, (int, np.integer)):
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for {n} maps")
            rows, scalar = np.array([i % n], dtype=np.int64), True
        elif isinstance(key, slice):
            rows, scalar = np.arange(*key.indices(n), dtype=np.int64), False
        else:
            index = np.asarray(key)
            if index.dtype == bool:
                if index.shape != (n,):
                    raise IndexError(f"boolean index of shape {index.shape} for {n} maps")
                rows = np.flatnonzero(index).astype(np.int64)
            elif index.size == 0:
                rows = np.empty(0, np.int64)
            elif np.issubdtype(index.dtype, np.integer) and index.ndim == 1:
                rows = index.astype(np.int64)
                if ((rows < -n) | (rows >= n)).any():
                    raise IndexError(f"index out of range for {n} maps")
                rows = np.where(rows < 0, rows + n, rows)
            else:
                raise IndexError(f"unsupported index {key!r}: an int, a slice, a boolean mask or 1-d integer rows")
            scalar = False
        return (rows if self._rows is None else self._rows[rows]), scalar

    def _read(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self._map_shape), np.float32)
        if not len(rows):
            return out
        shard_of = np.searchsorted(self._starts, rows, side="right") - 1
        for s in np.unique(shard_of):
            start, shard = self._shards[s]
            where = np.flatnonzero(shard_of == s)
            local = rows[where] - start
            n = len(where)
            if where[-1] - where[0] == n - 1 and local[-1] - local[0] == n - 1 and (np.diff(local) == 1).all():
                out[where[0] : where[0] + n] = shard[local[0] : local[0] + n]  # a run: one contiguous read
            else:
                out[where] = shard[local]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0] if key else slice(None)), key[1:]
        rows, scalar = self._positions(key)
        out = self._read(rows)
        if scalar:
            return out[0][rest] if rest else out[0]
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if copy is False:
            raise ValueError("AttributionMaps cannot be viewed as an array without a copy")
        array = self.to_array()
        return array if dtype is None else array.astype(dtype, copy=False)

    def iter_batches(self, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        """(start, float32 maps[start : start + batch_size]) in order: one batch in memory at a time."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, self._length, batch_size):
            yield start, self[start : start + batch_size]

    def to_array(self) -> np.ndarray:
        """Every map of the view as one float32 array."""
        return self[:]

    def select(self, key: Any) -> AttributionMaps:
        """A lazy view of some rows (any row index but a scalar), read only when indexed."""
        rows, scalar = self._positions(key)
        if scalar:
            raise IndexError("select takes a slice, a boolean mask or integer rows, not one row")
        return AttributionMaps(self.path, self._shards, rows)


def load_attributions(path: str | Path) -> tuple[AttributionMaps, dict[str, np.ndarray], dict]:
    """(the maps, lazily; the other arrays; the metadata dict) of a cache, sharded or legacy."""
    maps = AttributionMaps(path)
    try:
        with np.load(path, allow_pickle=False) as f:  # NpzFile reads a member only when asked for it
            arrays = {k: f[k] for k in f.files if k != "meta" and not k.startswith("attributions")}
            meta = json.loads(str(f["meta"])) if "meta" in f.files else {}
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise CorruptFile(path, f"not a readable attribution cache: {error}") from error
    return maps, arrays, meta
