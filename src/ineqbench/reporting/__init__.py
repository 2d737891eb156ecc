"""Aggregation across models: image selection, paper-style tables, figures."""
