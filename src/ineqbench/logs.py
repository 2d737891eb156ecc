"""Per-job logging: Python logging and stderr (tqdm progress) both go to the job's log file.

The file is appended to, each run of the job under a header line: when a job is retried (a Slurm time
limit, a lost node), the log of the attempt that failed, and of where it got to, is kept."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def job_logging(log_path: str | None) -> Iterator[None]:
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    from tqdm.contrib.logging import logging_redirect_tqdm

    with open(log_path, "a", buffering=1) as stream, contextlib.redirect_stderr(stream):
        stream.write(f"===== job started {datetime.now().isoformat(timespec='seconds')} =====\n")
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            with logging_redirect_tqdm():  # log lines go through tqdm.write, so bars and lines don't mix
                yield
        except BaseException:
            logging.getLogger("ineqbench").exception("job failed")
            raise
        finally:
            root.removeHandler(handler)
