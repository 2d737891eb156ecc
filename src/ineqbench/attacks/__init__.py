"""The attack stage: attribution-guided attacks (inductive noise and occlusion, Duan et al. 3.2), their
random-region control, the transfer between models, and their tables (Tables 2 to 4, Figures 3 and 4).

The families are declared in `settings.ATTACK_FAMILIES` (no torch: the config and the DAG read them);
each family's code is imported when a job or a table uses it.
"""
