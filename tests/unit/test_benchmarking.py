"""The benchmark harness: what it times, what it records. No assertion on any time."""

import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from ineqbench.attribution.settings import METHOD_PRESETS, resolve_methods
from ineqbench.benchmarking import (
    REPEATS,
    WARMUP,
    environment,
    forward_backward,
    markdown_table,
    median_seconds,
    points_per_image,
    write_record,
)
from ineqbench.provenance import lock_hash

CPU = torch.device("cpu")


def test_one_warm_up_then_the_median_of_three_timed_calls():
    calls = []
    seconds = median_seconds(lambda: calls.append(1), CPU)
    assert (WARMUP, REPEATS) == (1, 3) and len(calls) == 4 and seconds >= 0


def test_points_per_image_of_every_preset():
    specs = resolve_methods(sorted(METHOD_PRESETS), {})
    expected = {"ig": 20, "ig_zero": 20, "ig_code": 50, "ixg": 1, "gradient": 1, "smoothgrad": 20}
    expected |= {"smoothgrad_sq_ig": 20 * 50, "gradshap": 20, "gradshap_code": 50}
    assert {k: points_per_image(s) for k, s in specs.items()} == expected


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_limit_pass_runs_on_the_layout_asked_for(layout):
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append((len(x), x.is_contiguous(memory_format=layout)))
            return x.flatten(1)[:, :3] * 2

    forward_backward(Recorder(), torch.rand(2, 3, 4, 4), torch.tensor([0, 1]), 5, layout=layout)()
    assert seen == [(5, True)]


def test_peak_memory_sees_an_allocation_on_a_cpu():
    """In a fresh process: in this one, pages freed by earlier tests may stay resident and be reused."""
    code = (
        "import torch; from ineqbench.benchmarking import peak_memory\n"
        "with peak_memory(torch.device('cpu')) as peak:\n"
        "    block = torch.ones(64 * 2**20 // 4); del block\n"
        "print(peak['peak_mib'])"
    )
    peak = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    if math.isnan(peak):
        pytest.skip("no /proc on this system")
    assert peak >= 32


def test_a_record_names_its_device_libraries_lock_and_commit(tmp_path):
    rows = [{"model": "m", "img_size": 32, "batch_size": 2, "samples_per_sec": 1.5, "ratio": float("nan")}]
    csv, md = write_record(rows, environment(CPU), tmp_path / "bench", "A title", "A note.")
    assert pd.read_csv(csv).columns.tolist() == list(rows[0])
    text = md.read_text()
    assert text.startswith("# A title") and "A note." in text
    assert f"lock sha256: {lock_hash()}" in text and "- commit: " in text and "torch: " in text
    assert "- device: CPU" in text and "median of 3 timed repeats after 1 warm-up" in text
    assert "| m | 32 | 2 | 1.5 |  |" in text  # NaN shows as an empty cell


def test_markdown_table_without_tabulate():
    table = markdown_table(pd.DataFrame({"a": [1, 2], "b": [0.123456, None]}))
    assert table.splitlines() == ["| a | b |", "|---|---|", "| 1 | 0.1235 |", "| 2 |  |"]
