"""Snakemake adapter of the plot_attribution_maps rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.aggregate_job import attribution_figure_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    models = sm.params.models
    attribution_figure_job(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        attribution_paths=dict(zip(models, sm.input.attributions)),
        score_paths=dict(zip(models, sm.input.scores)),
        card_paths=dict(zip(models, sm.input.cards)),
        selection_path=sm.input.selection,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        n_figure_images=sm.params.n_images,
        figure_path=sm.output[0],
    )
