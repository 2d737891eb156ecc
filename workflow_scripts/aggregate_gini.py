"""Snakemake adapter of the aggregate_gini rule."""

from ineqbench.inequality.aggregate import aggregate_gini
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_gini(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        score_paths=sm.params.scores,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        n_boot=sm.params.n_boot,
        seed=sm.params.seed,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
        figure_path=sm.output.figure,
    )
