"""Snakemake adapter of the aggregate_ablation rule."""

from ineqbench.attacks.aggregate import aggregate_ablation
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    aggregate_ablation(
        dataset=sm.wildcards.dataset,
        score_paths=sm.params.scores,
        attack_paths=sm.params.rows,
        card_paths=sm.params.cards,
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        context=sm.params.context,
        transform=sm.params.transform,
        n_boot=sm.params.n_boot,
        seed=sm.params.seed,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
    )
