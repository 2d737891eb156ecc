"""Job logs: everything goes to the rule's log; under Slurm the log lines also reach the job's stderr
(the Slurm log that outlives a retry)."""

from __future__ import annotations

import logging

import pytest

from ineqbench.logs import job_logging


def test_log_lines_and_the_failure_go_to_the_rule_log(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    log_path = tmp_path / "logs" / "job.log"
    with pytest.raises(RuntimeError), job_logging(str(log_path)):
        logging.getLogger("ineqbench.test").info("epoch 3/10")
        raise RuntimeError("killed")
    text = log_path.read_text()
    assert text.index("epoch 3/10") < text.index("job failed") < text.index("RuntimeError: killed")
    assert "epoch 3/10" not in capfd.readouterr().err


def test_under_slurm_log_lines_also_reach_the_jobs_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    with job_logging(str(tmp_path / "job.log")):
        logging.getLogger("ineqbench.test").info("resuming from epoch 3/10")
    assert "resuming from epoch 3/10" in capsys.readouterr().err
    assert "resuming from epoch 3/10" in (tmp_path / "job.log").read_text()
