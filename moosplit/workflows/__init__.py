"""Workflows built on solving: parameter sweeps, dynamic split, backend comparison, plots."""
