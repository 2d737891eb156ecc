"""Snakemake adapter of the attack_noise rule."""

from ineqbench.attacks.noise import attack_noise
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    attack_noise(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        attributions_path=sm.input.attributions,
        test_path=sm.input.test,
        pool_path=sm.input.pool,
        settings=sm.params.settings,
        context=sm.params.context,
        out_path=sm.output[0],
        threads=sm.threads,
    )
