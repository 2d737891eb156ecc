"""Snakemake adapter of the plot_occlusion_examples rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.attack_jobs import occlusion_figure_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    models = sm.params.models
    occlusion_figure_job(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        occlusion_paths=dict(zip(models, sm.input.occlusion)),
        attribution_paths=dict(zip(models, sm.input.attributions)),
        card_paths=dict(zip(models, sm.input.cards)),
        selection_path=sm.input.selection,
        info_path=sm.input.info,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        budgets=list(sm.params.dataset["occlusion_budgets"]),
        region_size=sm.params.dataset["region_size"],
        settings=sm.params.settings,
        n_figure_images=sm.params.n_images,
        figure_path=sm.output[0],
    )
