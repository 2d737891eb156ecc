"""Snakemake adapter of the plot_occlusion_examples rule."""

from ineqbench.attacks.examples import plot_occlusion_examples
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    plot_occlusion_examples(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        occlusion_paths=sm.params.occlusion,
        attribution_paths=sm.params.attributions,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        info_path=sm.input.info,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        settings=sm.params.settings,
        context=sm.params.context,
        n_figure_images=sm.params.n_images,
        figure_path=sm.output[0],
    )
