"""Snakemake adapter of the select_images rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.models import select_images

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    select_images(
        prediction_paths=sm.params.predictions,
        n_images=sm.params.settings["n_images"],
        out_path=sm.output.selection,
        info_path=sm.output.info,
    )
