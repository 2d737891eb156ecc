"""Snakemake adapter of the compare_with_paper rule."""

from ineqbench.logs import job_logging
from ineqbench.reporting.paper_comparison import paper_comparison_job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]):
    paper_comparison_job(
        paper_dataset=sm.params.paper_dataset,
        table_paths=dict(sm.input.items()),
        csv_path=sm.output.csv,
        md_path=sm.output.md,
    )
