"""Snakemake adapter of the evaluate_model rule."""

from ineqbench.job import snakemake_job
from ineqbench.models.train_job import evaluate_model

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    s = sm.params.settings
    evaluate_model(
        weights_path=sm.input.weights,
        record_path=sm.input.record,
        test_path=sm.input.test,
        eval_radii={"linf": list(s["eval_epsilons"]), "l2": list(s["eval_l2_epsilons"])},
        eval_pgd_steps=s["eval_pgd_steps"],
        eval_images=s["eval_images"],
        card_path=sm.output.card,
        autoattack=sm.params.autoattack,
        threads=sm.threads,
    )
