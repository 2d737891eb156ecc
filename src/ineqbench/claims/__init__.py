"""A verdict on every claim of the two papers (docs/claims.md has the rules, committed before the first
claims table): the evidence, a difference with its 95% interval over images or training seeds, read from
the stages' per-image outputs over the selected images."""
