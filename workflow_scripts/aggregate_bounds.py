"""Snakemake adapter of the aggregate_bounds rule."""

from ineqbench.bounds.aggregate import aggregate_bounds
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_bounds(
        dataset=sm.wildcards.dataset,
        bound_paths=sm.params.bounds,
        card_paths=sm.params.cards,
        n_boot=sm.params.n_boot,
        seed=sm.params.seed,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
        images_path=sm.output.images,
        gini_csv_path=sm.output.gini_csv,
        gini_md_path=sm.output.gini_md,
        scatter_path=sm.output.scatter,
        epsilon_path=sm.output.epsilon,
        gini_figure_path=sm.output.gini_figure,
    )
