"""The compare_with_paper stage: the run's tables beside the numbers Duan et al. (2023) report."""
