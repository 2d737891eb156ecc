# Duan et al. (2023) beside this run: every number of the paper's tables that a run's table can hold.

from ineqbench.paper import workflow as paper_workflow

stage_targets(lambda dataset: [f"{RESULTS}/{dataset}/tables/paper_comparison.md"])


rule compare_with_paper:
    input:
        unpack(paper_workflow.comparison_tables(EXP)),
    output:
        csv="<results>/{dataset}/tables/paper_comparison.csv",
        md=report("<results>/{dataset}/tables/paper_comparison.md", caption="../report/paper_comparison.rst",
                  category="Paper vs this run", subcategory="{dataset}"),
    log:
        "<results>/{dataset}/logs/compare_with_paper.log",
    params:
        code=code_of("compare_with_paper"),
        paper_dataset=paper_workflow.paper_dataset(EXP),
    script:
        "../workflow_scripts/compare_with_paper.py"
