"""The frame of every rule's script: the job's log, the code version its outputs' provenance names, and
on success the ledger entry of each output (`ineqbench.ledger`), so the next run knows which code made
them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ineqbench.code_version import code_version, script_of
from ineqbench.ledger import record
from ineqbench.logs import job_logging
from ineqbench.provenance import set_job


@contextlib.contextmanager
def snakemake_job(sm) -> Iterator[None]:
    """`with snakemake_job(snakemake):` around a script's work; `sm` is the object Snakemake injects."""
    version = code_version(script_of(sm.rule, Path(sm.scriptdir)))
    set_job(sm.rule, version)
    with job_logging(sm.log[0] if sm.log else None):
        yield
    record(list(sm.output), sm.rule, version)
