"""Snakemake adapter of the aggregate_noise rule."""

from ineqbench.attacks.aggregate import aggregate_noise
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_noise(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        rows_paths=sm.params.rows,
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
