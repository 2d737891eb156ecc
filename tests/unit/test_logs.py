"""A retried job's log keeps what the failed attempt wrote."""

from __future__ import annotations

import logging

import pytest

from ineqbench.logs import job_logging


def test_each_attempt_is_appended_under_its_own_header(tmp_path):
    log_path = tmp_path / "logs" / "job.log"
    with pytest.raises(RuntimeError), job_logging(str(log_path)):
        logging.getLogger("ineqbench.test").info("epoch 3/10")
        raise RuntimeError("killed")
    with job_logging(str(log_path)):
        logging.getLogger("ineqbench.test").info("resuming from epoch 3/10")
    text = log_path.read_text()
    assert text.count("===== job started") == 2
    assert text.index("epoch 3/10") < text.index("job failed") < text.index("resuming from epoch 3/10")
