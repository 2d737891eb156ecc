"""Inequality of attribution maps: Gini index, global and regional (Duan et al., 2023, Sec. 3.1)."""
