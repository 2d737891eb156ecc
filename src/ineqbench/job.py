"""The frame of every rule's script: the job's log, the code version its outputs' provenance names, the
integrity of its inputs, and on success the ledger entry of each output (`ineqbench.ledger`), so the
next run knows which code made them and the next reader can check them.

A failure the user can act on (a corrupt input, a missing file, a full disk, a read-only folder) ends
the job with one line naming the path and the fix (`ineqbench.errors.explain`); its traceback stays in
the job's log. SIGTERM (Slurm's scancel and time limit, Snakemake's shutdown) unwinds like an
exception, so temporary files are removed; those of a SIGKILLed attempt are removed by the next one.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from ineqbench.code_version import code_version, script_of
from ineqbench.errors import explain
from ineqbench.ledger import check_intact, record
from ineqbench.logs import job_logging
from ineqbench.provenance import set_job


class Terminated(SystemExit):
    """SIGTERM, raised in the main thread so that every `with` block unwinds."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated(128 + signum)


@contextlib.contextmanager
def _terminate_unwinds() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_orphans(outputs: list[str]) -> None:
    """Delete the temporary files an earlier, killed attempt of this job left beside its outputs
    (`ineqbench.io.atomic_path` names them `.<output name>.<random>`)."""
    for output in map(Path, outputs):
        for orphan in output.parent.glob(f".{output.name}.*"):
            if orphan.is_file():
                orphan.unlink(missing_ok=True)


@contextlib.contextmanager
def snakemake_job(sm) -> Iterator[None]:
    """`with snakemake_job(snakemake):` around a script's work; `sm` is the object Snakemake injects."""
    version = code_version(script_of(sm.rule, Path(sm.scriptdir)))
    set_job(sm.rule, version)
    log_path = sm.log[0] if sm.log else None
    try:
        with _terminate_unwinds(), job_logging(log_path):
            remove_orphans(list(sm.output))
            for path in sm.input:
                check_intact(path)
            yield
            log_peak_memory()
    except Exception as error:
        line = explain(error)
        if line is None:
            raise
        print(f"ineqbench: {line}" + (f" (traceback in {log_path})" if log_path else ""), file=sys.stderr)
        raise SystemExit(1) from None
    record(list(sm.output), sm.rule, version)


def log_peak_memory() -> None:
    """The job's peak resident memory, and its peak GPU allocation where it used a GPU, in its log."""
    peak = f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB resident"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        peak += f", {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB on the GPU"
    logging.getLogger("ineqbench.job").info(peak)
