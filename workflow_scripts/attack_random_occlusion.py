"""Snakemake adapter of the attack_random_occlusion rule."""

from ineqbench.attacks.random_occlusion import attack_random_occlusion
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    attack_random_occlusion(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        settings=sm.params.settings,
        context=sm.params.context,
        out_path=sm.output[0],
        threads=sm.threads,
    )
