"""Atomic writers: complete files only, normal permissions, nothing left behind on failure."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from ineqbench.io import atomic_path, read_npz, read_parquet_metadata, write_npz, write_parquet


def test_outputs_get_umask_permissions_not_mkstemp_private(tmp_path):
    path = tmp_path / "a.npz"
    write_npz(path, x=np.arange(3))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_failed_write_leaves_neither_target_nor_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("previous result")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_round_trips_keep_values_and_metadata(tmp_path):
    write_npz(tmp_path / "a.npz", x=np.array([1.5, 2.5], dtype=np.float32))
    assert read_npz(tmp_path / "a.npz")["x"].tolist() == [1.5, 2.5]
    write_parquet(tmp_path / "t.parquet", pd.DataFrame({"a": [1, 2]}), {"seed": 3})
    assert pd.read_parquet(tmp_path / "t.parquet")["a"].tolist() == [1, 2]
    assert read_parquet_metadata(tmp_path / "t.parquet") == {"seed": 3}
