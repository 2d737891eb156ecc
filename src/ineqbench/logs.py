"""Per-job logging: Python logging and stderr (tqdm progress) both go to the job's log file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def job_logging(log_path: str | None) -> Iterator[None]:
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    from tqdm.contrib.logging import logging_redirect_tqdm

    with open(log_path, "w", buffering=1) as stream, contextlib.redirect_stderr(stream):
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
