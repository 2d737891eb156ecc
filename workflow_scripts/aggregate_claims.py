"""Snakemake adapter of the aggregate_claims rule."""

from ineqbench.claims.aggregate import aggregate_claims
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_claims(
        dataset=sm.wildcards.dataset,
        inputs=sm.params.inputs,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        occlusion_budget=sm.params.occlusion_budget,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        **sm.params.settings,
    )
