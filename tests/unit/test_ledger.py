"""The ledger of which code made each output, and the `code` param it gives Snakemake: rerun what other
code made, flag (not rerun) what was made before code tracking or accepted, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ineqbench.code_status import accept, adopt, flagged_lines, states
from ineqbench.ledger import TAG, NotTracked, code_param, entry_path, record
from tests.helpers.workflow import ROOT

OUTPUT = "results/exp/shapes/inequality/m/ig.parquet"


@pytest.fixture()
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("rules", "workflow_scripts"):
        os.symlink(ROOT / name, tmp_path / name)
    return tmp_path


def make(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("made")


def test_a_missing_output_gets_the_current_version(here):
    assert code_param("v2", OUTPUT) == TAG + "v2"


def test_an_output_made_by_the_current_code_is_kept_and_other_code_reruns(here):
    make(OUTPUT)
    record([OUTPUT], "score_inequality", "v1")
    assert entry_path(OUTPUT) == Path("results/exp/.code/shapes/inequality/m/ig.parquet.json")
    assert code_param("v1", OUTPUT) == TAG + "v1"
    assert code_param("v2", OUTPUT) == TAG + "v2"  # differs from what Snakemake recorded: rerun


def test_an_untracked_output_is_flagged_not_rerun_until_accepted(here):
    make(OUTPUT)
    assert isinstance(code_param("v1", OUTPUT), NotTracked)
    [state] = states(Path("results/exp"))
    assert (state.rule, state.state) == ("score_inequality", "untracked")
    assert flagged_lines(Path("results/exp")) == ["1 output(s) made before code tracking (kept, not rerun)"]
    assert accept(Path("results/exp")) == 1
    assert isinstance(code_param(state.current, OUTPUT), NotTracked)  # accepted: Snakemake sees no change
    assert code_param("v9", OUTPUT) == TAG + "v9"  # the next code change reruns it
    assert flagged_lines(Path("results/exp")) == ["1 output(s) made by older code, accepted as current"]


def test_accepting_a_stale_output_keeps_the_recorded_version(here):
    make(OUTPUT)
    record([OUTPUT], "score_inequality", "v1")
    [state] = states(Path("results/exp"))
    assert state.state == "stale" and state.current != "v1"
    accept(Path("results/exp"))
    assert code_param(state.current, OUTPUT) == TAG + "v1"


def test_logs_benchmarks_resume_state_and_the_report_are_not_outputs(here):
    for path in ("results/exp/shapes/logs/a.log", "results/exp/shapes/benchmarks/a.tsv", "results/exp/.x.tmp"):
        make(path)
    make("results/exp/report.html")  # made by `snakemake --report`, by no rule
    assert states(Path("results/exp")) == []


def test_adopt_moves_old_results_keeping_their_times(here):
    make("results/shapes/models/m.json")
    os.utime("results/shapes/models/m.json", (1_000_000, 1_000_000))
    assert adopt(["shapes", "absent"], Path("results/exp")) == ["shapes"]
    assert Path("results/exp/shapes/models/m.json").stat().st_mtime == 1_000_000
    assert adopt(["shapes"], Path("results/exp")) == []  # nothing left to move, nothing overwritten
