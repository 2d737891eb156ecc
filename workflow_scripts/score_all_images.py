"""Snakemake adapter of the score_all_images rule."""

from ineqbench.inequality.all_images import score_all_images
from ineqbench.job import snakemake_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    score_all_images(
        weights_path=sm.input.weights,
        card_path=sm.input.record,
        dataset=sm.params.dataset,
        method=sm.params.method,
        settings={**sm.params.settings, **sm.params.region},
        shards_dir=sm.params.shards,
        out_path=str(sm.output),
        threads=sm.threads,
    )
