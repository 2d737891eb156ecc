"""Snakemake adapter of the plot_attribution_maps rule."""

from ineqbench.inequality.aggregate import plot_attribution_maps
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    plot_attribution_maps(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        attribution_paths=sm.params.attributions,
        score_paths=sm.params.scores,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        n_figure_images=sm.params.n_images,
        figure_path=sm.output[0],
    )
