"""Snakemake adapter of the attack_occlusion rule."""

from ineqbench.attacks.jobs import occlusion_attack_job
from ineqbench.logs import job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    occlusion_attack_job(
        weights_path=sm.input.weights,
        card_path=sm.input.card,
        attributions_path=sm.input.attributions,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        settings=sm.params.settings,
        budgets=list(sm.params.dataset["occlusion_budgets"]),
        region_size=sm.params.dataset["region_size"],
        out_path=sm.output[0],
        threads=sm.threads,
    )
