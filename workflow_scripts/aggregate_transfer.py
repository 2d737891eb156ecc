"""Snakemake adapter of the aggregate_transfer rule."""

from ineqbench.attacks.aggregate import aggregate_transfer
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_transfer(
        dataset=sm.wildcards.dataset,
        method=sm.wildcards.method,
        transfer_paths=sm.params.transfers,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
    )
