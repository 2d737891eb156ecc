"""The prediction stored for a row of non-finite logits: no class at all, incorrect for every label
(`ineqbench.models.logits`). Its own module so that the tables read it without importing torch."""

NO_CLASS = -1
