"""Snakemake adapter of the aggregate_bounds rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.bounds_job import bounds_tables_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    methods, models = sm.params.methods, sm.params.models
    paths = list(sm.input.bounds)  # method-outer, model-inner, as the rule lists them
    assert len(paths) == len(methods) * len(models), "aggregate_bounds: one input per (method, model) expected"
    bound_paths = {method: dict(zip(models, paths[i * len(models) :])) for i, method in enumerate(methods)}
    bounds_tables_job(
        dataset=sm.wildcards.dataset,
        bound_paths=bound_paths,
        card_paths=dict(zip(models, sm.input.cards)),
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
