# A verdict on every claim of the two papers (docs/claims.md: the rules, committed before the first
# claims table), from the stages' per-image outputs over the selected images.

from ineqbench.claims import workflow as claims_workflow

stage_targets(claims_workflow.targets(EXP))
CLAIM_INPUTS = ByName(claims_workflow.claim_inputs(EXP))


rule aggregate_claims:
    input:
        evidence=CLAIM_INPUTS.input,
        cards=CARDS.input,
        selection="<results>/{dataset}/tables/selection.parquet",
        selection_info="<results>/{dataset}/tables/selection.json",
    output:
        csv="<results>/{dataset}/tables/claims.csv",
        md=report("<results>/{dataset}/tables/claims.md", caption="../report/claims.rst", category="Claims",
                  subcategory="{dataset}"),
    log:
        "<results>/{dataset}/logs/aggregate_claims.log",
    params:
        code=code_of("aggregate_claims"),
        inputs=CLAIM_INPUTS.param,
        cards=CARDS.param,
        occlusion_budget=claims_workflow.occlusion_budget(EXP),
        settings=claims_workflow.claim_settings(EXP),
    script:
        "../workflow_scripts/aggregate_claims.py"
