# ineqbench: attribution inequality and attribution robustness of image classifiers.
# Table of contents: one rules file per stage, each registering its final outputs with `stage_targets`
# (rules/common.smk); the logic lives in src/ineqbench, one package per analysis stage.

from ineqbench.config_file import check_syntax


# The embedded default applies only when no --configfile is given: a config file is a whole experiment,
# never layered on the default (a paper config would otherwise inherit its data set and stages).
# Snakemake reports a YAML syntax error without its position: config.yaml is read here first, so that
# its error names the line and column (`python -m ineqbench.config FILE` does the same for any file).
if not workflow.overwrite_configfiles:
    check_syntax("config.yaml")

    configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/attribution.smk"
include: "rules/inequality.smk"
include: "rules/attacks.smk"
include: "rules/bounds.smk"
include: "rules/families.smk"
include: "rules/claims.smk"
include: "rules/paper.smk"


rule all:
    default_target: True
    input:
        all_targets,
