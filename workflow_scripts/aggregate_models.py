"""Snakemake adapter of the aggregate_models rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.aggregate_job import model_cards_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    model_cards_job(
        card_paths=dict(zip(sm.params.models, sm.input.cards)), csv_path=sm.output.csv, md_path=sm.output.md
    )
