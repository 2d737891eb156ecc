"""Fault injection on a copy of the tiny run: a bit-flipped attribution cache stops the job that reads it
with one line naming the file and the command that makes it again, before that job writes anything;
the command remakes the same maps, and the reader then runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from ineqbench.attribution.cache import load_attributions
from tests.helpers.workflow import DATASET, run_snakemake

pytestmark = pytest.mark.workflow


def test_a_bit_flip_stops_the_reader_with_one_line_and_its_command_remakes_the_cache(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, symlinks=True)
    cache = sorted((run / "results" / "default" / DATASET / "attributions").rglob("*.npz"))[0]
    rel = cache.relative_to(run).as_posix()
    maps_before = load_attributions(cache)[0].to_array()
    data = bytearray(cache.read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit inside the maps: the zip and the NPZ headers still read
    cache.write_bytes(bytes(data))
    scores = rel.replace("/attributions/", "/inequality/").replace(".npz", ".parquet")

    failed = run_snakemake(run, "--cores", "1", "--force", scores, check=False)
    assert failed.returncode != 0 and not (run / scores).exists()
    lines = [line for line in failed.stderr.splitlines() if line.startswith("ineqbench: ")]
    assert len(lines) == 1, failed.stderr[-3000:]
    assert lines[0].startswith(f"ineqbench: {rel} is corrupt (its sha256 differs from the one recorded when rule")
    command = re.search(r"`(snakemake [^`]+)`", lines[0]).group(1)
    assert command == f"snakemake --cores 1 --force {rel}"

    run_snakemake(run, *command.split()[1:])
    np.testing.assert_array_equal(load_attributions(cache)[0].to_array(), maps_before)
    run_snakemake(run, "--cores", "1", scores)
    assert Path(run / scores).exists()
