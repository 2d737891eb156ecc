"""Snakemake adapter of the compare_with_paper rule."""

from ineqbench.job import snakemake_job
from ineqbench.paper.comparison import compare_with_paper

sm = snakemake  # noqa: F821 (injected by Snakemake)
with snakemake_job(sm):
    compare_with_paper(
        paper_dataset=sm.params.paper_dataset,
        table_paths=dict(sm.input.items()),
        csv_path=sm.output.csv,
        md_path=sm.output.md,
    )
