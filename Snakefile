# ineqbench: attribution inequality and attribution robustness of image classifiers.
# Table of contents; the stages live in rules/*.smk, the logic in src/ineqbench.

configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/attribution.smk"
include: "rules/inequality.smk"
include: "rules/attacks.smk"
include: "rules/bounds.smk"
include: "rules/aggregate.smk"


rule all:
    default_target: True
    input:
        all_targets,
