"""Adapters at the edges: Iter8 documents, data frames (and, later, Prometheus)."""
