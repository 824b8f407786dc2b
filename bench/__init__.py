"""Benchmarks: each prints one JSON line of figures (python -m bench.<name>)."""
