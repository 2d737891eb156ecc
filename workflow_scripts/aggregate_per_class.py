"""Snakemake adapter of the aggregate_per_class rule."""

from ineqbench.inequality.per_class import aggregate_per_class
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_per_class(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        score_paths=sm.params.scores,
        card_paths=sm.params.cards,
        info_path=sm.input.info,
        transform=sm.params.transform,
        images=sm.params.images,
        top=sm.params.top,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        figure_path=sm.output.figure,
    )
