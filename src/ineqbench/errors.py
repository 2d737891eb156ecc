"""Failures a user can act on, each told in one line that names the path and the fix.

A job (`ineqbench.job`) prints `explain(error)` as its last line instead of a traceback when it knows
the failure (the traceback stays in the job's log); an error it does not know is a bug, and keeps its
traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path


class ActionableError(Exception):
    """An error whose message already says what went wrong, where, and what to do."""


def regenerate_command(path: str | Path) -> str:
    """The command that makes `path` (an output under results/<experiment>/) again."""
    parts = Path(path).parts
    config = ""
    if len(parts) > 2 and parts[0] == "results" and parts[1] != "default":
        names = parts[1].split("+")  # an experiment of several config files joins their stems with +
        config = " --configfile " + " ".join(f"config/{name}.yaml" for name in names)
    return f"snakemake --cores 1 --force {Path(path).as_posix()}{config}"


class CorruptFile(ActionableError):
    """A cached artefact that is not what its writer wrote: truncated, bit-flipped or unreadable."""

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = str(path)
        super().__init__(
            f"{path} is corrupt ({what}); make it again with `{regenerate_command(path)}`, then rerun the workflow"
        )


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NO_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS)


def explain(error: BaseException) -> str | None:
    """One line for a failure the user can act on; None for any other error."""
    if isinstance(error, ActionableError):
        return str(error)
    if not isinstance(error, OSError):
        return None
    path = error.filename or "the results folder"
    folder = Path(str(path)).parent
    if isinstance(error, FileNotFoundError):
        return f"missing file {path}: check the path in the config, or make it with `{regenerate_command(path)}`"
    if error.errno in _NO_SPACE:
        return f"no space left on the device writing {path}: free space there (`df -h {folder}`), then rerun"
    if error.errno in _NO_WRITE:
        return f"no permission to write {path}: make its folder writable (`chmod u+w {folder}`), then rerun"
    return None
