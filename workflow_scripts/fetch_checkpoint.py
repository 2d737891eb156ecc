"""Snakemake adapter of the fetch_checkpoint rule."""

from ineqbench.fetch.job import fetch_checkpoint
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    fetch_checkpoint(
        spec=sm.params.spec,
        info_path=sm.input.info,
        download_dir=sm.params.download_dir,
        weights_path=sm.output.weights,
        record_path=sm.output.record,
    )
