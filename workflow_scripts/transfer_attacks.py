"""Snakemake adapter of the transfer_attacks rule."""

from ineqbench.attacks.transfer import transfer_attacks
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    i = sm.input
    transfer_attacks(
        source_weights=i.source_weights,
        source_card=i.source_record,
        source_attributions=i.source_attributions,
        source_rows=sm.params.source_rows,
        target_weights=i.target_weights,
        target_card=i.target_record,
        test_path=i.test,
        pool_path=i.pool,
        settings=sm.params.settings,
        context=sm.params.context,
        out_path=sm.output[0],
        threads=sm.threads,
    )
