"""Results: the front every backend returns, its CSV form, and what is done with it.

Fronts (status, guarantee, statistics), the front CSV, choosing plans (limits, knee,
extremes, the `--pick` grammar), quality indicators, Pareto filtering and certified
resolutions.
"""
