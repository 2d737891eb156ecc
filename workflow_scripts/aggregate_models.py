"""Snakemake adapter of the aggregate_models rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.models import aggregate_models

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    aggregate_models(card_paths=sm.params.cards, csv_path=sm.output.csv, md_path=sm.output.md)
