"""Bare Temporal against TaskAgent on one dev server: `python -m bench` (see bench/README.md)."""
