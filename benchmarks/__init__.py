"""Benchmarks: `.venv/bin/python -m benchmarks.bench_<area>`, each printing a table."""
