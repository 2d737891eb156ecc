# The comparison families (Duan et al. A.5 l2, A.6 sparsity, A.9 Cutout): one table per family that has
# models, read from the stages' tables of the table method, so every number is one those tables show.

from ineqbench.families import workflow as families_workflow

stage_targets(families_workflow.targets(EXP))


rule aggregate_family:
    input:
        unpack(families_workflow.stage_tables(EXP)),
        selection_info="<results>/{dataset}/tables/selection.json",
    output:
        csv="<results>/{dataset}/tables/family_{family}.csv",
        md=report("<results>/{dataset}/tables/family_{family}.md", caption="../report/family_table.rst",
                  category="Comparison families", subcategory="{dataset}", labels={"family": "{family}"}),
        tex="<results>/{dataset}/tables/family_{family}.tex",
    log:
        "<results>/{dataset}/logs/aggregate_family/{family}.log",
    wildcard_constraints:
        family="|".join(families_workflow.FAMILIES),
    params:
        code=code_of("aggregate_family"),
        members=families_workflow.family_members(EXP),
        settings=families_workflow.family_settings(EXP),
    script:
        "../workflow_scripts/aggregate_family.py"
