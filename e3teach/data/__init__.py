"""Toy data sets generated in code (nothing is downloaded)."""
