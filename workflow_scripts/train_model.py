"""Snakemake adapter of the train_model rule."""

from ineqbench.logs import job_logging
from ineqbench.models.train_job import train_model

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    s = sm.params.settings
    train_model(
        spec=sm.params.spec,
        recipe=sm.params.recipe,
        train_path=sm.input.train,
        test_path=sm.input.test,
        info_path=sm.input.info,
        eval_epsilons=list(s["eval_epsilons"]),
        eval_pgd_steps=s["eval_pgd_steps"],
        eval_images=s["eval_images"],
        weights_path=sm.output.weights,
        card_path=sm.output.card,
        resume_path=sm.params.resume,
        threads=sm.threads,
    )
