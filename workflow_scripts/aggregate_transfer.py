"""Snakemake adapter of the aggregate_transfer rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.attack_jobs import transfer_table_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    models = sm.params.models
    transfer_table_job(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        transfer_paths=list(sm.input.transfers),
        pairs=[tuple(p) for p in sm.params.pairs],
        card_paths=dict(zip(models, sm.input.cards)),
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
    )
