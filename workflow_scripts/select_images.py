"""Snakemake adapter of the select_images rule."""

from ineqbench.job import snakemake_job
from ineqbench.reporting.models import select_images

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    select_images(
        prediction_paths=sm.params.predictions,
        n_images=sm.params.settings["n_images"],
        out_path=sm.output.selection,
        info_path=sm.output.info,
    )
