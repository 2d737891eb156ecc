"""Snakemake adapter of the aggregate_gini rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.aggregate_job import gini_table_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    models = sm.params.models
    gini_table_job(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        score_paths=dict(zip(models, sm.input.scores)),
        card_paths=dict(zip(models, sm.input.cards)),
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        n_boot=sm.params.n_boot,
        seed=sm.params.seed,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
        figure_path=sm.output.figure,
    )
