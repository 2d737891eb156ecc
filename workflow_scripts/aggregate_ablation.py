"""Snakemake adapter of the aggregate_ablation rule (inputs are ordered methods outer, models inner)."""

from ineqbench.logs import job_logging
from ineqbench.reporting.attack_jobs import ablation_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    models, methods = sm.params.models, sm.params.methods

    def by_method(paths):
        return {
            method: dict(zip(models, paths[i * len(models) : (i + 1) * len(models)]))
            for i, method in enumerate(methods)
        }

    ablation_job(
        dataset=sm.wildcards.dataset,
        score_paths=by_method(sm.input.scores),
        noise_paths=by_method(sm.input.noise),
        occlusion_paths=by_method(sm.input.occlusion),
        card_paths=dict(zip(models, sm.input.cards)),
        selection_path=sm.input.selection,
        selection_info_path=sm.input.selection_info,
        noise_budget=sm.params.noise_budget,
        budgets=list(sm.params.dataset["occlusion_budgets"]),
        transform=sm.params.transform,
        n_boot=sm.params.n_boot,
        seed=sm.params.seed,
        csv_path=sm.output.csv,
        md_path=sm.output.md,
        tex_path=sm.output.tex,
    )
