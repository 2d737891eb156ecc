"""Per-job logging: Python logging and stderr (tqdm progress) both go to the job's log file.

Snakemake replaces a rule's log when it retries the job, so under Slurm the log lines also go to the
job's own stderr, which Slurm writes to a file per Slurm job id (`.snakemake/slurm_logs/`, kept for
failed jobs): the log of an attempt killed at its time limit, and how far it got, survives the retry."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def job_logging(log_path: str | None) -> Iterator[None]:
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    from tqdm.contrib.logging import logging_redirect_tqdm

    job_stderr = sys.stderr
    with open(log_path, "w", buffering=1) as stream, contextlib.redirect_stderr(stream):
        handlers = [logging.StreamHandler(stream)]
        if "SLURM_JOB_ID" in os.environ:
            handlers.append(logging.StreamHandler(job_stderr))
        root = logging.getLogger()
        for handler in handlers:
            handler.setFormatter(logging.Formatter(FORMAT))
            root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with logging_redirect_tqdm():  # log lines go through tqdm.write, so bars and lines don't mix
                yield
        except BaseException:
            logging.getLogger("ineqbench").exception("job failed")
            raise
        finally:
            for handler in handlers:
                root.removeHandler(handler)
