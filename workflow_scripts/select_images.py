"""Snakemake adapter of the select_images rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.aggregate_job import select_images_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    select_images_job(
        prediction_paths=dict(zip(sm.params.models, sm.input.predictions)),
        n_images=sm.params.settings["n_images"],
        out_path=sm.output.selection,
        info_path=sm.output.info,
    )
