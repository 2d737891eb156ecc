"""Snakemake adapter of the aggregate_models rule."""

from ineqbench.job import snakemake_job
from ineqbench.reporting.models import aggregate_models

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_models(card_paths=sm.params.cards, csv_path=sm.output.csv, md_path=sm.output.md)
