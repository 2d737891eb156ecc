"""Snakemake adapter of the aggregate_family rule."""

from ineqbench.families.aggregate import aggregate_family
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_family(
        dataset=sm.wildcards.dataset,
        family=sm.wildcards.family,
        members=sm.params.members,
        models_path=sm.input.models,
        gini_path=sm.input.gini,
        occlusion_path=sm.input.occlusion,
        noise_path=sm.input.noise,
        selection_info_path=sm.input.selection_info,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
        **sm.params.settings,
    )
